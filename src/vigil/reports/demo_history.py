"""Months of synthetic history before the demo's live weeks, so the dashboard and last month's
report have believable figures. No real person is described here.

The floor demo (`floor/demo.py`) makes three weeks through the same actions staff use; a
monthly report needs whole months, and four months through those actions would take many
minutes. So the months before are written in bulk (`bulk_create`), in the same shapes the
actions write, at the demo's daily volumes (Seattle CHEL 60 visits a day, King County CHEL 25)
and in proportions taken from published figures (docs/data-dictionary.md, "The demo's
proportions"; PRODUCT.md):

- overdoses at about 0.9 per 100 visits (Insite 2016: 1,781 in 214,898 visits, 0.83; OnPoint
  NYC's first year: 636 in 48,533, 1.3), naloxone for about half, EMS for about 1 in 25 (OnPoint:
  23 calls for 636 interventions), no death;
- referrals at 2.5 per 100 visits (Insite 2016), detox the most common;
- a few regulars make most visits (Boston SPOT: about 300 visits a month by about 50 people;
  Insite: 214,898 visits by 8,040 people, about 27 a year each).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.db import transaction

from vigil.accounts.models import Staff
from vigil.accounts.roles import Role
from vigil.care.demo_engagement import REFERRAL_KINDS, SERVICE_RATES
from vigil.care.models import (
    TREATMENT_KINDS,
    EventKind,
    EventOutcome,
    Intervention,
    InterventionKind,
    MedicalEvent,
    Referral,
    ReferralStatus,
    ReferralStep,
    ServiceGiven,
    SupplyGiven,
)
from vigil.floor.demo import SUBSTANCE_WEIGHTS, _register
from vigil.floor.models import EndReason, Occupancy, Route, Visit, VisitStatus
from vigil.participants.models import Participant
from vigil.sites.models import Place, PlaceKind, Site

VISITS_PER_DAY = {"Seattle CHEL": 60, "King County CHEL": 25}
OVERDOSE_RATE = 0.009
OTHER_MEDICAL_RATE = 0.003
REFERRAL_RATE = 5321 / 214898
# Busier in the afternoon and evening, as sites report; index = hours after opening (8:00).
HOUR_WEIGHTS = [3, 4, 6, 7, 8, 9, 10, 10, 9, 9, 8, 7, 5, 3]
WEEKDAY_FACTOR = [1.0, 1.0, 1.05, 1.05, 1.15, 0.9, 0.8]  # Monday first
SUBSTANCES = [str(s) for s in SUBSTANCE_WEIGHTS]
SUBSTANCE_SHARES = list(SUBSTANCE_WEIGHTS.values())
ROUTES = [Route.INJECT, Route.SNORT, Route.ORAL]
LOCATIONS = ["public", "semi_public", "private", "not_said"]
BATCH = 2000


@dataclass
class History:
    days: int = 0
    visits: int = 0
    participants: int = 0
    overdoses: int = 0
    referrals: int = 0

    def summary(self) -> str:
        return (
            f"History: {self.days} days before the live weeks, {self.visits} visits, "
            f"{self.participants} more participants, {self.overdoses} overdoses, "
            f"{self.referrals} referrals."
        )


def first_day_of_history(now: datetime, tz, months: int) -> date:
    """The first of the month `months` whole months before the current one."""
    day = now.astimezone(tz).date().replace(day=1)
    for _ in range(months):
        day = (day - timedelta(days=1)).replace(day=1)
    return day


def seed_history(
    sites: list[Site], now: datetime, live_days: int, rng: random.Random, months: int = 4
) -> History:
    """Bulk history from the first of the month `months` months ago up to the day the live
    demo weeks start (`live_days` before `now`)."""
    made = History()
    tz = sites[0].tz
    start = first_day_of_history(now, tz, months)
    end = (now - timedelta(days=live_days)).astimezone(tz).date()
    made.days = max((end - start).days, 0)
    if made.days == 0:
        return made
    jurisdiction = sites[0].jurisdiction
    for site in sites:
        _seed_site(site, jurisdiction, start, end, rng, made)
    return made


def _seed_site(site: Site, jurisdiction, start: date, end: date, rng: random.Random, made: History):
    nurse = Staff.objects.filter(sites=site, role=Role.NURSE).order_by("pk").first()
    if nurse is None:
        return
    use_places = list(site.places.exclude(kind=PlaceKind.AFTERCARE))
    seats = list(site.places.filter(kind=PlaceKind.AFTERCARE))
    per_day = VISITS_PER_DAY.get(site.name, 30)
    pool: list[Participant] = []

    def pick(at: datetime) -> Participant:
        return _person(pool, jurisdiction, site, rng, at, made)

    planned: list[Planned] = []
    day = start
    while day < end:
        count = max(1, int(rng.gauss(per_day, per_day * 0.12) * WEEKDAY_FACTOR[day.weekday()]))
        planned += plan_day(site, day, count, pick, nurse, rng, use_places)
        day += timedelta(days=1)
    write(site, planned, seats, nurse, rng, made)


Planned = tuple[Visit, Place, datetime, bool]  # the visit, its place, seated at, aftercare


def plan_day(
    site: Site,
    day: date,
    count: int,
    pick: Callable[[datetime], Participant],
    nurse,
    rng: random.Random,
    use_places: list[Place],
) -> list[Planned]:
    """`count` ended visits on `day` (unsaved), with where and when each person sat."""
    opens = datetime.combine(day, time(8, 0), tzinfo=site.tz)
    planned = []
    hours = rng.choices(range(len(HOUR_WEIGHTS)), HOUR_WEIGHTS, k=count)
    for hour in hours:
        checked_in = opens + timedelta(hours=hour, minutes=rng.uniform(0, 59))
        person = pick(checked_in)
        place = rng.choice(use_places)
        smoke = place.kind == PlaceKind.INHALATION
        substances = rng.choices(SUBSTANCES, weights=SUBSTANCE_SHARES)
        if rng.random() < 0.15:
            substances.append(rng.choice(["methamphetamine", "xylazine"]))
        route = Route.SMOKE if smoke else rng.choices(ROUTES, [90, 7, 3])[0]
        wait = timedelta(minutes=rng.choice([0, 0, 0, 1, 2, 5, 9, 15]))
        used = timedelta(minutes=rng.randint(8, 26))
        aftercare = rng.random() < 0.8
        rest = timedelta(minutes=rng.randint(5, 25)) if aftercare else timedelta()
        visit = Visit(
            site=site,
            participant=person,
            checked_in_at=checked_in,
            checked_in_by=nurse,
            substances=sorted(set(substances)),
            route=route,
            otherwise_location=rng.choices(LOCATIONS, [45, 25, 20, 10])[0],
            otherwise_alone=rng.choice([True, True, False, None]),
            drug_checked=rng.random() < 0.2,
            status=VisitStatus.ENDED,
            ended_at=checked_in + wait + used + rest,
            end_reason=EndReason.COMPLETED if aftercare else EndReason.LEFT_EARLY,
        )
        planned.append((visit, place, checked_in + wait, aftercare))
    return planned


def write(
    site: Site, planned: list[Planned], seats: list[Place], nurse, rng: random.Random, made: History
) -> None:
    """Bulk-create the planned visits with their occupancies, events, services, supplies and
    referrals, in one transaction."""
    visits = [visit for visit, _place, _seated, _aftercare in planned]
    with transaction.atomic():
        Visit.objects.bulk_create(visits, batch_size=BATCH)
        occupancies = []
        for visit, place, seated, aftercare in planned:
            left_place = seated + timedelta(minutes=8)
            occupancies.append(
                Occupancy(visit=visit, place=place, started_at=seated, ended_at=left_place)
            )
            if aftercare and seats:
                occupancies.append(
                    Occupancy(
                        visit=visit,
                        place=rng.choice(seats),
                        started_at=left_place,
                        ended_at=visit.ended_at,
                    )
                )
        Occupancy.objects.bulk_create(occupancies, batch_size=BATCH)
        _care(site, visits, nurse, rng, made)
    made.visits += len(visits)


def _person(pool, jurisdiction, site, rng, at, made: History) -> Participant:
    # New people come often at first, then a steady trickle; a few regulars make most visits.
    if not pool or rng.random() < max(0.05, 0.5 - 0.02 * len(pool) / 10):
        person = _register(jurisdiction, site, rng, at)
        pool.append(person)
        made.participants += 1
        return person
    if rng.random() < 0.5:
        return pool[min(int(rng.paretovariate(1.2)) - 1, len(pool) - 1)]
    return rng.choice(pool)


def _care(site: Site, visits: list[Visit], nurse, rng: random.Random, made: History) -> None:
    events: list[MedicalEvent] = []
    interventions: list[Intervention] = []
    services: list[ServiceGiven] = []
    supplies: list[SupplyGiven] = []
    referrals: list[Referral] = []
    steps: list[ReferralStep] = []
    for visit in visits:
        seated = visit.checked_in_at + timedelta(minutes=5)
        roll = rng.random()
        if roll < OVERDOSE_RATE + OTHER_MEDICAL_RATE:
            overdose = roll < OVERDOSE_RATE
            ems = rng.random() < (0.04 if overdose else 0.2)
            transported = ems and rng.random() < 0.6
            started = seated + timedelta(minutes=rng.randint(2, 12))
            event = MedicalEvent(
                site=site,
                visit=visit,
                participant=visit.participant,
                kind=EventKind.OVERDOSE if overdose else EventKind.OTHER_MEDICAL,
                started_at=started,
                signs=["unresponsive", "slow_breathing"] if overdose else ["other"],
                ems_called_at=started + timedelta(minutes=3) if ems else None,
                ems_arrived_at=started + timedelta(minutes=11) if ems else None,
                transported_at=started + timedelta(minutes=25) if transported else None,
                outcome=EventOutcome.TRANSPORTED if transported else EventOutcome.RECOVERED,
                minutes_to_recovery=None if transported else rng.randint(4, 30),
                created_at=started + timedelta(minutes=30),
                created_by=nurse,
                signed_off_at=started + timedelta(hours=2),
                signed_off_by=nurse,
            )
            events.append(event)
            if overdose:
                made.overdoses += 1
                interventions.append(
                    Intervention(
                        event=event,
                        kind=InterventionKind.STIMULATION,
                        at=started + timedelta(minutes=1),
                        by=nurse,
                    )
                )
                if rng.random() < 0.8:
                    interventions.append(
                        Intervention(
                            event=event,
                            kind=InterventionKind.OXYGEN,
                            at=started + timedelta(minutes=1),
                            litres_per_minute=Decimal("10"),
                            by=nurse,
                        )
                    )
                if rng.random() < 0.5:
                    for dose in range(rng.choice([1, 1, 1, 2])):
                        interventions.append(
                            Intervention(
                                event=event,
                                kind=InterventionKind.NALOXONE,
                                at=started + timedelta(minutes=2 + 3 * dose),
                                dose_mg=Decimal("0.4"),
                                route="IM",
                                by=nurse,
                            )
                        )
        for service, rate in SERVICE_RATES.items():
            if rng.random() < rate:
                services.append(
                    ServiceGiven(
                        site=site,
                        visit=visit,
                        participant=visit.participant,
                        service=service,
                        at=seated,
                        by=nurse,
                    )
                )
        given = []
        if visit.route == Route.INJECT and rng.random() < 0.9:
            given += [
                (
                    rng.choice(["syringe_1ml", "syringe_1ml", "syringe_05ml", "syringe_3ml"]),
                    rng.randint(1, 5),
                ),
                ("cooker", 1),
            ]
        if visit.route == Route.SMOKE and rng.random() < 0.8:
            given.append(("pipe", 1))
        if rng.random() < 0.03:
            given.append(("naloxone_nasal", 1))
        if rng.random() < 0.12:
            given.append(("fentanyl_strip", rng.randint(1, 3)))
        for item, quantity in given:
            supplies.append(
                SupplyGiven(
                    site=site,
                    visit=visit,
                    participant=visit.participant,
                    item=item,
                    quantity=quantity,
                    at=seated,
                    by=nurse,
                )
            )
        if rng.random() < 0.08:
            supplies.append(
                SupplyGiven(
                    site=site,
                    visit=visit,
                    participant=visit.participant,
                    item="syringes",
                    quantity=rng.randint(5, 40),
                    returned=True,
                    at=visit.checked_in_at,
                    by=nurse,
                )
            )
        if rng.random() < REFERRAL_RATE:
            referrals.append(_referral(site, visit, nurse, rng, steps))
    MedicalEvent.objects.bulk_create(events, batch_size=BATCH)
    Intervention.objects.bulk_create(interventions, batch_size=BATCH)
    ServiceGiven.objects.bulk_create(services, batch_size=BATCH)
    SupplyGiven.objects.bulk_create(supplies, batch_size=BATCH)
    Referral.objects.bulk_create(referrals, batch_size=BATCH)
    ReferralStep.objects.bulk_create(steps, batch_size=BATCH)
    made.referrals += len(referrals)


def _referral(site, visit, nurse, rng: random.Random, steps: list) -> Referral:
    kind = rng.choices(list(REFERRAL_KINDS), list(REFERRAL_KINDS.values()))[0]
    at = visit.checked_in_at + timedelta(minutes=20)
    referral = Referral(
        site=site,
        participant=visit.participant,
        visit=visit,
        kind=kind,
        where=rng.choices(["off_site", "partner_on_site", "in_site"], [70, 20, 10])[0],
        referred_at=at,
        referred_by=nurse,
        status=ReferralStatus.REFERRED,
    )
    path = [(ReferralStatus.REFERRED, at)]
    if rng.random() < 0.6:
        referral.accepted_at = at + timedelta(days=rng.randint(0, 6))
        path.append((ReferralStatus.ACCEPTED, referral.accepted_at))
        if kind in TREATMENT_KINDS and rng.random() < 0.45:
            referral.entered_treatment_at = referral.accepted_at + timedelta(
                days=rng.randint(0, 10)
            )
            path.append((ReferralStatus.ENTERED_TREATMENT, referral.entered_treatment_at))
        elif kind not in TREATMENT_KINDS and rng.random() < 0.5:
            referral.attended_at = referral.accepted_at + timedelta(days=rng.randint(0, 10))
            path.append((ReferralStatus.ATTENDED, referral.attended_at))
    elif rng.random() < 0.5:
        referral.closed_at = at + timedelta(days=rng.randint(7, 20))
        path.append((ReferralStatus.LOST, referral.closed_at))
    referral.status = path[-1][0]
    steps.extend(
        ReferralStep(referral=referral, status=status, at=when, by=nurse) for status, when in path
    )
    return referral
