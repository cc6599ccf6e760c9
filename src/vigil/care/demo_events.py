"""Overdose and medical events for the demo, made through the same actions staff use, on visits
the demo history already has. No real person is described here.

About one visit in a hundred has an event (Insite 2016: 1,781 interventions in 214,898
visits; OnPoint NYC's first year: 636 in 48,533). Most people recover on site after oxygen and
stimulation, about half get naloxone, EMS is called for a few, and nobody dies.
"""

import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from vigil.accounts.models import Staff
from vigil.accounts.roles import Role
from vigil.care.event_actions import RowEdit, change_event, open_event
from vigil.care.models import EventKind, EventOutcome, InterventionKind, NaloxoneRoute, Sign
from vigil.floor.models import EndReason, Visit, VisitStatus
from vigil.lib import clock
from vigil.monitoring import actions as alarms
from vigil.monitoring.alarms import Outcome
from vigil.monitoring.rules import Condition
from vigil.sites.models import PlaceKind

RATE = 0.012
ALARM_KINDS = [Condition.NO_BREATH, Condition.RESP_LOW, Condition.SPO2_CRITICAL, Condition.APNEA]


def seed_events(sites, now: datetime, rng: random.Random) -> int:
    """Add events to the ended visits of `sites` (older than two hours). Returns how many."""
    plans = []
    for site in sites:
        nurse = Staff.objects.filter(sites=site, role=Role.NURSE).order_by("pk").first()
        if nurse is None:
            continue
        others = list(Staff.objects.filter(sites=site, role__in=[Role.FRONT_DESK, Role.NURSE]))
        visits = (
            Visit.objects.filter(
                site=site, status=VisitStatus.ENDED, ended_at__lt=now - timedelta(hours=2)
            )
            .prefetch_related("occupancies__place")
            .order_by("checked_in_at", "pk")
        )
        for visit in visits:
            if rng.random() < RATE:
                plan = _plan(site, visit, nurse, others, rng)
                if plan is not None:
                    plans.append(plan)
    plans.sort(key=lambda p: p.values["started_at"])
    # One was worked on paper while the system was down and typed in the next morning.
    late = plans[len(plans) // 3] if len(plans) >= 3 else None
    events = []
    for plan in plans:
        if plan is late:
            written = plan.values["started_at"] + timedelta(hours=17, minutes=rng.randint(0, 50))
            with clock.frozen(written):
                event = open_event(
                    site=plan.site,
                    by=plan.nurse,
                    values=plan.values,
                    rows=plan.rows,
                    visit=plan.visit,
                    entered_late=True,
                )
        else:
            alarm = _alarm(plan, rng) if plan.alarmed else None
            with clock.frozen(plan.written):
                event = open_event(
                    site=plan.site,
                    by=plan.nurse,
                    values=plan.values,
                    rows=plan.rows,
                    alarm=alarm,
                    visit=plan.visit,
                )
        events.append((event, plan))
    _sign_and_amend(events, rng)
    return len(events)


@dataclass
class Plan:
    site: object
    visit: Visit
    nurse: Staff
    place: object
    values: dict
    rows: list[RowEdit]
    written: datetime
    alarmed: bool


def _use_occupancy(visit: Visit):
    for occupancy in sorted(visit.occupancies.all(), key=lambda o: o.started_at):
        if occupancy.place.kind != PlaceKind.AFTERCARE:
            return occupancy
    return None


def _plan(site, visit: Visit, nurse, others, rng: random.Random) -> Plan | None:
    occupancy = _use_occupancy(visit)
    if occupancy is None or occupancy.ended_at is None:
        return None
    room = (occupancy.ended_at - occupancy.started_at).total_seconds() / 60
    start = occupancy.started_at + timedelta(minutes=rng.uniform(1, max(1.5, min(room - 1, 12))))
    start = start.replace(second=0, microsecond=0)
    overdose = rng.random() < 0.9
    t = start
    rows: list[RowEdit] = []

    def step(kind, after: float, **amounts) -> None:
        nonlocal t
        t += timedelta(minutes=after)
        rows.append(RowEdit(key=f"n{len(rows)}", changes={"kind": kind, "at": t, **amounts}))

    if overdose:
        signs = [Sign.UNRESPONSIVE] if rng.random() < 0.8 else []
        signs.append(Sign.NO_BREATHING if rng.random() < 0.3 else Sign.SLOW_BREATHING)
        signs += [
            s for s, p in ((Sign.CYANOSIS, 0.4), (Sign.PINPOINT_PUPILS, 0.5)) if rng.random() < p
        ]
        if rng.random() < 0.9:
            step(InterventionKind.STIMULATION, rng.choice([0, 0, 1]))
        if rng.random() < 0.7:
            step(InterventionKind.OXYGEN, 1, litres_per_minute=Decimal(rng.choice([10, 10, 15])))
        if Sign.NO_BREATHING in signs or rng.random() < 0.15:
            step(InterventionKind.RESCUE_BREATHING, 1)
        if rng.random() < 0.55:
            intranasal = rng.random() < 0.3
            for _dose in range(rng.choices([1, 2, 3], [60, 30, 10])[0]):
                step(
                    InterventionKind.NALOXONE,
                    rng.choice([1, 2, 3]),
                    dose_mg=Decimal("4" if intranasal else "0.4"),
                    route=NaloxoneRoute.IN if intranasal else NaloxoneRoute.IM,
                )
    else:
        signs = [rng.choice([Sign.SEIZURE, Sign.OTHER])]
        step(InterventionKind.OXYGEN, 1, litres_per_minute=Decimal(10))

    values: dict = {
        "kind": EventKind.OVERDOSE if overdose else EventKind.OTHER_MEDICAL,
        "started_at": start,
        "place": occupancy.place,
        "signs": [s.value for s in signs],
        "staff_involved": sorted({nurse, rng.choice(others)}, key=lambda s: s.pk),
    }
    if visit.end_reason in (EndReason.OTHER, EndReason.LEFT_EARLY) and rng.random() < 0.35:
        values["ems_called_at"] = t + timedelta(minutes=1)
        values["ems_arrived_at"] = t + timedelta(minutes=rng.randint(6, 14))
        values["transported_at"] = values["ems_arrived_at"] + timedelta(minutes=rng.randint(8, 15))
        values["outcome"] = EventOutcome.TRANSPORTED
        t = values["transported_at"]
    elif visit.end_reason == EndReason.LEFT_EARLY and rng.random() < 0.2:
        values["outcome"] = EventOutcome.LEFT
    else:
        values["outcome"] = EventOutcome.RECOVERED
        values["minutes_to_recovery"] = max(
            1, int((t - start).total_seconds() // 60) + rng.randint(2, 12)
        )

    return Plan(
        site=site,
        visit=visit,
        nurse=nurse,
        place=occupancy.place,
        values=values,
        rows=rows,
        written=t + timedelta(minutes=rng.randint(5, 25)),
        alarmed=overdose and rng.random() < 0.4,
    )


def _alarm(plan: Plan, rng: random.Random):
    """The alarm that called staff to it, raised, claimed and resolved as an overdose."""
    start = plan.values["started_at"]
    raised_at = start + timedelta(seconds=rng.randint(15, 40))
    alarm, _created = alarms.raise_alarm(
        place=plan.place,
        kind=rng.choice(ALARM_KINDS),
        at=raised_at,
        first_abnormal_at=start + timedelta(seconds=rng.randint(0, 10)),
        visit_id=plan.visit.pk,
    )
    with clock.frozen(raised_at + timedelta(seconds=rng.randint(4, 25))):
        alarms.claim(alarm, plan.nurse)
    with clock.frozen(raised_at + timedelta(minutes=rng.randint(3, 9))):
        alarms.resolve(alarm, Outcome.OVERDOSE, plan.nurse)
    return alarm


def _sign_and_amend(events, rng: random.Random) -> None:
    """Sign the records off (the newest still waits for its sign-off); one is corrected after
    sign-off, so the demo shows an earlier version."""
    for event, plan in events[:-1]:
        with clock.frozen(event.created_at + timedelta(minutes=rng.randint(10, 50))):
            change_event(event, by=plan.nurse, changes={}, sign=True)
    recovered = [
        (event, plan)
        for event, plan in events[:-1]
        if event.outcome == EventOutcome.RECOVERED and event.minutes_to_recovery
    ]
    if recovered:
        event, plan = recovered[len(recovered) // 2]
        event.refresh_from_db()
        manager = Staff.objects.filter(sites=plan.site, role=Role.SITE_MANAGER).first()
        with clock.frozen(event.signed_off_at + timedelta(days=1)):
            change_event(
                event,
                by=manager or plan.nurse,
                changes={"minutes_to_recovery": event.minutes_to_recovery + 4},
                reason="Recovery time corrected from the aftercare sheet",
            )
