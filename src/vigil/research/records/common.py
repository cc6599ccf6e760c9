"""Queries shared by the methods over Vigil's records: whose first visit is when."""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
from django.db.models import Min
from django.db.models.functions import TruncDate

from vigil.floor.models import Visit
from vigil.research.records.scope import Scope

RETENTION_DAYS = (30, 90, 180)
TREATMENT_DAYS = (30, 90)


def visits(scope: Scope):
    """Every visit at the scope's sites up to the end of the data (history before the period
    included: whether someone is new depends on it)."""
    return Visit.objects.filter(site_id__in=scope.site_ids, checked_in_at__lt=scope.end)


def visits_in_period(scope: Scope):
    return visits(scope).filter(checked_in_at__gte=scope.start)


def first_visits(scope: Scope) -> dict[int, datetime]:
    """Each participant's first visit at the scope's sites (one aggregate row per person)."""
    rows = visits(scope).values("participant_id").annotate(first=Min("checked_in_at"))
    return {r["participant_id"]: r["first"] for r in rows}


def cohort(scope: Scope) -> dict[int, datetime]:
    """People whose first visit at the scope's sites falls in the period studied."""
    return {p: t for p, t in first_visits(scope).items() if scope.start <= t < scope.end}


def visit_days(scope: Scope) -> pd.DataFrame:
    """One row per person and local day with a visit (participant, day)."""
    rows = (
        visits(scope)
        .annotate(day=TruncDate("checked_in_at", tzinfo=scope.tz))
        .values_list("participant_id", "day")
        .distinct()
    )
    frame = pd.DataFrame(list(rows), columns=["participant", "day"])
    frame["day"] = pd.to_datetime(frame["day"])
    return frame


def window_elapsed(first_day: date, days: int, scope: Scope) -> bool:
    """Whether `days` days after `first_day` lie wholly within the data."""
    return (scope.end_day - first_day).days >= days
