"""Writes of the data-at-rest work: de-identifying participants under the retention rule, and
the audit entries of backups, restores and key rotations."""

from __future__ import annotations

import getpass
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.apps import apps
from django.db import transaction
from django.db.models import CharField, Max, Q, Value
from django.db.models.functions import Cast, Concat

from vigil.keeping import retention
from vigil.lib import clock

# A de-identified participant's alias: "~" and the internal id. Unique because the id is, and
# no person can be given it: registration refuses aliases starting with "~".
DEIDENTIFIED_PREFIX = "~"


def audit(action: str, *, subject: Any = None, site: Any = None, detail: dict | None = None):
    """Record in the audit log when the audit app is installed; its entries name internal ids
    only, so de-identification leaves its chain valid."""
    if not apps.is_installed("vigil.audit"):
        return None
    from vigil.audit import record

    return record(action, subject=subject, site=site, detail=detail)


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):
        return "unknown"


# --- retention ------------------------------------------------------------------------------


def _alias_expression(column: str):
    return Concat(Value(DEIDENTIFIED_PREFIX), Cast(column, output_field=CharField()))


def people_of(jurisdiction) -> list[retention.Person]:
    """The facts retention needs about each participant of a jurisdiction not yet
    de-identified (merged records follow the person they were merged into)."""
    from vigil.care.models import MedicalEvent, Referral, ReferralStep, ServiceGiven, SupplyGiven
    from vigil.floor.models import Visit, VisitStatus
    from vigil.participants.models import Participant

    people = {
        p["pk"]: p
        for p in Participant.objects.filter(
            jurisdiction=jurisdiction, deidentified_at__isnull=True, merged_into__isnull=True
        ).values("pk", "registered_at", "registered_site_id")
    }
    last_seen: dict[int, dict[int, datetime]] = {pk: {} for pk in people}

    def gather(rows: Iterable[dict]) -> None:
        for row in rows:
            seen = last_seen.get(row["who"])
            if seen is None or row["last"] is None:
                continue
            site = row["site"]
            if site not in seen or row["last"] > seen[site]:
                seen[site] = row["last"]

    in_scope = {"participant__jurisdiction": jurisdiction}
    for model, moment in (
        (Visit, "checked_in_at"),
        (Visit, "ended_at"),
        (MedicalEvent, "started_at"),
        (ServiceGiven, "at"),
        (SupplyGiven, "at"),
        (Referral, "referred_at"),
    ):
        gather(
            {"who": r["participant_id"], "site": r["site_id"], "last": r["last"]}
            for r in model.objects.filter(**in_scope)  # type: ignore[attr-defined]
            .values("participant_id", "site_id")
            .annotate(last=Max(moment))
        )
    gather(
        {"who": r["referral__participant_id"], "site": r["referral__site_id"], "last": r["last"]}
        for r in ReferralStep.objects.filter(referral__participant__jurisdiction=jurisdiction)
        .values("referral__participant_id", "referral__site_id")
        .annotate(last=Max("at"))
    )
    open_visits = set(
        Visit.objects.filter(participant__jurisdiction=jurisdiction)
        .exclude(status=VisitStatus.ENDED)
        .values_list("participant_id", flat=True)
    )
    return [
        retention.Person(
            id=pk,
            registered_at=p["registered_at"],
            registered_site=p["registered_site_id"],
            last_seen=last_seen[pk],
            open_visit=pk in open_visits,
        )
        for pk, p in people.items()
    ]


@dataclass
class RetentionReport:
    jurisdiction: str
    due: list[int] = field(default_factory=list)
    by_site: dict[str, int] = field(default_factory=dict)
    kept: int = 0
    done: bool = False


def plan_for(jurisdiction, now: datetime) -> tuple[list[retention.Decision], dict[int, str]]:
    sites = {s.pk: s for s in jurisdiction.sites.all()}
    decisions = retention.plan(
        people_of(jurisdiction),
        {pk: s.deidentify_after_months for pk, s in sites.items()},
        sites,
        now,
    )
    return decisions, {pk: s.name for pk, s in sites.items()}


def run_retention(*, dry_run: bool, now: datetime | None = None) -> list[RetentionReport]:
    """De-identify every participant the retention rule makes due (or, in a dry run, only
    say who would be, per site)."""
    from vigil.sites.models import Jurisdiction

    now = now or clock.now()
    reports = []
    for jurisdiction in Jurisdiction.objects.order_by("name"):
        decisions, names = plan_for(jurisdiction, now)
        report = RetentionReport(jurisdiction=jurisdiction.name)
        report.due = sorted(d.person for d in decisions if d.due)
        report.kept = len(decisions) - len(report.due)
        report.by_site = {
            names[s]: n for s, n in sorted(retention.counts_by_site(decisions).items())
        }
        if not dry_run and report.due:
            deidentify(report.due, now=now)
            report.done = True
        reports.append(report)
    if not dry_run:
        with transaction.atomic():
            audit(
                "retention.run",
                detail={
                    "by": os_user(),
                    "deidentified": sum(len(r.due) for r in reports),
                    "at": now.isoformat(),
                },
            )
    return reports


def deidentify(participant_ids: Iterable[int], *, now: datetime, batch: int = 200) -> int:
    """Remove the code hash, the alias and the free text of these participants (and of the
    records merged into them); their visits, events, services and referrals stay, as anonymous
    records for the statistics. Returns the number of participant records changed."""
    ids = sorted(set(participant_ids))
    changed = 0
    for start in range(0, len(ids), batch):
        with transaction.atomic():
            changed += _deidentify_batch(ids[start : start + batch], now)
    return changed


def _deidentify_batch(chunk: list[int], now: datetime) -> int:
    from vigil.care.models import EventAmendment, MedicalEvent, Referral, ReferralStep
    from vigil.participants.models import Participant, ParticipantMerge

    merged = list(
        Participant.objects.filter(
            merged_into_id__in=chunk, deidentified_at__isnull=True
        ).values_list("pk", flat=True)
    )
    everyone = [*chunk, *merged]
    changed = Participant.objects.filter(pk__in=everyone, deidentified_at__isnull=True).update(
        code_hash=None, alias=_alias_expression("pk"), language="", deidentified_at=now
    )
    ParticipantMerge.objects.filter(merged_id__in=everyone).update(
        merged_alias=_alias_expression("merged_id")
    )
    events = MedicalEvent.objects.filter(
        Q(participant_id__in=everyone) | Q(visit__participant_id__in=everyone)
    )
    event_ids = list(events.values_list("pk", flat=True))
    MedicalEvent.objects.filter(pk__in=event_ids).update(notes="")
    for amendment in EventAmendment.objects.filter(event_id__in=event_ids):
        stored: Any = amendment.snapshot  # JSON, decrypted by the field
        snapshot: dict[str, Any] = dict(stored or {})
        snapshot["notes"] = ""
        if snapshot.get("participant"):
            pid = snapshot["participant"].get("id")
            snapshot["participant"] = {**snapshot["participant"], "label": f"~{pid}"}
        amendment.snapshot = snapshot  # type: ignore[assignment]
        amendment.reason = ""
        amendment.save(update_fields=["snapshot", "reason"])
    Referral.objects.filter(participant_id__in=everyone).update(partner="")
    ReferralStep.objects.filter(referral__participant_id__in=everyone).update(note="")
    for pk in chunk:
        audit(
            "participant.deidentify",
            subject=("participants.participant", pk),
            detail={"by": os_user(), "merged_records": len(merged)},
        )
    return changed
