"""A small world of hand-made records whose figures are worked out by hand in the tests.

Site time zone America/Los_Angeles; the study period is 1 January to 30 June 2026, read on
1 July 2026 (local midnight), so the data end at the end of 30 June.

| person | profile                         | visits (local)                                   |
|--------|---------------------------------|--------------------------------------------------|
| P1     | 30-39, man, unsheltered         | 2025-12-15 (before the period), 01-05, 02-10     |
| P2     | 30-39, woman, shelter           | 01-03 10:00, 01-03 15:00, 01-20, 03-01           |
| P3     | 20-29, man, housing not given   | 01-10                                            |
| P4     | age not given, man, unsheltered | 02-01 09:00, 04-15                               |
| P5     | 40-49, trans/non-binary, housed | 03-20, 03-25                                     |
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

from vigil.care.models import (
    EventKind,
    Intervention,
    InterventionKind,
    MedicalEvent,
    Referral,
    ReferralStep,
)
from vigil.floor.models import Visit, VisitStatus
from vigil.monitoring.models import Alarm
from vigil.research.records.scope import Scope
from vigil.testing import SiteFactory, StaffFactory, participant

TZ = ZoneInfo("America/Los_Angeles")
NOW = datetime(2026, 7, 1, 0, 0, tzinfo=TZ)


def at(text: str) -> datetime:
    """A local time: '2026-01-03 10:00' or '2026-01-03' (noon)."""
    if " " not in text:
        text += " 12:00"
    return datetime.fromisoformat(text).replace(tzinfo=TZ)


@dataclass
class World:
    site: object
    people: dict[str, object]
    staff: object

    def scope(self, first: date = date(2026, 1, 1), last: date = date(2026, 6, 30)) -> Scope:
        site = self.site
        return Scope(
            label=site.name,
            kind="site",
            site_ids=(site.pk,),
            site_names=(site.name,),
            time_zone="America/Los_Angeles",
            first_day=first,
            last_day=last,
            now=NOW,
        )


VISITS = {
    "P1": ["2025-12-15", "2026-01-05", "2026-02-10"],
    "P2": ["2026-01-03 10:00", "2026-01-03 15:00", "2026-01-20", "2026-03-01"],
    "P3": ["2026-01-10 10:00"],
    "P4": ["2026-02-01 09:00", "2026-04-15"],
    "P5": ["2026-03-20 10:00", "2026-03-25"],
}
PROFILES = {
    "P1": {"age_band": "30-39", "gender": "man", "housing": "unsheltered"},
    "P2": {"age_band": "30-39", "gender": "woman", "housing": "shelter"},
    "P3": {"age_band": "20-29", "gender": "man"},
    "P4": {"gender": "man", "housing": "unsheltered"},
    "P5": {"age_band": "40-49", "gender": "trans_nonbinary", "housing": "housed"},
}


def visit(site, person, when: datetime) -> Visit:
    return Visit.objects.create(
        site=site,
        participant=person,
        checked_in_at=when,
        route="inject",
        otherwise_location="public",
        status=VisitStatus.ENDED,
        ended_at=when + timedelta(minutes=30),
        end_reason="completed",
    )


def build_visits() -> World:
    site = SiteFactory(time_zone="America/Los_Angeles")
    staff = StaffFactory(role="nurse", sites=[site])
    people = {}
    for name, times in VISITS.items():
        people[name] = participant(site, alias=name, **PROFILES[name])
        for t in times:
            visit(site, people[name], at(t))
    return World(site=site, people=people, staff=staff)


def overdose(world: World, who: str, when: str, **fields) -> MedicalEvent:
    kind = fields.pop("kind", EventKind.OVERDOSE)
    return MedicalEvent.objects.create(
        site=world.site,
        participant=world.people[who],
        kind=kind,
        started_at=at(when),
        created_by=world.staff,
        **fields,
    )


def naloxone(world: World, event: MedicalEvent, minutes: int, removed: bool = False) -> None:
    Intervention.objects.create(
        event=event,
        kind=InterventionKind.NALOXONE,
        at=event.started_at + timedelta(minutes=minutes),
        dose_mg="0.4",
        route="IM",
        by=world.staff,
        removed_at=event.started_at + timedelta(minutes=minutes + 5) if removed else None,
    )


def alarm(world: World, kind: str, priority: str, raised: str, ack=None, claim=None) -> Alarm:
    raised_at = at(raised)
    return Alarm.objects.create(
        site=world.site,
        place=world.site.places.first(),
        kind=kind,
        priority=priority,
        state="resolved",
        condition_active=False,
        raised_at=raised_at,
        acknowledged_at=None if ack is None else raised_at + timedelta(seconds=ack),
        claimed_at=None if claim is None else raised_at + timedelta(seconds=claim),
    )


def referral(world: World, who: str, kind: str, steps: list[tuple[str, str]], **fields):
    first = at(steps[0][1])
    stamps = {
        "accepted": "accepted_at",
        "attended": "attended_at",
        "entered_treatment": "entered_treatment_at",
        "declined": "closed_at",
        "lost": "closed_at",
    }
    values = {stamps[s]: at(t) for s, t in steps[1:] if s in stamps}
    made = Referral.objects.create(
        site=world.site,
        participant=world.people[who],
        kind=kind,
        where="off_site",
        status=steps[-1][0],
        referred_at=first,
        referred_by=world.staff,
        **values,
        **fields,
    )
    for status, t in steps:
        ReferralStep.objects.create(referral=made, status=status, at=at(t), by=world.staff)
    return made


def build_busy(seed: int = 7, people: int = 60) -> World:
    """A busier synthetic site (first half of 2026) so that figures clear the small-count rule:
    `people` participants with 1 to 12 visits each, an overdose on every eighth visit (every
    other one with naloxone), a treatment referral for every third person (every second of
    them entering treatment), and an alarm for every overdose."""
    import random

    rng = random.Random(seed)
    site = SiteFactory(time_zone="America/Los_Angeles")
    staff = StaffFactory(role="nurse", sites=[site])
    world = World(site=site, people={}, staff=staff)
    ages = ["<20", "20-29", "30-39", "40-49", "50-59", "60+"]
    for i in range(people):
        name = f"Busy{i}"
        person = participant(
            site,
            alias=name,
            age_band=rng.choice(ages),
            gender=rng.choice(["man", "man", "woman"]),
            housing=rng.choice(["unsheltered", "shelter", "housed"]),
        )
        world.people[name] = person
        first = datetime(2026, 1, 2, 10, 0, tzinfo=TZ) + timedelta(
            days=rng.randint(0, 120), minutes=rng.randint(0, 300)
        )
        times = [first]
        for _ in range(rng.randint(0, 11)):
            times.append(times[-1] + timedelta(days=rng.randint(1, 12), minutes=rng.randint(0, 60)))
        for n, t in enumerate(times):
            if t >= NOW:
                break
            visit(site, person, t)
            if (i * 13 + n) % 8 == 0:
                event = MedicalEvent.objects.create(
                    site=site,
                    participant=person,
                    kind=EventKind.OVERDOSE,
                    started_at=t + timedelta(minutes=10),
                    created_by=staff,
                    outcome="recovered_on_site",
                )
                if n % 2 == 0:
                    naloxone(world, event, 2)
                alarm(
                    world,
                    "apnea",
                    "high",
                    (t + timedelta(minutes=9)).astimezone(TZ).strftime("%Y-%m-%d %H:%M"),
                    ack=rng.randint(5, 40),
                    claim=rng.randint(20, 90),
                )
        if i % 3 == 0:
            start = first + timedelta(days=rng.randint(0, 40))
            steps = [("referred", start.astimezone(TZ).strftime("%Y-%m-%d %H:%M"))]
            if i % 2 == 0:
                steps.append(
                    (
                        "entered_treatment",
                        (start + timedelta(days=rng.randint(0, 20)))
                        .astimezone(TZ)
                        .strftime("%Y-%m-%d %H:%M"),
                    )
                )
            referral(world, name, rng.choice(["detox", "buprenorphine", "methadone"]), steps)
    return world
