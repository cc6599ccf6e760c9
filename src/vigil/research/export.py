"""The de-identified record-level export: one row per person seen in the period, k-anonymous.

What leaves: a random study id (new for every export, so two exports cannot be joined on it),
the quasi-identifiers generalised by `deidentify.anonymise`, and coarse outcomes (bands and
yes/no). What never leaves: participant ids, codes, aliases, language, free text, exact times
(the only date is the month of first visit, generalised further when k requires it).
"""

from __future__ import annotations

import io
import json
import secrets
from collections.abc import Iterable
from dataclasses import asdict
from typing import Any

import pandas as pd
from django.db.models import Count, Min, Q

from vigil.care.models import EventKind, InterventionKind, MedicalEvent, Referral
from vigil.care.referral_path import is_treatment
from vigil.participants.models import Participant
from vigil.research.deidentify import NOT_RECORDED, QUASI_IDENTIFIERS, Choice, anonymise
from vigil.research.records import common
from vigil.research.records.scope import Scope

FORMATS = ("csv", "parquet")
OUTCOME_COLUMNS = (
    "visits",
    "overdoses",
    "naloxone_given",
    "referred_to_treatment",
    "entered_treatment",
    "days_to_treatment",
)
COLUMNS = ("study_id", *QUASI_IDENTIFIERS, *OUTCOME_COLUMNS)


def band(value: int, bands: Iterable[tuple[str, int, int | None]]) -> str:
    for label, low, high in bands:
        if value >= low and (high is None or value <= high):
            return label
    raise ValueError(value)


VISIT_BANDS = (("1", 1, 1), ("2-4", 2, 4), ("5-9", 5, 9), ("10-24", 10, 24), ("25+", 25, None))
OVERDOSE_BANDS = (("0", 0, 0), ("1", 1, 1), ("2+", 2, None))
DAY_BANDS = (("0-30", 0, 30), ("31-90", 31, 90), ("91+", 91, None))


def records(scope: Scope) -> pd.DataFrame:
    """One row per person seen in the period, before de-identification (internal only)."""
    in_period = common.visits_in_period(scope)
    firsts = common.first_visits(scope)
    per_person = {
        r["participant_id"]: r
        for r in in_period.values("participant_id").annotate(
            visits=Count("id"), first_here=Min("checked_in_at")
        )
    }
    first_site: dict[int, str] = {}
    for pid, site_name in in_period.values_list("participant_id", "site__name").order_by(
        "checked_in_at", "pk"
    ):
        first_site.setdefault(pid, site_name)
    people = list(per_person)
    profiles = {
        p["pk"]: p
        for p in Participant.objects.filter(pk__in=people).values(
            "pk", "age_band", "gender", "housing"
        )
    }
    overdoses = {
        r["participant_id"]: r
        for r in MedicalEvent.objects.filter(
            site_id__in=scope.site_ids,
            kind=EventKind.OVERDOSE,
            participant_id__in=people,
            started_at__gte=scope.start,
            started_at__lt=scope.end,
        )
        .values("participant_id")
        .annotate(
            n=Count("id", distinct=True),
            naloxone=Count(
                "interventions",
                filter=Q(
                    interventions__kind=InterventionKind.NALOXONE,
                    interventions__removed_at__isnull=True,
                ),
            ),
        )
    }
    treatment = Referral.objects.filter(
        site_id__in=scope.site_ids,
        participant_id__in=people,
        kind__in=_treatment_kinds(),
    )
    referred = set(
        treatment.filter(referred_at__gte=scope.start, referred_at__lt=scope.end).values_list(
            "participant_id", flat=True
        )
    )
    entered = {
        r["participant_id"]: r["first"]
        for r in treatment.filter(
            entered_treatment_at__gte=scope.start, entered_treatment_at__lt=scope.end
        )
        .values("participant_id")
        .annotate(first=Min("entered_treatment_at"))
    }
    rows = []
    for pid in people:
        profile = profiles[pid]
        first = firsts[pid]
        od = overdoses.get(pid, {"n": 0, "naloxone": 0})
        entry = entered.get(pid)
        days = None
        if entry is not None and entry >= first:
            days = band(int((entry - first).total_seconds() // 86400), DAY_BANDS)
        rows.append(
            {
                "site": first_site[pid],
                "first_visit": str(pd.Period(first.astimezone(scope.tz).date(), freq="M")),
                "age_band": profile["age_band"] or NOT_RECORDED,
                "gender": profile["gender"] or NOT_RECORDED,
                "housing": profile["housing"] or NOT_RECORDED,
                "visits": band(per_person[pid]["visits"], VISIT_BANDS),
                "overdoses": band(od["n"], OVERDOSE_BANDS),
                "naloxone_given": "yes" if od["naloxone"] else "no",
                "referred_to_treatment": "yes" if pid in referred else "no",
                "entered_treatment": "yes" if entry is not None else "no",
                "days_to_treatment": days or "",
            }
        )
    return pd.DataFrame(rows, columns=[c for c in COLUMNS if c != "study_id"])


def _treatment_kinds() -> list[str]:
    from vigil.care.models import ReferralKind

    return [k.value for k in ReferralKind if is_treatment(k.value)]


def deidentified(
    scope: Scope, k: int = 5, max_suppression: float = 0.05
) -> tuple[pd.DataFrame, Choice]:
    kept, choice = anonymise(records(scope), k=k, max_suppression=max_suppression)
    # Shuffle, so the order of rows says nothing about the order of registration, and give
    # each row a random id that exists only in this file.
    order = list(range(len(kept)))
    secrets.SystemRandom().shuffle(order)
    kept = kept.iloc[order].reset_index(drop=True)
    ids: set[str] = set()
    while len(ids) < len(kept):
        ids.add("S" + secrets.token_hex(5))
    kept.insert(0, "study_id", list(ids))
    return kept[list(COLUMNS)], choice


def metadata(scope: Scope, choice: Choice) -> dict[str, Any]:
    return {
        "records": scope.header(),
        "k": choice.k,
        "generalisation": choice.levels,
        "people": choice.records,
        "suppressed": choice.suppressed,
        "rows": choice.records - choice.suppressed,
        "equivalence_classes": choice.classes,
        "quasi_identifiers": list(QUASI_IDENTIFIERS),
    }


def write(frame: pd.DataFrame, fmt: str, meta: dict[str, Any]) -> bytes:
    """The export as CSV (UTF-8, a header row) or Parquet (the metadata in the schema)."""
    if fmt == "csv":
        return frame.to_csv(index=False).encode("utf-8")
    if fmt == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        table = pa.Table.from_pandas(frame, preserve_index=False)
        table = table.replace_schema_metadata({b"vigil": json.dumps(meta).encode("utf-8")})
        buffer = io.BytesIO()
        pq.write_table(table, buffer)
        return buffer.getvalue()
    raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {fmt!r}")


def summary(choice: Choice) -> dict[str, Any]:
    return asdict(choice)


def record_export(request: Any, scope: Any, fmt: str, meta: dict[str, Any]) -> None:
    """Every export is an entry in the tamper-evident audit log."""
    from vigil.audit import record

    record(
        "research.export_deidentified",
        request=request,
        site=scope.site_ids[0] if len(scope.site_ids) == 1 else None,
        detail={
            "scope": scope.kind,
            "sites": list(scope.site_ids),
            "first_day": scope.first_day.isoformat(),
            "last_day": scope.last_day.isoformat(),
            "format": fmt,
            "k": meta["k"],
            "rows": meta["rows"],
            "suppressed": meta["suppressed"],
        },
    )
