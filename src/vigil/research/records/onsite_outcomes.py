"""`onsite_outcomes`: overdoses on site, what happened, how fast staff answered the alarm, and
an estimate of the deaths averted with every assumption in view.

Overdoses are the overdose / drug-poisoning events recorded at the scope's sites in the period
(`care.MedicalEvent`), per 1,000 visits with an exact Poisson interval. Naloxone doses are the
recorded naloxone interventions not struck out. Alarm response is from `monitoring.Alarm`: the
seconds from raised to acknowledged and from raised to claimed ("I'm responding"), by priority.

Deaths averted follows Milloy et al. (PLoS ONE 2008;3(10):e3351): an overdose is *potentially
fatal* if it needed naloxone, a 911 call or an ambulance; without the site, a share of those
would have ended in death. That share is an assumption, not a measurement: Vigil's default is
1 in 20 with a sensitivity range of 1 in 100 to 1 in 10, and a study should set its own from
local deaths and non-fatal overdose rates (`fatal_share`, `fatal_share_low`,
`fatal_share_high`). The estimate is expected deaths without the site minus deaths on site.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from scipy import stats

from vigil.care.models import EventKind, EventOutcome, InterventionKind, MedicalEvent
from vigil.monitoring.models import Alarm
from vigil.monitoring.rules import Priority
from vigil.research.records import common
from vigil.research.records import small_counts as sc
from vigil.research.records.scope import Scope

NOT_RECORDED = "not recorded"
DEFAULT_FATAL_SHARE = (0.05, 0.01, 0.10)  # central, low, high
SOURCE = (
    "Milloy M-JS, Kerr T, Tyndall M, Montaner J, Wood E. Estimated drug overdose deaths averted "
    "by North America's first medically-supervised safer injection facility. PLoS ONE "
    "2008;3(10):e3351. doi:10.1371/journal.pone.0003351"
)


def fatal_share(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value < 1:
        raise ValueError(f"must be a share between 0 and 1 (0.05 is 1 in 20), not {value!r}")
    return float(value)


def poisson_rate_ci(events: int, exposure: float, per: float) -> list[float] | None:
    """Exact (Garwood) 95% interval of a Poisson rate."""
    if exposure <= 0:
        return None
    low = stats.chi2.ppf(0.025, 2 * events) / 2 if events > 0 else 0.0
    high = stats.chi2.ppf(0.975, 2 * (events + 1)) / 2
    return [float(low / exposure * per), float(high / exposure * per)]


def _seconds(pairs: list[tuple[Any, Any]]) -> list[float]:
    return [(b - a).total_seconds() for a, b in pairs if a is not None and b is not None]


def _summary(values: list[float]) -> dict[str, Any]:
    if not values:
        return {"n": 0, "median": None, "p90": None}
    arr = np.array(values)
    return {"n": len(values), "median": float(np.median(arr)), "p90": float(np.percentile(arr, 90))}


def compute(scope: Scope, options: Mapping[str, Any]) -> dict[str, Any]:
    months = [str(m) for m in scope.months()]
    visits = common.visits_in_period(scope).count()
    events = MedicalEvent.objects.filter(
        site_id__in=scope.site_ids,
        kind=EventKind.OVERDOSE,
        started_at__gte=scope.start,
        started_at__lt=scope.end,
    )
    naloxone = Q(
        interventions__kind=InterventionKind.NALOXONE, interventions__removed_at__isnull=True
    )
    per_event = list(
        events.annotate(doses=Count("interventions", filter=naloxone)).values(
            "outcome", "doses", "ems_called_at", "transported_at", "started_at"
        )
    )
    overdoses = len(per_event)
    outcomes = {o.value: 0 for o in EventOutcome}
    outcomes[NOT_RECORDED] = 0
    for e in per_event:
        outcomes[e["outcome"] or NOT_RECORDED] += 1
    doses = sum(e["doses"] for e in per_event)
    with_naloxone = sum(1 for e in per_event if e["doses"] > 0)
    ems = sum(1 for e in per_event if e["ems_called_at"] is not None)
    potentially_fatal = sum(
        1
        for e in per_event
        if e["doses"] > 0
        or e["ems_called_at"] is not None
        or e["transported_at"] is not None
        or e["outcome"] == EventOutcome.TRANSPORTED
    )
    deaths = outcomes[EventOutcome.DEATH]

    monthly_events = {m: 0 for m in months}
    for row in (
        events.annotate(month=TruncMonth("started_at", tzinfo=scope.tz))
        .values("month")
        .annotate(n=Count("id"))
    ):
        key = str(row["month"].astimezone(scope.tz).replace(tzinfo=None))[:7]
        monthly_events[key] = row["n"]
    monthly_visits = {m: 0 for m in months}
    for row in (
        common.visits_in_period(scope)
        .annotate(month=TruncMonth("checked_in_at", tzinfo=scope.tz))
        .values("month")
        .annotate(n=Count("id"))
    ):
        key = str(row["month"].astimezone(scope.tz).replace(tzinfo=None))[:7]
        monthly_visits[key] = row["n"]

    alarms = Alarm.objects.filter(
        site_id__in=scope.site_ids, raised_at__gte=scope.start, raised_at__lt=scope.end
    )
    response = {}
    for priority in Priority:
        rows = list(
            alarms.filter(priority=priority.value).values_list(
                "raised_at", "acknowledged_at", "claimed_at"
            )
        )
        response[priority.value] = {
            "alarms": len(rows),
            "never_acknowledged": sum(1 for r in rows if r[1] is None),
            "to_acknowledge_seconds": _summary(_seconds([(r[0], r[1]) for r in rows])),
            "to_claim_seconds": _summary(_seconds([(r[0], r[2]) for r in rows])),
        }

    central, low, high = (
        options.get("fatal_share", DEFAULT_FATAL_SHARE[0]),
        options.get("fatal_share_low", DEFAULT_FATAL_SHARE[1]),
        options.get("fatal_share_high", DEFAULT_FATAL_SHARE[2]),
    )
    if not low <= central <= high:
        raise ValueError(
            f"fatal_share_low ({low}) <= fatal_share ({central}) <= fatal_share_high ({high}) "
            "must hold"
        )
    averted = {
        "potentially_fatal_overdoses": potentially_fatal,
        "deaths_on_site": deaths,
        "fatal_share": central,
        "fatal_share_range": [low, high],
        "expected_deaths_without_site": potentially_fatal * central,
        "expected_deaths_range": [potentially_fatal * low, potentially_fatal * high],
        "deaths_averted": potentially_fatal * central - deaths,
        "deaths_averted_range": [
            potentially_fatal * low - deaths,
            potentially_fatal * high - deaths,
        ],
        "definition": (
            "an overdose is potentially fatal if naloxone was given, 911 (EMS) was called or the "
            "person was taken to hospital"
        ),
        "assumptions": [
            f"Without the site, {central:.0%} (1 in {1 / central:.0f}) of potentially fatal "
            f"overdoses would have ended in death; sensitivity range {low:.0%} to {high:.0%}. "
            "This share is an assumption of the study, not a measurement: set fatal_share, "
            "fatal_share_low and fatal_share_high from local deaths and non-fatal overdose rates.",
            "Each potentially fatal overdose on site would otherwise have happened elsewhere, "
            "unwitnessed as often as the share assumes (no overdose was caused by the site).",
            "Overdoses are recorded completely at the site (an unrecorded one is missing here).",
            "Deaths on site count against the estimate (expected deaths minus observed).",
        ],
        "source": SOURCE,
    }
    return {
        **scope.header(),
        "months": months,
        "visits": visits,
        "overdoses": overdoses,
        "overdoses_per_1000_visits": overdoses / visits * 1000 if visits else None,
        "overdoses_per_1000_visits_ci": poisson_rate_ci(overdoses, visits, 1000),
        "outcomes": outcomes,
        "ems_called": ems,
        "naloxone_doses": doses,
        "overdoses_with_naloxone": with_naloxone,
        "naloxone_doses_per_overdose": doses / overdoses if overdoses else None,
        "naloxone_doses_per_naloxone_overdose": doses / with_naloxone if with_naloxone else None,
        "monthly": {
            "visits": [monthly_visits[m] for m in months],
            "overdoses": [monthly_events[m] for m in months],
        },
        "alarm_response": response,
        "deaths_averted": averted,
    }


def protect(raw: dict[str, Any]) -> dict[str, Any]:
    """What an evaluator may see of `compute`'s figures (vigil.reports.suppression)."""
    shown = dict(raw)
    months, m = raw["months"], raw["monthly"]
    overdoses = raw["overdoses"]
    outcomes, overdoses_shown = sc.distribution("outcomes of overdoses", raw["outcomes"])
    monthly_od, monthly_total = sc.distribution(
        "overdoses by month", dict(zip(months, m["overdoses"], strict=True))
    )
    monthly_visits, visits_total = sc.distribution(
        "visits by month", dict(zip(months, m["visits"], strict=True))
    )
    if sc.hide_together(overdoses_shown, monthly_total):
        overdoses_shown = None
    shown["visits"] = visits_total
    shown["overdoses"] = overdoses_shown
    if overdoses_shown is None or visits_total is None:
        # A rate or its interval with the visits printed gives the count back.
        shown["overdoses_per_1000_visits"] = None
        shown["overdoses_per_1000_visits_ci"] = None
    shown["outcomes"] = outcomes
    naloxone = sc.split("overdoses given naloxone", raw["overdoses_with_naloxone"], overdoses)
    ems = sc.split("overdoses with EMS called", raw["ems_called"], overdoses)
    shown["ems_called"] = ems["count"]
    shown["naloxone_doses"] = sc.count(raw["naloxone_doses"])
    shown["overdoses_with_naloxone"] = naloxone["count"]
    if not sc.enough(overdoses) or shown["naloxone_doses"] is None:
        shown["naloxone_doses_per_overdose"] = None
    if naloxone["count"] is None or shown["naloxone_doses"] is None:
        shown["naloxone_doses_per_naloxone_overdose"] = None
    shown["monthly"] = {
        "visits": [monthly_visits[k] for k in months],
        "overdoses": [monthly_od[k] for k in months],
        "overdoses_per_1000_visits": [
            None if monthly_od[k] is None or monthly_visits[k] is None or not v else od / v * 1000
            for k, od, v in zip(months, m["overdoses"], m["visits"], strict=True)
        ],
    }
    priorities = list(raw["alarm_response"])
    alarms = sc.grid(
        "alarms by priority",
        priorities,
        ["acknowledged", "never acknowledged"],
        [
            [r["alarms"] - r["never_acknowledged"], r["never_acknowledged"]]
            for r in raw["alarm_response"].values()
        ],
    )
    response = {}
    for i, (priority, r) in enumerate(raw["alarm_response"].items()):
        ack, claim = r["to_acknowledge_seconds"], r["to_claim_seconds"]
        response[priority] = {
            "alarms": alarms.row_total(i).value,
            "never_acknowledged": alarms.cell(i, 1).value,
            # A median or percentile of fewer than ten times is nearly one person's answer.
            "to_acknowledge_seconds": ack if sc.enough(ack["n"]) else None,
            "to_claim_seconds": claim if sc.enough(claim["n"]) else None,
        }
    shown["alarm_response"] = response
    averted = dict(raw["deaths_averted"])
    pf = averted["potentially_fatal_overdoses"]
    averted["potentially_fatal_overdoses"] = sc.split("potentially fatal", pf, overdoses)["count"]
    averted["deaths_on_site"] = outcomes.get("death")
    if averted["potentially_fatal_overdoses"] is None or averted["deaths_on_site"] is None:
        # Every derived figure is a multiple of these counts: hide them together.
        for key in (
            "expected_deaths_without_site",
            "expected_deaths_range",
            "deaths_averted",
            "deaths_averted_range",
        ):
            averted[key] = None
    shown["deaths_averted"] = averted
    shown["small_counts"] = sc.NOTE
    return shown


def run(scope: Scope, options: Mapping[str, Any]) -> dict[str, Any]:
    return protect(compute(scope, options))
