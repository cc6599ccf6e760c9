"""`reach`: how many people the site attracts, how often they come back, and who they are.

Counted from visits (check-ins) at the scope's sites. A person is *new* in the month of their
first visit at these sites, whenever that was (history before the period counts), and
*returning* in any later month with a visit. Retention: of the people whose first visit falls in
the period, the share with another visit on a later day within 30, 90 and 180 days — each share
only over people whose whole window lies within the data, so recent newcomers do not pull it
down. Demographics are the coarse profile (age band, gender, housing) of the people seen in the
period, as last recorded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from django.db.models import Count
from django.db.models.functions import TruncMonth

from vigil.participants.models import AgeBand, Gender, Housing, Participant
from vigil.research.records import common
from vigil.research.records import small_counts as sc
from vigil.research.records.scope import Scope

VISIT_BANDS = (("1", 1, 1), ("2-4", 2, 4), ("5-9", 5, 9), ("10-24", 10, 24), ("25+", 25, None))
NOT_RECORDED = "not recorded"


def _month_key(value) -> str:
    return str(pd.Period(value, freq="M"))


def compute(scope: Scope) -> dict[str, Any]:
    """The raw figures (before small-count protection)."""
    months = [str(m) for m in scope.months()]
    in_period = common.visits_in_period(scope)

    monthly_visits = {m: 0 for m in months}
    for row in (
        in_period.annotate(month=TruncMonth("checked_in_at", tzinfo=scope.tz))
        .values("month")
        .annotate(n=Count("id"))
    ):
        monthly_visits[_month_key(row["month"].astimezone(scope.tz).replace(tzinfo=None))] = row[
            "n"
        ]

    days = common.visit_days(scope)
    first_day = days.groupby("participant")["day"].min()
    start = pd.Timestamp(scope.first_day)
    seen = days[days["day"] >= start].copy()
    seen["month"] = seen["day"].dt.to_period("M").astype(str)
    people_month = seen.groupby("month")["participant"].nunique()
    first_month = first_day.dt.to_period("M").astype(str)
    new_month = first_month[first_day >= start].value_counts()
    first_in_period = seen.groupby("participant")["month"].min().value_counts()
    unique = {m: int(people_month.get(m, 0)) for m in months}
    new = {m: int(new_month.get(m, 0)) for m in months}
    cumulative, running = {}, 0
    for m in months:
        running += int(first_in_period.get(m, 0))
        cumulative[m] = running

    cohort_first = first_day[first_day >= start]
    retention = {}
    for window in common.RETENTION_DAYS:
        eligible = [
            p for p, d in cohort_first.items() if common.window_elapsed(d.date(), window, scope)
        ]
        later = days[days["participant"].isin(eligible)].merge(
            cohort_first.rename("first").reset_index(), on="participant"
        )
        delta = (later["day"] - later["first"]).dt.days
        back = later[(delta > 0) & (delta <= window)]["participant"].nunique()
        retention[str(window)] = {"eligible": len(eligible), "returned": int(back)}

    per_person = list(
        in_period.values("participant_id").annotate(n=Count("id")).values_list("n", flat=True)
    )
    counts = np.array(per_person, dtype=float)
    bands = {}
    for label, low, high in VISIT_BANDS:
        bands[label] = int(((counts >= low) & ((counts <= high) if high else True)).sum())

    people_ids = in_period.values("participant_id").distinct()
    profiles = Participant.objects.filter(pk__in=people_ids)
    demographics = {}
    for field, choices in (("age_band", AgeBand), ("gender", Gender), ("housing", Housing)):
        cells = {label: 0 for label in choices.values}
        cells[NOT_RECORDED] = 0
        for row in profiles.values(field).annotate(n=Count("id")):
            cells[row[field] or NOT_RECORDED] += row["n"]
        demographics[field] = cells

    return {
        **scope.header(),
        "months": months,
        "visits": int(sum(monthly_visits.values())),
        "people": int(seen["participant"].nunique()),
        "new_people": int(len(cohort_first)),
        "monthly": {
            "visits": [monthly_visits[m] for m in months],
            "unique_participants": [unique[m] for m in months],
            "new": [new[m] for m in months],
            "returning": [unique[m] - new[m] for m in months],
            "cumulative_unique": [cumulative[m] for m in months],
        },
        "retention": retention,
        "visits_per_participant": {
            "mean": float(counts.mean()) if len(counts) else None,
            "median": float(np.median(counts)) if len(counts) else None,
            "bands": bands,
        },
        "demographics": demographics,
    }


def protect(raw: dict[str, Any]) -> dict[str, Any]:
    """What an evaluator may see of `compute`'s figures (vigil.reports.suppression)."""
    shown = dict(raw)
    months, m = raw["months"], raw["monthly"]
    visits, visits_total = sc.distribution(
        "visits by month", dict(zip(months, m["visits"], strict=True))
    )
    people = sc.grid(
        "participants by month",
        months,
        ["new", "returning"],
        [[n, r] for n, r in zip(m["new"], m["returning"], strict=True)],
    )
    seen, people_total = sc.distribution(
        "participants seen in the period",
        {
            "first seen in the period": raw["new_people"],
            "seen before": raw["people"] - raw["new_people"],
        },
    )
    new_people = seen["first seen in the period"]
    if sc.hide_together(new_people, people.column_total(0).value):
        new_people = None
    shown["visits"] = visits_total
    shown["people"] = people_total
    shown["new_people"] = new_people
    shown["monthly"] = {
        "visits": [visits[k] for k in months],
        "unique_participants": [people.row_total(i).value for i in range(len(months))],
        "new": [people.cell(i, 0).value for i in range(len(months))],
        "returning": [people.cell(i, 1).value for i in range(len(months))],
        "cumulative_unique": sc.cumulative(m["cumulative_unique"]),
    }
    shown["retention"] = {}
    for window, r in raw["retention"].items():
        split = sc.split(f"back within {window} days", r["returned"], r["eligible"])
        shown["retention"][window] = {
            "eligible": split["of"],
            "returned": split["count"],
            "share": split["share"],
        }
    vpp = raw["visits_per_participant"]
    bands, _ = sc.distribution("visits per participant", vpp["bands"])
    enough = sc.enough(raw["people"])
    shown["visits_per_participant"] = {
        "mean": vpp["mean"] if enough else None,
        "median": vpp["median"] if enough else None,
        "bands": bands,
    }
    shown["demographics"] = {
        field: sc.distribution(field, cells)[0] for field, cells in raw["demographics"].items()
    }
    shown["small_counts"] = sc.NOTE
    return shown


def run(scope: Scope, options: Mapping[str, Any]) -> dict[str, Any]:
    return protect(compute(scope))
