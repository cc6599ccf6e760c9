"""`treatment_entry`: does coming to the site lead people into treatment?

The cohort is the people whose first visit at the scope's sites falls in the period. Entry into
treatment is the first referral to treatment (buprenorphine, methadone, detox, residential) from
these sites that reached "entered treatment", at or after the first visit. The share entering
within 30 and 90 days counts only people whose whole window lies within the data; the
Kaplan-Meier curve (statsmodels' SurvfuncRight) uses everyone, censoring at the end of the data
those who had not entered treatment by then. The referral funnel counts the treatment referrals
made in the period that reached each step of their path (`care.ReferralStep`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from django.db.models import Count, Min
from statsmodels.duration.survfunc import SurvfuncRight

from vigil.care.models import Referral, ReferralKind, ReferralStatus, ReferralStep
from vigil.care.referral_path import is_treatment
from vigil.research.records import common
from vigil.research.records import small_counts as sc
from vigil.research.records.scope import Scope

TREATMENT = sorted(k.value for k in ReferralKind if is_treatment(k.value))
FUNNEL = (
    ReferralStatus.REFERRED,
    ReferralStatus.ACCEPTED,
    ReferralStatus.ATTENDED,
    ReferralStatus.ENTERED_TREATMENT,
    ReferralStatus.DECLINED,
    ReferralStatus.LOST,
)
PUBLISHED = [
    {
        "where": "Boston (SPOT, Boston Health Care for the Homeless Program)",
        "figure": "about 10% of participants went directly from the room into treatment",
        "share": 0.10,
        "compare_with": "direct_from_room",
        "source": "news report on King County's sites (Vigil's product brief, seed/)",
    },
    {
        "where": "Vancouver (Insite)",
        "figure": "18% of a cohort of users began detox",
        "share": 0.18,
        "compare_with": "detox",
        "source": "as cited in Vigil's product brief (docs: PRODUCT.md)",
    },
]


def compute(scope: Scope) -> dict[str, Any]:
    people = common.cohort(scope)
    treatment = Referral.objects.filter(site_id__in=scope.site_ids, kind__in=TREATMENT)
    entries = {
        r["participant_id"]: r["first"]
        for r in treatment.filter(
            participant_id__in=list(people),
            entered_treatment_at__isnull=False,
            entered_treatment_at__lt=scope.end,
        )
        .values("participant_id")
        .annotate(first=Min("entered_treatment_at"))
    }
    detox = set(
        treatment.filter(
            participant_id__in=list(people),
            kind=ReferralKind.DETOX,
            entered_treatment_at__isnull=False,
            entered_treatment_at__lt=scope.end,
        ).values_list("participant_id", flat=True)
    )
    direct = set(
        treatment.filter(
            participant_id__in=list(people), direct_from_room=True, referred_at__lt=scope.end
        ).values_list("participant_id", flat=True)
    )

    durations, status = [], []
    for person, first in people.items():
        entered = entries.get(person)
        if entered is not None and entered >= first:
            durations.append((entered - first).total_seconds() / 86400)
            status.append(1)
        else:
            # Entered before the first visit recorded here (or never): followed up to the end.
            durations.append((scope.end - first).total_seconds() / 86400)
            status.append(0)
    within = {}
    for window in common.TREATMENT_DAYS:
        eligible = [
            p for p, t in people.items() if common.window_elapsed(scope.local_day(t), window, scope)
        ]
        entered = [
            p
            for p in eligible
            if p in entries
            and entries[p] >= people[p]
            and (entries[p] - people[p]).total_seconds() <= window * 86400
        ]
        within[str(window)] = {"eligible": len(eligible), "entered": len(entered)}

    curve: dict[str, Any] = {"days": [], "entered": [], "ci_low": [], "ci_high": [], "at_risk": []}
    km_at = {}
    if people and sum(status) > 0:
        fit = SurvfuncRight(np.array(durations), np.array(status))
        se = fit.surv_prob_se
        z = 1.959963984540054
        surv = fit.surv_prob
        curve = {
            "days": [float(t) for t in fit.surv_times],
            "entered": [float(1 - s) for s in surv],
            # Greenwood errors, the interval clipped to [0, 1].
            "ci_low": [float(max(0.0, 1 - s - z * e)) for s, e in zip(surv, se, strict=True)],
            "ci_high": [float(min(1.0, 1 - s + z * e)) for s, e in zip(surv, se, strict=True)],
            "at_risk": [int(n) for n in fit.n_risk],
        }
        for window in common.TREATMENT_DAYS:
            before = [1 - s for t, s in zip(fit.surv_times, surv, strict=True) if t <= window]
            km_at[str(window)] = float(before[-1]) if before else 0.0

    referrals = treatment.filter(referred_at__gte=scope.start, referred_at__lt=scope.end)
    reached = {s.value: 0 for s in FUNNEL}
    for row in (
        ReferralStep.objects.filter(referral__in=referrals, at__lt=scope.end)
        .values("status")
        .annotate(n=Count("referral", distinct=True))
    ):
        reached[row["status"]] = row["n"]
    people_referred = referrals.values("participant_id").distinct().count()

    return {
        **scope.header(),
        "cohort": len(people),
        "entered_treatment": sum(status),
        "within": within,
        "km_entered_by": km_at,
        "km": curve,
        "direct_from_room": len(direct),
        "detox": len(detox),
        "funnel": reached,
        "treatment_referrals": referrals.count(),
        "people_referred": people_referred,
        "published": PUBLISHED,
    }


def protect(raw: dict[str, Any]) -> dict[str, Any]:
    """What an evaluator may see of `compute`'s figures (vigil.reports.suppression)."""
    shown = dict(raw)
    cohort = raw["cohort"]
    entered = sc.split("entered treatment", raw["entered_treatment"], cohort)
    shown["cohort"] = entered["of"]
    shown["entered_treatment"] = entered["count"]
    shown["within"] = {}
    for window, r in raw["within"].items():
        split = sc.split(f"entered within {window} days", r["entered"], r["eligible"])
        shown["within"][window] = {
            "eligible": split["of"],
            "entered": split["count"],
            "share": split["share"],
        }
    # Each step of a Kaplan-Meier curve is one person entering treatment; with the numbers at
    # risk it tells when each of them did. The curve is shown only once at least ten people
    # have entered, and then without the numbers at risk, its times rounded to whole days.
    if sc.enough(raw["entered_treatment"]) and entered["count"] is not None:
        km = raw["km"]
        shown["km"] = {k: km[k] for k in ("entered", "ci_low", "ci_high")}
        shown["km"]["days"] = [round(t) for t in km["days"]]
        shown["km_entered_by"] = raw["km_entered_by"]
    else:
        shown["km"] = None
        shown["km_entered_by"] = {w: None for w in raw["km_entered_by"]}
    direct = sc.split("directly from the room", raw["direct_from_room"], cohort)
    detox = sc.split("began detox", raw["detox"], cohort)
    shown["direct_from_room"] = direct["count"]
    shown["direct_from_room_share"] = direct["share"]
    shown["detox"] = detox["count"]
    shown["detox_share"] = detox["share"]
    shown["funnel"] = {k: sc.count(v) for k, v in raw["funnel"].items()}
    shown["treatment_referrals"] = sc.count(raw["treatment_referrals"])
    shown["people_referred"] = sc.count(raw["people_referred"])
    shown["small_counts"] = sc.NOTE
    return shown


def run(scope: Scope, options: Mapping[str, Any]) -> dict[str, Any]:
    return protect(compute(scope))
