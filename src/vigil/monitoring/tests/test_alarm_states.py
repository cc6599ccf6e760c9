"""Every transition of the alarm state table in docs/alarm-states.md."""

from datetime import UTC, datetime, timedelta

import pytest

from vigil.monitoring.alarms import (
    AlarmError,
    AlarmState,
    Outcome,
    State,
    Step,
    Timers,
    acknowledge,
    claim,
    condition_cleared,
    condition_returned,
    due_steps,
    next_deadline,
    resolve,
    sounding,
    take_step,
)
from vigil.monitoring.rules import Priority

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def s(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def alarm(priority=Priority.HIGH) -> AlarmState:
    return AlarmState(priority=priority, raised_at=T0)


def test_acknowledge_silences_and_keeps_it_open():
    a = alarm()
    assert sounding(a, s(1))
    acknowledge(a, s(5))
    assert (a.state, a.acknowledged_at, a.is_open) == (State.ACKNOWLEDGED, s(5), True)
    assert not sounding(a, s(6))


def test_claim_implies_acknowledge_and_names_time():
    a = alarm()
    claim(a, s(3))
    assert (a.state, a.acknowledged_at, a.claimed_at) == (State.CLAIMED, s(3), s(3))


def test_claim_after_acknowledge_keeps_the_acknowledgement_time():
    a = alarm()
    acknowledge(a, s(2))
    claim(a, s(9))
    assert (a.acknowledged_at, a.claimed_at) == (s(2), s(9))


def test_a_second_claim_is_refused():
    a = alarm()
    claim(a, s(3))
    with pytest.raises(AlarmError, match="already responding"):
        claim(a, s(4))


@pytest.mark.parametrize("start", ["active", "acknowledged", "claimed"])
def test_resolve_from_any_open_state(start):
    a = alarm()
    if start == "acknowledged":
        acknowledge(a, s(1))
    if start == "claimed":
        claim(a, s(1))
    resolve(a, Outcome.PERSON_OKAY, s(30))
    assert (a.state, a.outcome, a.resolved_at) == (State.RESOLVED, "person_okay", s(30))
    assert not a.is_open and not sounding(a, s(31)) and next_deadline(a) is None


@pytest.mark.parametrize(
    "finish", [lambda a: resolve(a, "false_alarm", s(2)), lambda a: condition_cleared(a, s(2))]
)
def test_nothing_happens_to_a_closed_alarm(finish):
    a = alarm(Priority.MEDIUM)
    finish(a)
    for act in (
        lambda: acknowledge(a, s(3)),
        lambda: claim(a, s(3)),
        lambda: resolve(a, "overdose", s(3)),
    ):
        with pytest.raises(AlarmError):
            act()


def test_resolve_needs_a_known_outcome():
    with pytest.raises(AlarmError, match="Choose what happened"):
        resolve(alarm(), "fine", s(1))


def test_high_alarms_latch_when_the_condition_clears():
    a = alarm(Priority.HIGH)
    condition_cleared(a, s(4))
    assert a.state == State.ACTIVE and not a.condition_active and sounding(a, s(5))


@pytest.mark.parametrize("priority", [Priority.MEDIUM, Priority.LOW])
def test_medium_and_low_unacknowledged_alarms_clear_with_their_condition(priority):
    a = alarm(priority)
    condition_cleared(a, s(4))
    assert (a.state, a.cleared_at) == (State.CLEARED, s(4))
    assert not sounding(a, s(5)) and next_deadline(a) is None


def test_acknowledged_medium_alarm_stays_open_when_its_condition_clears():
    a = alarm(Priority.MEDIUM)
    acknowledge(a, s(2))
    condition_cleared(a, s(4))
    assert a.state == State.ACKNOWLEDGED and not a.condition_active


def test_escalation_reannounces_at_15_s_and_notifies_at_45_s():
    a = alarm()
    assert due_steps(a, s(14.9)) == []
    assert next_deadline(a) == s(15)
    assert due_steps(a, s(15)) == [Step.REANNOUNCE]
    take_step(a, Step.REANNOUNCE, s(15))
    assert a.escalation_level == 1 and due_steps(a, s(20)) == []
    assert next_deadline(a) == s(45)
    assert due_steps(a, s(45)) == [Step.NOTIFY]
    take_step(a, Step.NOTIFY, s(45))
    assert a.escalation_level == 2 and due_steps(a, s(100)) == [] and next_deadline(a) is None


def test_acknowledged_but_unclaimed_alarm_still_reaches_fallback_contacts():
    a = alarm()
    acknowledge(a, s(5))
    assert due_steps(a, s(20)) == []  # no re-announcement once acknowledged
    assert due_steps(a, s(45)) == [Step.NOTIFY]


def test_a_claim_stops_the_escalation():
    a = alarm()
    claim(a, s(10))
    assert due_steps(a, s(60)) == []


def test_late_engine_takes_both_overdue_steps_at_once():
    a = alarm()
    assert due_steps(a, s(50)) == [Step.REANNOUNCE, Step.NOTIFY]


def test_acknowledged_alarm_sounds_again_after_two_minutes_if_still_present():
    a = alarm()
    claim(a, s(10))
    assert not sounding(a, s(129))
    assert next_deadline(a) == s(130)
    assert due_steps(a, s(130)) == [Step.RESOUND]
    take_step(a, Step.RESOUND, s(130))
    assert sounding(a, s(131)) and due_steps(a, s(140)) == []
    acknowledge(a, s(140))  # a tap silences it for another two minutes
    assert not sounding(a, s(141)) and next_deadline(a) == s(260)


def test_no_resound_once_the_condition_is_gone():
    a = alarm()
    acknowledge(a, s(10))
    condition_cleared(a, s(20))
    assert due_steps(a, s(200)) == [Step.NOTIFY]
    assert not sounding(a, s(200))
    condition_returned(a, s(201))
    assert sounding(a, s(201))


def test_timers_are_settings():
    quick = Timers(
        ack_escalation=timedelta(seconds=5),
        claim_escalation=timedelta(seconds=10),
        resound_after=timedelta(seconds=30),
    )
    a = alarm()
    assert due_steps(a, s(5), quick) == [Step.REANNOUNCE]
    assert next_deadline(a, quick) == s(5)
