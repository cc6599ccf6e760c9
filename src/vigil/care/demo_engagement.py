"""Synthetic services, supplies, drug checks and referrals for the demo, added to the visits the
floor demo made, in proportions taken from published site figures (docs/data-dictionary.md):

- referrals: 5,321 for Insite's 214,898 visits in 2016, about 2.5 per 100 visits;
- about 10% of Boston's participants went directly from the room into treatment;
- detox is the most common referral (18% of a Vancouver cohort began detox, over a year);
- supplies at nearly every injection visit, naloxone kits and test strips to a few.

Drug checks and referrals go through the same actions staff use (so their notices, steps and,
later, audit records are real); services and supplies go through the bulk form of the same
action, since a demo month holds thousands of them.
"""

import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from vigil.accounts.roles import Role
from vigil.care import engagement_actions as care
from vigil.care.engagement_actions import Given
from vigil.care.models import (
    TREATMENT_KINDS,
    FloorNotice,
    Referral,
    ReferralStatus,
    ReferralWhere,
)
from vigil.floor.models import Route, Visit
from vigil.lib import clock

REFERRALS_PER_VISIT = 5321 / 214898  # Insite 2016
DIRECT_SHARE_OF_PARTICIPANTS = 0.10  # Boston SPOT, "directly from the room into treatment"

SERVICE_RATES = {  # share of visits with the service
    "wound_care": 0.04,
    "vein_care": 0.02,
    "testing": 0.01,
    "counselling": 0.02,
    "naloxone_training": 0.015,
    "basic_needs": 0.10,
    "other": 0.005,
}
DIRECT_KINDS = {"detox": 45, "buprenorphine": 25, "methadone": 20, "residential": 10}
REFERRAL_KINDS = {
    "detox": 25,
    "buprenorphine": 12,
    "methadone": 10,
    "residential": 8,
    "mental_health": 12,
    "primary_care": 13,
    "housing": 15,
    "other": 5,
}
# What a sample sold as X turned out to hold: (substance, chance). Fentanyl in "heroin" is the
# everyday surprise of a North American drug supply; xylazine and medetomidine ride along.
COMPOSITION = {
    "fentanyl": [("fentanyl", 0.97), ("xylazine", 0.25), ("medetomidine", 0.08), ("caffeine", 0.3)],
    "heroin": [("fentanyl", 0.7), ("heroin", 0.3), ("caffeine", 0.2)],
    "other_opioid": [("fentanyl", 0.4), ("other_opioid", 0.6), ("nitazene", 0.05)],
    "methamphetamine": [("methamphetamine", 0.98), ("fentanyl", 0.04)],
    "cocaine": [("cocaine", 0.95), ("fentanyl", 0.05), ("caffeine", 0.1)],
    "benzodiazepine": [("benzodiazepine", 0.9), ("nitazene", 0.03)],
    "xylazine": [("xylazine", 0.95), ("fentanyl", 0.9)],
}
EXPECTED_FROM_INTAKE = {"speedball": ["heroin", "cocaine"], "other": []}
STRIP_DETECTS = {"fentanyl", "xylazine", "benzodiazepine"}


@dataclass
class EngagementDemo:
    visits: int = 0
    participants: int = 0
    services: int = 0
    supply_rows: int = 0
    drug_checks: int = 0
    unexpected: int = 0
    notices_active: int = 0
    referrals: int = 0
    direct: int = 0
    kinds: Counter = field(default_factory=Counter)
    statuses: Counter = field(default_factory=Counter)
    detox_started: int = 0

    def summary(self) -> str:
        per_100 = 100 * self.referrals / self.visits if self.visits else 0
        direct = 100 * self.direct / self.participants if self.participants else 0
        detox = 100 * self.detox_started / self.participants if self.participants else 0
        return (
            f"{self.services} services, {self.supply_rows} supply records, "
            f"{self.drug_checks} drug checks ({self.unexpected} with an unexpected potent "
            f"substance), {self.referrals} referrals ({per_100:.1f} per 100 visits; Insite "
            f"2016: 2.5), {self.direct} directly from the room into treatment ({direct:.0f}% "
            f"of participants; Boston: ~10%), detox started by {detox:.0f}% of participants."
        )


def _staff(site, role):
    return site.staff.filter(role=role, is_active=True).order_by("pk").first()


def _given_for(visit: Visit, rng: random.Random, at: datetime) -> Given | None:
    supplies: dict[str, int] = {}
    returned = 0
    if visit.route == Route.INJECT:
        if rng.random() < 0.9:
            size = rng.choices(["syringe_05ml", "syringe_1ml", "syringe_3ml"], [20, 70, 10])[0]
            supplies[size] = rng.choice([1, 2, 5, 10, 10, 20])
        if rng.random() < 0.7:
            supplies["cooker"] = rng.randint(1, 5)
        if rng.random() < 0.7:
            supplies["filter"] = rng.randint(1, 5)
        if rng.random() < 0.2:
            returned = rng.randint(1, 30)
    elif visit.route == Route.SMOKE and rng.random() < 0.8:
        supplies["pipe"] = rng.randint(1, 2)
    if rng.random() < 0.03:
        kit = rng.choices(["naloxone_nasal", "naloxone_injectable"], [75, 25])[0]
        supplies[kit] = rng.randint(1, 2)
    if rng.random() < 0.12:
        supplies["fentanyl_strip"] = rng.randint(1, 5)
    if rng.random() < 0.05:
        supplies["xylazine_strip"] = rng.randint(1, 3)
    services = tuple(s for s, rate in SERVICE_RATES.items() if rng.random() < rate)
    given = Given(
        services=services,
        supplies=supplies,
        returned=returned,
        visit=visit,
        participant=visit.participant,
        at=at,
    )
    return None if given.empty else given


def _seed_given(site, visits, now, rng, demo: EngagementDemo) -> None:
    nurse = _staff(site, Role.NURSE)
    desk = _staff(site, Role.FRONT_DESK) or nurse
    clinical: list[Given] = []
    handouts: list[Given] = []
    for visit in visits:
        at = min(visit.checked_in_at + timedelta(minutes=rng.randint(2, 25)), now)
        given = _given_for(visit, rng, at)
        if given is None:
            continue
        (clinical if given.services else handouts).append(given)
    # Someone not registered picks up supplies most days.
    days = {v.checked_in_at.astimezone(site.tz).date() for v in visits}
    for day in sorted(days):
        opens = datetime.combine(day, site.opens_at, tzinfo=site.tz)
        for _n in range(rng.choice([0, 1, 2, 3])):
            at = opens + timedelta(minutes=rng.randint(10, 600))
            if at < now:
                handouts.append(
                    Given(
                        supplies={rng.choice(["syringe_1ml", "pipe", "naloxone_nasal"]): 5},
                        at=at,
                    )
                )
    with clock.frozen(now):
        s1, p1 = care.record_given_many(site=site, by=nurse, entries=clinical)
        s2, p2 = care.record_given_many(site=site, by=desk, entries=handouts)
    demo.services += s1 + s2
    demo.supply_rows += p1 + p2


def _sample(expected: list[str], method: str, rng: random.Random) -> list[str]:
    found: list[str] = []
    for substance in expected or ["other_opioid"]:
        for part, chance in COMPOSITION.get(substance, [(substance, 0.9)]):
            if rng.random() < chance and part not in found:
                found.append(part)
    if method == "test_strip":
        found = [s for s in found if s in STRIP_DETECTS]
    return found


def _seed_checks(site, visits, now, rng, demo: EngagementDemo) -> None:
    nurse = _staff(site, Role.NURSE)
    counters: Counter = Counter()
    planned = [v for v in visits if v.drug_checked]
    for visit in planned:
        at = visit.checked_in_at + timedelta(minutes=rng.randint(1, 6))
        if at >= now:
            continue
        expected: list[str] = []
        for s in visit.substances:
            expected += EXPECTED_FROM_INTAKE.get(s, [s])
        method = rng.choices(["test_strip", "ftir", "lab"], [65, 30, 5])[0]
        local_day = at.astimezone(site.tz).strftime("%y%m%d")
        counters[local_day] += 1
        code = f"{local_day}-{counters[local_day]:03d}"
        pending = method == "lab"
        with clock.frozen(at):
            check = care.record_drug_check(
                site=site,
                by=nurse,
                sample_code=code,
                method=method,
                expected=expected,
                found=[] if pending else _sample(expected, method, rng),
                result_pending=pending,
                visit=visit,
                at=at,
            )
        result_at = at + timedelta(days=rng.randint(3, 7))
        if pending and result_at < now:
            with clock.frozen(result_at):
                check = care.record_drug_check_result(
                    check=check, found=_sample(expected, "lab", rng), by=nurse
                )
        demo.drug_checks += 1
        demo.unexpected += bool(check.unexpected_potent)


def _walk_through(referral: Referral, by, rng: random.Random, now: datetime) -> None:
    """Move a referral along a believable path, stopping where "now" is."""
    t = referral.referred_at
    treatment = referral.kind in TREATMENT_KINDS

    def step(to: str, after_days: tuple[float, float]) -> bool:
        nonlocal t, referral
        at = t + timedelta(days=rng.uniform(*after_days))
        if at >= now:
            return False
        follow_up = (at + timedelta(days=7)).astimezone(referral.site.tz).date()
        with clock.frozen(at):
            referral = care.advance_referral(
                referral=referral, to=to, by=by, at=at, follow_up_due=follow_up
            )
        t = at
        return True

    roll = rng.random()
    if roll < 0.15:
        step(ReferralStatus.DECLINED, (0, 2))
        return
    if roll > 0.80:
        if now - t > timedelta(days=21):
            step(ReferralStatus.LOST, (21, 28))
        return
    if not step(ReferralStatus.ACCEPTED, (0, 3)):
        return
    roll = rng.random()
    if roll < 0.15:
        if now - t > timedelta(days=14):
            step(ReferralStatus.LOST, (14, 21))
        return
    if roll < 0.45:
        return  # accepted, waiting for a bed or an appointment
    if treatment and rng.random() < 0.5:
        step(ReferralStatus.ENTERED_TREATMENT, (1, 6))
        return
    if step(ReferralStatus.ATTENDED, (1, 7)) and treatment and rng.random() < 0.7:
        step(ReferralStatus.ENTERED_TREATMENT, (0, 5))


def _seed_referrals(sites, visits_by_site, now, rng, demo: EngagementDemo) -> None:
    everyone = [v for site in sites for v in visits_by_site[site.pk]]
    people: dict[int, list[Visit]] = {}
    for visit in everyone:
        people.setdefault(visit.participant_id, []).append(visit)
    direct_people = rng.sample(
        sorted(people), min(len(people), round(DIRECT_SHARE_OF_PARTICIPANTS * len(people)))
    )
    site_by_pk = {s.pk: s for s in sites}
    referrer = {s.pk: _staff(s, Role.CASE_MANAGER) or _staff(s, Role.NURSE) for s in sites}
    for person in direct_people:
        visit = rng.choice(people[person])
        site = site_by_pk[visit.site_id]
        at = visit.checked_in_at + timedelta(minutes=rng.randint(15, 40))
        if at >= now:
            continue
        with clock.frozen(at):
            care.direct_to_treatment(
                site=site,
                participant=visit.participant,
                by=_staff(site, Role.NURSE) or referrer[site.pk],
                kind=rng.choices(list(DIRECT_KINDS), list(DIRECT_KINDS.values()))[0],
                where=rng.choices(
                    [ReferralWhere.PARTNER_ON_SITE, ReferralWhere.IN_SITE, ReferralWhere.OFF_SITE],
                    [70, 20, 10],
                )[0],
                visit=visit,
                at=at,
            )
    others = max(0, round(REFERRALS_PER_VISIT * len(everyone)) - len(direct_people))
    for visit in rng.sample(everyone, min(others, len(everyone))):
        site = site_by_pk[visit.site_id]
        at = visit.checked_in_at + timedelta(minutes=rng.randint(10, 50))
        if at >= now:
            continue
        kind = rng.choices(list(REFERRAL_KINDS), list(REFERRAL_KINDS.values()))[0]
        with clock.frozen(at):
            referral = care.make_referral(
                site=site,
                participant=visit.participant,
                by=referrer[site.pk],
                kind=kind,
                where=rng.choices(
                    [ReferralWhere.OFF_SITE, ReferralWhere.PARTNER_ON_SITE, ReferralWhere.IN_SITE],
                    [60, 25, 15],
                )[0],
                partner=rng.choice(
                    {
                        "housing": ["Coordinated entry", "Housing first team"],
                        "primary_care": ["Community health centre"],
                        "mental_health": ["Crisis and counselling service"],
                    }.get(kind, ["", "Partner clinic", "Opioid treatment programme"])
                ),
                follow_up_due=(at + timedelta(days=7)).astimezone(site.tz).date(),
                visit=visit,
                at=at,
            )
        _walk_through(referral, referrer[site.pk], rng, now)


def seed_engagement(sites, now: datetime, rng: random.Random) -> EngagementDemo:
    """Add engagement records to the demo sites' visits (all before `now`)."""
    demo = EngagementDemo()
    visits_by_site = {
        site.pk: list(
            Visit.objects.filter(site=site, checked_in_at__lt=now)
            .select_related("participant")
            .order_by("checked_in_at", "pk")
        )
        for site in sites
    }
    for site in sites:
        visits = visits_by_site[site.pk]
        _seed_given(site, visits, now, rng, demo)
        _seed_checks(site, visits, now, rng, demo)
    _seed_referrals(sites, visits_by_site, now, rng, demo)
    # A sample checked this morning, so the demo board shows what a drug supply alert looks like.
    first = sites[0]
    at = now - timedelta(minutes=40)
    with clock.frozen(at):
        care.record_drug_check(
            site=first,
            by=_staff(first, Role.NURSE),
            sample_code=f"{at.astimezone(first.tz):%y%m%d}-W01",
            method="ftir",
            expected=["heroin"],
            found=["fentanyl", "xylazine", "caffeine"],
            at=at,
        )
    demo.drug_checks += 1
    demo.unexpected += 1

    all_visits = [v for vs in visits_by_site.values() for v in vs]
    demo.visits = len(all_visits)
    demo.participants = len({v.participant_id for v in all_visits})
    referrals = Referral.objects.filter(site__in=sites)
    demo.referrals = referrals.count()
    demo.direct = referrals.filter(direct_from_room=True).values("participant").distinct().count()
    demo.kinds = Counter(referrals.values_list("kind", flat=True))
    demo.statuses = Counter(referrals.values_list("status", flat=True))
    demo.detox_started = (
        referrals.filter(kind="detox", entered_treatment_at__isnull=False)
        .values("participant")
        .distinct()
        .count()
    )
    demo.notices_active = FloorNotice.objects.filter(
        site__in=sites, dismissed_at__isnull=True, expires_at__gt=now
    ).count()
    return demo
