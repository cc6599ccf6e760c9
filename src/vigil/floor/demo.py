"""Synthetic demo data made through the same actions staff use (so later, the audit trail of
the demo is real too). No real person is described here: codes and aliases are random."""

import random
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db import transaction

from vigil.accounts.models import Staff
from vigil.accounts.roles import Role
from vigil.floor import actions
from vigil.floor.actions import Intake
from vigil.floor.models import CheckResult, EndReason, OtherwiseLocation, Route, Substance
from vigil.lib import clock
from vigil.lib.codes import CodeItems
from vigil.participants import actions as registry
from vigil.participants.models import AgeBand, Gender, Housing, Participant
from vigil.sites.actions import add_places, create_site, parse_labels
from vigil.sites.models import Jurisdiction, PlaceKind, Site

JURISDICTION = "Seattle & King County"
DEMO_PASSWORD = "vigil-demo-2026"  # noqa: S105 - printed for the demo, never for a real site

SITES = [
    (
        "Seattle CHEL",
        {"booth": "B1-B10", "inhalation": "S1-S4", "washroom": "W1", "aftercare": "A1-A6"},
    ),
    ("King County CHEL", {"booth": "B1-B6", "aftercare": "A1-A4"}),
]

STAFF = [
    ("desk", "Dana", Role.FRONT_DESK, ["Seattle CHEL"]),
    ("nurse", "Noor", Role.NURSE, ["Seattle CHEL"]),
    ("casemanager", "Casey", Role.CASE_MANAGER, ["Seattle CHEL", "King County CHEL"]),
    ("manager", "Morgan", Role.SITE_MANAGER, ["Seattle CHEL", "King County CHEL"]),
    ("evaluator", "Eve", Role.EVALUATOR, ["Seattle CHEL", "King County CHEL"]),
    ("admin", "Ada", Role.ADMINISTRATOR, []),
    ("kcnurse", "Kai", Role.NURSE, ["King County CHEL"]),
    ("kcdesk", "Kim", Role.FRONT_DESK, ["King County CHEL"]),
]

# Shares that look like published site populations: mostly opioids, mostly injection,
# about one in four otherwise using in public.
SUBSTANCE_WEIGHTS = {
    Substance.FENTANYL: 55,
    Substance.HEROIN: 8,
    Substance.OTHER_OPIOID: 4,
    Substance.METHAMPHETAMINE: 18,
    Substance.COCAINE: 7,
    Substance.SPEEDBALL: 4,
    Substance.BENZODIAZEPINE: 1,
    Substance.XYLAZINE: 2,
    Substance.OTHER: 1,
}
ROUTE_BY_KIND = {PlaceKind.INHALATION: Route.SMOKE}


@dataclass
class Demo:
    jurisdiction: Jurisdiction
    sites: list[Site]
    staff: list[Staff]
    participants: int
    visits: int


def random_intake(rng: random.Random, smoke: bool) -> Intake:
    """A believable intake (also the floor benchmark's)."""
    substances = rng.choices(list(SUBSTANCE_WEIGHTS), weights=list(SUBSTANCE_WEIGHTS.values()))
    if rng.random() < 0.15:
        substances.append(rng.choice([Substance.METHAMPHETAMINE, Substance.XYLAZINE]))
    route = (
        Route.SMOKE
        if smoke
        else rng.choices([Route.INJECT, Route.SNORT, Route.ORAL], [90, 7, 3])[0]
    )
    return Intake(
        substances=sorted(set(substances)),
        route=route,
        otherwise_location=rng.choices(
            [
                OtherwiseLocation.PUBLIC,
                OtherwiseLocation.SEMI_PUBLIC,
                OtherwiseLocation.PRIVATE,
                OtherwiseLocation.NOT_SAID,
            ],
            [45, 25, 20, 10],
        )[0],
        otherwise_alone=rng.choice([True, True, False, None]),
        drug_checked=rng.random() < 0.2,
    )


def _register(jurisdiction, site, rng: random.Random, registered_at: datetime) -> Participant:
    with clock.frozen(registered_at):
        for _attempt in range(20):
            items = CodeItems(
                mother_first_name="".join(rng.choice("ABCDEFGHIJKLMNOPRSTVWY") for _ in range(2)),
                birth_day=rng.randint(1, 28),
                birth_year=rng.randint(1960, 2004),
                gender=rng.choices("MWX", [68, 29, 3])[0],
                birthplace=rng.choice("ABCDEFGHKLMNOPRSTVW"),
            )
            try:
                return registry.register(
                    jurisdiction=jurisdiction,
                    items=items,
                    site=site,
                    oriented=True,
                    profile=registry.Profile(
                        age_band=rng.choices(AgeBand.values, [2, 22, 33, 24, 14, 5])[0],
                        gender=rng.choices(
                            [Gender.MAN, Gender.WOMAN, Gender.TRANS_NONBINARY, ""], [64, 28, 4, 4]
                        )[0],
                        housing=rng.choices(Housing.values, [35, 25, 20, 15, 5])[0],
                    ),
                )
            except registry.SameCodeExists:
                continue
    raise RuntimeError("could not register a demo participant")


def _whole_visit(site, person, places, aftercare, staff, rng, start: datetime) -> None:
    """One visit from check-in to exit, every step at its own time."""
    place = rng.choice(places)
    intake = random_intake(rng, smoke=place.kind == PlaceKind.INHALATION)
    with clock.frozen(start):
        visit = actions.check_in(site=site, participant=person, intake=intake, by=staff)
    t = start + timedelta(minutes=rng.choice([0, 0, 0, 2, 5, 9]))
    with clock.frozen(t):
        occupancy = actions.assign_place(visit=visit, place=place, by=staff)
    used = rng.randint(8, 26)
    for minute in range(5, used, 5):
        with clock.frozen(t + timedelta(minutes=minute, seconds=rng.randint(-40, 50))):
            actions.record_check(occupancy=occupancy, result=CheckResult.OK, by=staff)
    t += timedelta(minutes=used)
    if rng.random() < 0.8:
        with clock.frozen(t):
            actions.move_to_aftercare(visit=visit, seat=rng.choice(aftercare), by=staff)
        t += timedelta(minutes=rng.randint(5, 25))
        reason = EndReason.COMPLETED
    else:
        reason = rng.choice([EndReason.LEFT_EARLY, EndReason.LEFT_EARLY, EndReason.OTHER])
    with clock.frozen(t):
        actions.end_visit(visit=visit, reason=reason, by=staff)


def seed(
    *,
    days: int = 21,
    visits_per_day: dict[str, int] | None = None,
    seed: int = 2026,
    now: datetime | None = None,
) -> Demo:
    rng = random.Random(seed)
    now = now or clock.now()
    visits_per_day = visits_per_day or {"Seattle CHEL": 60, "King County CHEL": 25}
    with transaction.atomic():
        sites = []
        for name, kinds in SITES:
            site = create_site(
                jurisdiction=JURISDICTION,
                name=name,
                time_zone="America/Los_Angeles",
                opens_at=time(8, 0),
                closes_at=time(22, 0),
            )
            for kind, spec in kinds.items():
                add_places(site, kind, parse_labels(spec))
            sites.append(site)
        jurisdiction = sites[0].jurisdiction
        staff = []
        for username, first, role, site_names in STAFF:
            member = Staff.objects.create_user(
                username=username,
                password=DEMO_PASSWORD,
                first_name=first,
                role=role,
                is_staff=role == Role.ADMINISTRATOR,
                is_superuser=role == Role.ADMINISTRATOR,
            )
            member.sites.set([s for s in sites if s.name in site_names])
            staff.append(member)
    desk = {
        s.pk: next(m for m in staff if m.role == Role.NURSE and s in m.sites.all()) for s in sites
    }

    pool: list[Participant] = []
    total = 0
    first_day = (now - timedelta(days=days)).astimezone(sites[0].tz).date()
    for offset in range(days):
        day = first_day + timedelta(days=offset)
        for site in sites:
            opens = datetime.combine(day, site.opens_at, tzinfo=site.tz)
            use_places = list(site.places.exclude(kind=PlaceKind.AFTERCARE))
            seats = list(site.places.filter(kind=PlaceKind.AFTERCARE))
            count = max(
                1, int(rng.gauss(visits_per_day[site.name], visits_per_day[site.name] * 0.15))
            )
            minutes = sorted(rng.uniform(0, 13 * 60) for _ in range(count))
            for minute in minutes:
                start = opens + timedelta(minutes=minute)
                if start >= now - timedelta(hours=1):
                    break
                if not pool or rng.random() < max(0.04, 0.5 - 0.02 * len(pool) / 10):
                    person = _register(jurisdiction, site, rng, start)
                    pool.append(person)
                else:
                    # A few regulars make most visits, as at every site.
                    person = (
                        pool[min(int(rng.paretovariate(1.2)) - 1, len(pool) - 1)]
                        if rng.random() < 0.5
                        else rng.choice(pool)
                    )
                with transaction.atomic():
                    _whole_visit(site, person, use_places, seats, desk[site.pk], rng, start)
                total += 1
    total += _current_floor(sites, desk, pool, jurisdiction, rng, now)
    return Demo(
        jurisdiction=jurisdiction, sites=sites, staff=staff, participants=len(pool), visits=total
    )


def _current_floor(sites, desk, pool, jurisdiction, rng, now) -> int:
    """People on the floor right now, so the board shows every state at a glance."""
    from vigil.floor.models import Visit, VisitStatus

    busy = set(
        Visit.objects.exclude(status=VisitStatus.ENDED).values_list("participant_id", flat=True)
    )
    free_people = [p for p in pool if p.pk not in busy]
    rng.shuffle(free_people)
    count = 0
    # (minutes ago seated, minutes since last check or None, concerned)
    plans = {
        "Seattle CHEL": {
            "B1": (3, None),
            "B2": (7, 2),
            "B4": (12, 8),
            "B5": (23, 4),
            "B7": (9, 1),
            "S2": (6, 1),
            "W1": (4, None),
            "A1": (15, 3),
            "A3": (8, 8),
        },
        "King County CHEL": {"B2": (5, None), "B3": (14, 3), "A2": (10, 2)},
    }
    waiting = {"Seattle CHEL": 2, "King County CHEL": 1}
    for site in sites:
        places = {p.label: p for p in site.places.all()}
        staff = desk[site.pk]
        for label, (seated_ago, check_ago) in plans[site.name].items():
            place = places[label]
            person = free_people.pop()
            start = now - timedelta(minutes=seated_ago + 2)
            intake = random_intake(rng, smoke=place.kind == PlaceKind.INHALATION)
            with clock.frozen(start):
                visit = actions.check_in(site=site, participant=person, intake=intake, by=staff)
            seated = now - timedelta(minutes=seated_ago)
            if place.kind == PlaceKind.AFTERCARE:
                use_place = next(
                    p
                    for p in places.values()
                    if p.kind == PlaceKind.BOOTH and p.label not in plans[site.name]
                )
                with clock.frozen(seated - timedelta(minutes=18)):
                    actions.assign_place(visit=visit, place=use_place, by=staff)
                with clock.frozen(seated):
                    occupancy = actions.move_to_aftercare(visit=visit, seat=place, by=staff)
            else:
                with clock.frozen(seated):
                    occupancy = actions.assign_place(visit=visit, place=place, by=staff)
            if check_ago is not None:
                with clock.frozen(now - timedelta(minutes=check_ago)):
                    actions.record_check(occupancy=occupancy, result=CheckResult.OK, by=staff)
            count += 1
        for n in range(waiting[site.name]):
            with clock.frozen(now - timedelta(minutes=3 - n)):
                actions.check_in(
                    site=site,
                    participant=free_people.pop(),
                    intake=random_intake(rng, False),
                    by=staff,
                )
            count += 1
    return count


def refresh_floor(
    *, seed: int = 2026, now: datetime | None = None, stale_after: timedelta = timedelta(hours=2)
) -> int:
    """On a later `make demo`, yesterday's people are still "in their booths": close those
    visits (site closed) and put a fresh floor in place, through the same actions. Returns how
    many visits were closed (0 when the floor is fresh)."""
    from vigil.floor.models import Visit, VisitStatus

    now = now or clock.now()
    jurisdiction = Jurisdiction.objects.get(name=JURISDICTION)
    open_visits = Visit.objects.filter(site__jurisdiction=jurisdiction).exclude(
        status=VisitStatus.ENDED
    )
    if (
        not open_visits.exists()
        or open_visits.filter(checked_in_at__gte=now - stale_after).exists()
    ):
        return 0
    closed = 0
    for visit in open_visits.select_related("site"):
        staff = visit.site.staff.filter(role=Role.NURSE).first()
        with clock.frozen(now - timedelta(minutes=30)):
            actions.end_visit(visit=visit, reason=EndReason.SITE_CLOSED, by=staff)
        closed += 1
    sites = list(Site.objects.filter(jurisdiction=jurisdiction).order_by("pk"))
    desk = {s.pk: s.staff.filter(role=Role.NURSE).first() for s in sites}
    pool = list(Participant.objects.filter(jurisdiction=jurisdiction, merged_into__isnull=True))
    _current_floor(sites, desk, pool, jurisdiction, random.Random(seed + now.toordinal()), now)
    return closed
