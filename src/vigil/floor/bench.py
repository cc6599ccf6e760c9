"""The floor benchmark behind `vigil bench-floor`.

One site, Insite-sized: the server time and SQL queries of the pages the desk and the floor use
most, measured first with an empty history (only the people on the floor now) and again after
years of visits are seeded, so a page that slows down as the history grows shows up as a ratio
and a query count that grows shows up as a different number.

Server time is measured in-process with Django's test client, through the whole middleware
stack, in a throw-away database made by Django's own test-database machinery (see
`throwaway_database`).
"""

from __future__ import annotations

import contextlib
import math
import os
import platform
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from datetime import time as time_of_day
from typing import Any

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.db import DEFAULT_DB_ALIAS, connection, connections, transaction
from django.http.response import HttpResponseBase
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings
from django.urls import reverse

from vigil.accounts.models import Staff
from vigil.accounts.roles import Role
from vigil.accounts.twofactor import force_verified_login
from vigil.floor import actions
from vigil.floor.demo import random_intake
from vigil.floor.models import (
    Check,
    CheckResult,
    EndReason,
    Occupancy,
    OtherwiseLocation,
    Route,
    Visit,
    VisitStatus,
)
from vigil.lib import clock
from vigil.lib.codes import CodeItems, pronounceable_alias
from vigil.lib.secrets import data_dir
from vigil.monitoring import actions as monitoring
from vigil.monitoring.alarms import Outcome, State
from vigil.monitoring.models import Alarm, AlarmEvent
from vigil.monitoring.rules import PRIORITY, Condition, Priority
from vigil.participants import actions as registry
from vigil.participants.models import (
    AgeBand,
    Gender,
    Housing,
    Participant,
    Restriction,
    RestrictionReason,
)
from vigil.sites.actions import add_places, create_site, parse_labels
from vigil.sites.models import Place, PlaceKind, Site

# Insite-like: a dozen booths, an inhalation room, a washroom, a chill-out room.
PLACES = {
    PlaceKind.BOOTH: "B1-B12",
    PlaceKind.INHALATION: "S1-S4",
    PlaceKind.WASHROOM: "W1",
    PlaceKind.AFTERCARE: "A1-A8",
}
OPENS_AT = time_of_day(8, 0)
OPEN_HOURS = 14

# The floor at a busy moment: every booth taken but the one the timed check-ins use, three
# people waiting for a booth, most aftercare seats taken, a free inhalation seat.
CHECK_IN_PLACE = "B12"
OCCUPIED = [f"B{n}" for n in range(1, 12)] + ["S1", "S2", "S3", "W1"]
IN_AFTERCARE = ["A1", "A2", "A3", "A4", "A5"]
WAITING = 3
CHECK_IN_POOL = 20

# Cap on how much more often one person visits than the typical one: without it the
# heavy-tailed draw gives someone dozens of visits a day. At the defaults the busiest regular
# makes about three visits a day, as the heaviest users of a site do.
REGULAR_CAP = 300.0
# Monitor and check alarms over a visit: most are brief desaturations or late checks that
# clear or are found okay; a few are overdoses.
ALARMS_PER_VISIT = 1 / 25
ALARM_KINDS = {
    Condition.SPO2_LOW: 40,
    Condition.DESATURATION: 10,
    Condition.RESP_LOW: 8,
    Condition.CHECK_OVERDUE: 25,
    Condition.OVER_LIMIT: 12,
    Condition.MONITORING_LOST: 5,
}
ALARM_OUTCOMES = {
    Outcome.PERSON_OKAY: 60,
    Outcome.FALSE_ALARM: 18,
    Outcome.OVERDOSE: 12,
    Outcome.TECHNICAL: 10,
}
BATCH = 1000
DAYS_PER_CHUNK = 10
WARM_UP = 3

# Aims from the issue: p95 server time and its growth with history.
AIM_P95_MS = 50.0
AIM_RATIO = 1.5

Progress = Callable[[str], None]


class BenchError(Exception):
    """A request answered differently from what the benchmark expects; the figures would lie."""


@contextlib.contextmanager
def throwaway_database() -> Iterator[str]:
    """A fresh, migrated database beside the configured one, dropped afterwards.

    Django's test-database machinery builds it from the configured settings, so it is the same
    engine, options and server (a WAL SQLite file in the data dir, or a database on the
    PostgreSQL server of DATABASE_URL), and the configured database is never read or written.
    """
    db = connections[DEFAULT_DB_ALIAS]
    if db.vendor == "sqlite" and "memory" in str(db.settings_dict["NAME"]):
        # Making the new database closes this connection, and an in-memory database goes
        # with its last connection.
        raise BenchError("The configured database is in memory; use a file or PostgreSQL.")
    test_settings = db.settings_dict.setdefault("TEST", {})
    saved_test_name = test_settings.get("NAME")
    old_name = db.settings_dict["NAME"]
    if db.vendor == "sqlite":
        name = str(data_dir() / f"bench-floor-{os.getpid()}.sqlite3")
    else:
        name = f"vigil_bench_floor_{os.getpid()}"
    test_settings["NAME"] = name
    # Content types cached from the configured database would have other ids here.
    ContentType.objects.clear_cache()
    # Its audit chain is not the configured database's: its head file goes beside it, so the
    # real one (docs/audit.md) is never written for it.
    audit_head = data_dir() / f"bench-audit-head-{os.getpid()}.json"
    saved_audit_head = os.environ.get("VIGIL_AUDIT_HEAD")
    os.environ["VIGIL_AUDIT_HEAD"] = str(audit_head)
    try:
        db.creation.create_test_db(verbosity=0, autoclobber=True, serialize=False)
        yield name
    finally:
        if db.settings_dict["NAME"] != old_name:
            db.creation.destroy_test_db(old_name, verbosity=0)
        test_settings["NAME"] = saved_test_name
        ContentType.objects.clear_cache()
        from vigil.audit.log import head_writer

        head_writer.flush()
        if saved_audit_head is None:
            os.environ.pop("VIGIL_AUDIT_HEAD", None)
        else:
            os.environ["VIGIL_AUDIT_HEAD"] = saved_audit_head
        for head_file in (audit_head, audit_head.with_name(audit_head.name + ".lock")):
            with contextlib.suppress(FileNotFoundError):
                os.remove(head_file)
        if db.vendor == "sqlite":
            for leftover in (name, name + "-wal", name + "-shm"):
                with contextlib.suppress(FileNotFoundError):
                    os.remove(leftover)


@dataclass
class Bench:
    site: Site
    desk: Staff
    nurse: Staff
    now: datetime
    rng: random.Random
    check_in_place: Place
    check_in_pool: list[Participant] = field(default_factory=list)
    alias_queries: list[str] = field(default_factory=list)
    code_queries: list[str] = field(default_factory=list)
    people: list[Participant] = field(default_factory=list)
    taken_aliases: set[str] = field(default_factory=set)
    code_suffixes: dict[str, int] = field(default_factory=dict)


def _code_items(rng: random.Random) -> CodeItems:
    return CodeItems(
        mother_first_name="".join(rng.choice("ABCDEFGHIJKLMNOPRSTVWY") for _ in range(2)),
        birth_day=rng.randint(1, 28),
        birth_year=rng.randint(1958, 2006),
        gender=rng.choices("MWX", [68, 29, 3])[0],
        birthplace=rng.choice("ABCDEFGHKLMNOPRSTVW"),
    )


def _alias(bench: Bench) -> str:
    while True:
        alias = pronounceable_alias(bench.rng)
        if alias.lower() not in bench.taken_aliases:
            bench.taken_aliases.add(alias.lower())
            return alias


def add_participants(
    bench: Bench, count: int, registered_at: datetime
) -> list[tuple[Participant, str]]:
    """`count` new participants with real keyed code hashes (so look-up by code finds them),
    a second or third suffix where two people's codes collide, as the desk would record it."""
    rng = bench.rng
    made: list[tuple[Participant, str]] = []
    for _ in range(count):
        items = _code_items(rng)
        digest = registry.hash_for_items(items)
        suffix = bench.code_suffixes.get(digest, 0) + 1
        bench.code_suffixes[digest] = suffix
        person = Participant(
            jurisdiction_id=bench.site.jurisdiction_id,
            code_hash=digest,
            code_suffix=suffix,
            alias=_alias(bench),
            age_band=rng.choices(AgeBand.values, [2, 22, 33, 24, 14, 5])[0],
            gender=rng.choices(
                [Gender.MAN, Gender.WOMAN, Gender.TRANS_NONBINARY, ""], [64, 28, 4, 4]
            )[0],
            housing=rng.choices(Housing.values, [35, 25, 20, 15, 5])[0],
            oriented_at=registered_at,
            registered_at=registered_at,
            registered_site=bench.site,
        )
        made.append((person, items.code()))
    with transaction.atomic():
        Participant.objects.bulk_create([p for p, _code in made], batch_size=BATCH)
    bench.people.extend(p for p, _code in made)
    return made


def build_site(now: datetime, seed: int, days: int) -> Bench:
    """The site, its staff, the check-in pool and the floor as it is at `now`: no history."""
    rng = random.Random(seed)
    site = create_site(
        jurisdiction="Bench County",
        name="Bench site",
        time_zone="America/Vancouver",
        opens_at=OPENS_AT,
        closes_at=time_of_day(OPENS_AT.hour + OPEN_HOURS, 0),
    )
    for kind, spec in PLACES.items():
        add_places(site, kind, parse_labels(spec))
    staff = {}
    for username, role in (("bench-desk", Role.FRONT_DESK), ("bench-nurse", Role.NURSE)):
        # No password: the benchmark signs in with force_login, and hashing is not measured.
        member = Staff.objects.create_user(username=username, password=None, role=role)
        member.sites.set([site])
        staff[role] = member
    places = {p.label: p for p in site.places.all()}
    bench = Bench(
        site=site,
        desk=staff[Role.FRONT_DESK],
        nurse=staff[Role.NURSE],
        now=now,
        rng=rng,
        check_in_place=places[CHECK_IN_PLACE],
    )
    registered_at = now - timedelta(days=days + 1)
    pool = add_participants(bench, CHECK_IN_POOL, registered_at)
    bench.check_in_pool = [p for p, _code in pool]
    bench.alias_queries = [p.alias[:3] for p, _code in pool]
    bench.code_queries = [code for _p, code in pool]
    on_floor = [
        p
        for p, _code in add_participants(
            bench, len(OCCUPIED) + len(IN_AFTERCARE) + WAITING, registered_at
        )
    ]
    _seat_current_floor(bench, places, on_floor)
    return bench


def _seat_current_floor(bench: Bench, places: dict[str, Place], people: list[Participant]) -> None:
    """Through the same actions staff use, each step at its own time before `now`."""
    rng, now, site = bench.rng, bench.now, bench.site
    people = list(people)
    for label in OCCUPIED + IN_AFTERCARE:
        place = places[label]
        person = people.pop()
        seated_ago = rng.randint(1, 24)
        with clock.frozen(now - timedelta(minutes=seated_ago + 3)):
            visit = actions.check_in(
                site=site,
                participant=person,
                intake=random_intake(rng, smoke=place.kind == PlaceKind.INHALATION),
                by=bench.desk,
            )
        seated = now - timedelta(minutes=seated_ago)
        if place.kind == PlaceKind.AFTERCARE:
            # The booth they used is the one kept free for the timed check-ins.
            with clock.frozen(seated - timedelta(minutes=rng.randint(8, 20))):
                actions.assign_place(visit=visit, place=bench.check_in_place, by=bench.nurse)
            with clock.frozen(seated):
                occupancy = actions.move_to_aftercare(visit=visit, seat=place, by=bench.nurse)
        else:
            with clock.frozen(seated):
                occupancy = actions.assign_place(visit=visit, place=place, by=bench.nurse)
        if rng.random() < 0.8:
            with clock.frozen(now - timedelta(minutes=rng.randint(0, min(seated_ago, 7)))):
                actions.record_check(
                    occupancy=occupancy,
                    result=CheckResult.CONCERNED if rng.random() < 0.1 else CheckResult.OK,
                    by=bench.nurse,
                )
    # An alarm someone has acknowledged and is walking over to, so the alarm panel shows one.
    booth = places[OCCUPIED[4]]
    visit = Visit.objects.exclude(status=VisitStatus.ENDED).get(occupancies__place=booth)
    raised = now - timedelta(seconds=40)
    alarm, _created = monitoring.raise_alarm(
        place=booth, kind=Condition.SPO2_LOW, at=raised, visit_id=visit.pk
    )
    with clock.frozen(raised + timedelta(seconds=10)):
        monitoring.acknowledge(alarm, by=bench.nurse)
    for n in range(WAITING):
        with clock.frozen(now - timedelta(minutes=WAITING - n)):
            actions.check_in(
                site=site, participant=people.pop(), intake=random_intake(rng, False), by=bench.desk
            )


@dataclass
class _Stay:
    place: Place
    started_at: datetime
    ended_at: datetime
    interval: timedelta


def seed_history(
    bench: Bench, *, days: int, visits_per_day: int, participants: int, progress: Progress
) -> dict[str, int]:
    """`days` days before today of `visits_per_day` ended visits, with their occupancies and
    checks, by a registry of `participants` people where a few regulars make most visits.

    Bulk inserts, not the actions: the actions are what is measured, and replaying them would
    take hours. The rows are the ones the actions would leave behind."""
    rng, site, now = bench.rng, bench.site, bench.now
    tz = site.tz
    first_day = now.astimezone(tz).date() - timedelta(days=days)
    registered_at = datetime.combine(first_day, time_of_day(0, 0), tzinfo=tz)
    more = max(participants - len(bench.people), 0)
    if more:
        progress(f"registering {more} more participants")
        add_participants(bench, more, registered_at)
    # Heavy-tailed: most people come now and then, a few every day. The busiest regular is in
    # the check-in pool so the timed check-ins include the longest personal history.
    weights = [min(rng.paretovariate(1.2), REGULAR_CAP) for _ in bench.people]
    busiest = bench.people.index(bench.check_in_pool[0])
    weights[busiest] = REGULAR_CAP
    cumulative = list(_accumulate(weights))
    pool_ids = {p.pk for p in bench.check_in_pool}
    places = list(site.places.order_by("position"))
    use_places = [p for p in places if p.kind != PlaceKind.AFTERCARE]
    seats = [p for p in places if p.kind == PlaceKind.AFTERCARE]
    use_interval = timedelta(minutes=site.check_interval_place_minutes)
    aftercare_interval = timedelta(minutes=site.check_interval_aftercare_minutes)
    counts = {"visits": 0, "occupancies": 0, "checks": 0, "restrictions": 0, "alarms": 0}
    began = time.perf_counter()
    for chunk_start in range(0, days, DAYS_PER_CHUNK):
        visits: list[Visit] = []
        stays: list[list[_Stay]] = []
        restrictions: list[Restriction] = []
        alarms: list[tuple[int, Alarm]] = []
        for offset in range(chunk_start, min(chunk_start + DAYS_PER_CHUNK, days)):
            opens = datetime.combine(first_day + timedelta(days=offset), OPENS_AT, tzinfo=tz)
            starts = sorted(rng.uniform(0, OPEN_HOURS * 60) for _ in range(visits_per_day))
            who = rng.choices(bench.people, cum_weights=cumulative, k=visits_per_day)
            for minute, person in zip(starts, who, strict=True):
                checked_in = opens + timedelta(minutes=minute)
                visit, plan = _past_visit(
                    rng, site, bench.desk, person, checked_in, use_places, seats
                )
                visit_stays = [
                    _Stay(
                        place,
                        start,
                        end,
                        aftercare_interval if place.is_aftercare else use_interval,
                    )
                    for place, start, end in plan
                ]
                visits.append(visit)
                stays.append(visit_stays)
                if rng.random() < ALARMS_PER_VISIT:
                    alarms.append((len(visits) - 1, _past_alarm(rng, bench, plan[0])))
                if person.pk not in pool_ids and rng.random() < 1 / 1500:
                    restrictions.append(_past_restriction(rng, bench, person, plan[-1][2]))
        with transaction.atomic():
            Visit.objects.bulk_create(visits, batch_size=BATCH)
            occupancies = []
            for visit, visit_stays in zip(visits, stays, strict=True):
                for stay in visit_stays:
                    occupancies.append(
                        Occupancy(
                            visit_id=visit.pk,
                            place=stay.place,
                            started_at=stay.started_at,
                            ended_at=stay.ended_at,
                        )
                    )
            checks = []
            for occupancy, stay in zip(occupancies, (s for v in stays for s in v), strict=True):
                at = stay.started_at + stay.interval
                while at < stay.ended_at:
                    result = CheckResult.CONCERNED if rng.random() < 0.01 else CheckResult.OK
                    checked_at = min(at + timedelta(seconds=rng.randint(-40, 50)), stay.ended_at)
                    checks.append((occupancy, checked_at, result))
                    occupancy.last_check_at, occupancy.last_check_result = checked_at, result
                    at += stay.interval
            Occupancy.objects.bulk_create(occupancies, batch_size=BATCH)
            Check.objects.bulk_create(
                [
                    Check(occupancy_id=o.pk, checked_at=at, checked_by=bench.nurse, result=r)
                    for o, at, r in checks
                ],
                batch_size=BATCH,
            )
            Restriction.objects.bulk_create(restrictions, batch_size=BATCH)
            for index, alarm in alarms:
                alarm.visit_id = visits[index].pk
            Alarm.objects.bulk_create([a for _i, a in alarms], batch_size=BATCH)
            AlarmEvent.objects.bulk_create(
                [event for _i, a in alarms for event in _alarm_events(a)], batch_size=BATCH
            )
        counts["visits"] += len(visits)
        counts["occupancies"] += len(occupancies)
        counts["checks"] += len(checks)
        counts["restrictions"] += len(restrictions)
        counts["alarms"] += len(alarms)
        done = min(chunk_start + DAYS_PER_CHUNK, days)
        if done % 100 < DAYS_PER_CHUNK or done == days:
            progress(
                f"  {done}/{days} days, {counts['visits']} visits "
                f"({time.perf_counter() - began:.0f} s)"
            )
    return counts


def _accumulate(weights: list[float]) -> Iterator[float]:
    total = 0.0
    for w in weights:
        total += w
        yield total


def _past_visit(
    rng: random.Random,
    site: Site,
    desk: Staff,
    person: Participant,
    checked_in: datetime,
    use_places: list[Place],
    seats: list[Place],
) -> tuple[Visit, list[tuple[Place, datetime, datetime]]]:
    place = rng.choice(use_places)
    intake = random_intake(rng, smoke=place.kind == PlaceKind.INHALATION)
    seated = checked_in + timedelta(minutes=rng.choice([0, 0, 0, 2, 5, 9]))
    left_place = seated + timedelta(minutes=rng.randint(8, 26))
    plan = [(place, seated, left_place)]
    if rng.random() < 0.8:
        left = left_place + timedelta(minutes=rng.randint(5, 25))
        plan.append((rng.choice(seats), left_place, left))
        reason = EndReason.COMPLETED
    else:
        left = left_place
        reason = rng.choices(
            [EndReason.LEFT_EARLY, EndReason.OTHER, EndReason.EMS, EndReason.ASKED_TO_LEAVE],
            [85, 10, 2, 3],
        )[0]
    visit = Visit(
        site=site,
        participant=person,
        checked_in_at=checked_in,
        checked_in_by=desk,
        substances=intake.substances,
        route=intake.route,
        otherwise_location=intake.otherwise_location,
        otherwise_alone=intake.otherwise_alone,
        drug_checked=intake.drug_checked,
        status=VisitStatus.ENDED,
        ended_at=left,
        end_reason=reason,
    )
    return visit, plan


def _past_alarm(rng: random.Random, bench: Bench, stay: tuple[Place, datetime, datetime]) -> Alarm:
    """A closed alarm: medium and low ones mostly cleared by themselves, the rest
    acknowledged, claimed and resolved by the nurse within minutes."""
    place, seated, left = stay
    kind = rng.choices(list(ALARM_KINDS), weights=list(ALARM_KINDS.values()))[0]
    priority = PRIORITY[kind]
    raised = seated + (left - seated) * rng.random()
    alarm = Alarm(
        site=bench.site,
        place=place,
        kind=kind,
        priority=priority,
        raised_at=raised,
        first_abnormal_at=raised - timedelta(seconds=rng.randint(5, 30)),
        condition_active=False,
    )
    if priority != Priority.HIGH and rng.random() < 0.5:
        alarm.state, alarm.cleared_at = (
            State.CLEARED,
            raised + timedelta(seconds=rng.randint(5, 60)),
        )
        return alarm
    alarm.acknowledged_at = raised + timedelta(seconds=rng.randint(3, 20))
    alarm.claimed_at = alarm.acknowledged_at + timedelta(seconds=rng.randint(0, 20))
    alarm.resolved_at = alarm.claimed_at + timedelta(seconds=rng.randint(30, 600))
    alarm.acknowledged_by = alarm.claimed_by = alarm.resolved_by = bench.nurse
    alarm.state = State.RESOLVED
    alarm.outcome = rng.choices(list(ALARM_OUTCOMES), weights=list(ALARM_OUTCOMES.values()))[0]
    return alarm


def _alarm_events(alarm: Alarm) -> list[AlarmEvent]:
    steps: list[tuple[str, datetime | None, Staff | None]] = [("raised", alarm.raised_at, None)]
    if alarm.state == State.CLEARED:
        steps.append(("cleared", alarm.cleared_at, None))
    else:
        by = alarm.resolved_by
        steps += [
            ("acknowledged", alarm.acknowledged_at, by),
            ("claimed", alarm.claimed_at, by),
            ("resolved", alarm.resolved_at, by),
        ]
    return [
        AlarmEvent(alarm_id=alarm.pk, at=at, kind=kind, by=by)
        for kind, at, by in steps
        if at is not None
    ]


def _past_restriction(
    rng: random.Random, bench: Bench, person: Participant, starts_at: datetime
) -> Restriction:
    hours = rng.choice([24, 24, 72, 168, 720])
    return Restriction(
        participant=person,
        site=bench.site if rng.random() < 0.7 else None,
        reason=rng.choice(RestrictionReason.values),
        starts_at=starts_at,
        ends_at=starts_at + timedelta(hours=hours),
        created_by=bench.nurse,
    )


def _percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile: a value that was actually measured, defined for any count."""
    rank = max(math.ceil(q * len(sorted_values)), 1)
    return sorted_values[rank - 1]


def _expect(response: HttpResponseBase, status: int, what: str) -> None:
    if response.status_code != status:
        raise BenchError(f"{what}: expected HTTP {status}, got {response.status_code}")


def _measure(
    samples: int,
    request: Callable[[int], HttpResponseBase],
    status: int,
    what: str,
    after: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    """Warm-up requests count the queries (CaptureQueriesContext's own bookkeeping, which on
    SQLite runs an extra query per query to quote the parameters, stays out of the timings);
    then `samples` timed requests, each from the call to the full response."""
    counts = []
    for i in range(WARM_UP):
        with CaptureQueriesContext(connection) as captured:
            response = request(i)
        _expect(response, status, what)
        counts.append(len(captured.captured_queries))
        if after:
            after(i)
    seconds = []
    for i in range(WARM_UP, WARM_UP + samples):
        began = time.perf_counter()
        response = request(i)
        seconds.append(time.perf_counter() - began)
        _expect(response, status, what)
        if after:
            after(i)
    seconds.sort()
    return {
        "p50_ms": round(_percentile(seconds, 0.50) * 1000, 2),
        "p95_ms": round(_percentile(seconds, 0.95) * 1000, 2),
        "queries": max(counts),
    }


def measure_pages(bench: Bench, samples: int) -> dict[str, dict[str, Any]]:
    """The board, a check-in and two look-ups, each as the signed-in role that uses it."""
    site = bench.site
    nurse, desk = Client(), Client()
    # Signed in as after password and code (the sign-in itself is not what is measured).
    force_verified_login(nurse, bench.nurse)
    force_verified_login(desk, bench.desk)
    board_url = reverse("floor:board", args=[site.pk])
    desk_url = reverse("floor:desk", args=[site.pk])
    pool = bench.check_in_pool

    def check_in(i: int) -> HttpResponseBase:
        person = pool[i % len(pool)]
        return desk.post(
            reverse("floor:intake", args=[site.pk, person.pk]),
            {
                "substances": ["fentanyl", "xylazine"],
                "route": Route.INJECT,
                "otherwise_location": OtherwiseLocation.PUBLIC,
                "otherwise_alone": "yes",
                "drug_checked": "on",
                "place": str(bench.check_in_place.pk),
            },
        )

    def leave(i: int) -> None:
        # Untimed: the person leaves so the booth and the person are free for the next one.
        visit = Visit.objects.exclude(status=VisitStatus.ENDED).get(participant=pool[i % len(pool)])
        if visit.status != VisitStatus.IN_PLACE:
            raise BenchError(f"check-in: went to {visit.status}, not to {CHECK_IN_PLACE}")
        actions.end_visit(visit=visit, reason=EndReason.COMPLETED, by=bench.nurse)
        # A browser follows the redirect to the desk, which shows and clears the message;
        # left in the cookie, messages would pile up and spill into the session.
        desk.cookies.pop("messages", None)

    def lookup(queries: list[str]) -> Callable[[int], HttpResponseBase]:
        # As the desk's search box asks while staff type: an htmx request for the results.
        return lambda i: desk.get(
            desk_url, {"q": queries[i % len(queries)]}, HTTP_HX_REQUEST="true"
        )

    def found(queries: list[str]) -> dict[str, float]:
        # More people share a three-letter prefix in a bigger registry, and each one found
        # is a row to render: the look-up ratio is read with this beside it.
        per_query = [len(registry.find(site.jurisdiction, q)) for q in queries]
        return {"found": round(sum(per_query) / len(per_query), 1)}

    return {
        "board": _measure(samples, lambda i: nurse.get(board_url), 200, "board"),
        "check_in": _measure(samples, check_in, 302, "check-in", after=leave),
        "lookup_alias": _measure(samples, lookup(bench.alias_queries), 200, "look-up by alias")
        | found(bench.alias_queries),
        "lookup_code": _measure(samples, lookup(bench.code_queries), 200, "look-up by code")
        | found(bench.code_queries),
    }


def connect_ms(times: int = 20) -> float:
    """Median time to open a database connection. Production settings close the connection
    after every request (conn_max_age=0), so a real request pays this too; the test client
    keeps one connection open, so the page figures do not include it."""
    seconds = []
    for _ in range(times):
        connection.close()
        began = time.perf_counter()
        connection.ensure_connection()
        seconds.append(time.perf_counter() - began)
    seconds.sort()
    return round(_percentile(seconds, 0.5) * 1000, 2)


def _after_bulk_load() -> None:
    """PostgreSQL's autovacuum would vacuum and analyse tables that grew this much within a
    minute; do it now so the planner sees the history it would see in service. SQLite has no
    such thing and Vigil never runs ANALYZE on it, so it is measured as it would run."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("VACUUM ANALYZE")


def _database_version() -> str:
    if connection.vendor == "sqlite":
        return sqlite3.sqlite_version
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        return str(cursor.fetchone()[0])


def machine() -> dict[str, Any]:
    info: dict[str, Any] = {"cpus": os.cpu_count(), "python": platform.python_version()}
    with contextlib.suppress(OSError):
        with open("/proc/cpuinfo") as cpuinfo:
            for line in cpuinfo:
                if line.startswith("model name"):
                    info["cpu_model"] = line.split(":", 1)[1].strip()
                    break
    with contextlib.suppress(OSError):
        with open("/proc/meminfo") as meminfo:
            for line in meminfo:
                if line.startswith("MemTotal:"):
                    info["ram_gib"] = round(int(line.split()[1]) / 1024**2, 1)
                    break
    return info


def _row_counts() -> dict[str, int]:
    return {
        "participants": Participant.objects.count(),
        "visits": Visit.objects.count(),
        "occupancies": Occupancy.objects.count(),
        "checks": Check.objects.count(),
        "restrictions": Restriction.objects.count(),
        "alarms": Alarm.objects.count(),
    }


def run(
    *,
    days: int,
    visits_per_day: int,
    participants: int,
    samples: int,
    seed: int,
    progress: Progress,
) -> dict[str, Any]:
    """The whole benchmark in a throw-away database; returns the figures as plain data."""
    with throwaway_database() as name:
        progress(f"throw-away {connection.vendor} database {name}")
        # The test client's host; real hosts stay as configured.
        with override_settings(ALLOWED_HOSTS=[*settings.ALLOWED_HOSTS, "testserver"]):
            return _run(days, visits_per_day, participants, samples, seed, progress)


def _run(
    days: int, visits_per_day: int, participants: int, samples: int, seed: int, progress: Progress
) -> dict[str, Any]:
    # Other work on the machine shows in the timings; the load average says how much there was.
    load = {"before_empty": _load()}
    now = clock.now().replace(microsecond=0)
    bench = build_site(now, seed, days)
    # The board is drawn at a fixed moment in both runs, so both show the same colours.
    with clock.frozen(now):
        progress(f"empty history: measuring {samples} requests per page")
        empty = measure_pages(bench, samples)
        progress(f"seeding {days} days x {visits_per_day} visits")
        began = time.perf_counter()
        seed_history(
            bench,
            days=days,
            visits_per_day=visits_per_day,
            participants=participants,
            progress=progress,
        )
        _after_bulk_load()
        seed_seconds = time.perf_counter() - began
        progress(f"history: measuring {samples} requests per page")
        load["before_history"] = _load()
        history = measure_pages(bench, samples)
        load["end"] = _load()
    ratio = {page: _ratio(history[page]["p95_ms"], empty[page]["p95_ms"]) for page in empty}
    met = {
        page: history[page]["p95_ms"] <= AIM_P95_MS
        and (ratio[page] or float("inf")) <= AIM_RATIO
        and history[page]["queries"] <= empty[page]["queries"]
        for page in empty
    }
    return {
        "database": connection.vendor,
        "database_version": _database_version(),
        "history_days": days,
        "visits_per_day": visits_per_day,
        "history_visits": days * visits_per_day,
        "rows": _row_counts(),
        "seed_seconds": round(seed_seconds, 1),
        "samples": samples,
        "empty": empty,
        "history": history,
        "ratio_p95": ratio,
        # Steadier than p95 when other work shares the machine.
        "ratio_p50": {p: _ratio(history[p]["p50_ms"], empty[p]["p50_ms"]) for p in empty},
        "queries_grow": any(history[p]["queries"] > empty[p]["queries"] for p in empty),
        "connect_ms": connect_ms(),
        "aims": {"p95_ms": AIM_P95_MS, "ratio_p95": AIM_RATIO, "met": met},
        "machine": machine() | {"load_1m": load},
    }


def _ratio(history_ms: float, empty_ms: float) -> float | None:
    return round(history_ms / empty_ms, 2) if empty_ms else None


def _load() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:
        return None
