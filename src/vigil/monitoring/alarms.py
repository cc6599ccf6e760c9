"""The alarm state machine, after IEC 60601-1-8 as monitor makers implement it. Pure logic:
every function takes `now` and returns what changed; actions.py persists it.

States (docs/alarm-states.md has the full table):

    active ──acknowledge──► acknowledged ──claim──► claimed ──resolve──► resolved
      │  └──────────────claim (implies acknowledge)──┘  │
      └─condition clears before anyone acknowledged (medium and low only)──► cleared

- High-priority alarms latch: they stay open until resolved, even if the condition clears.
- Acknowledging silences an alarm for RESOUND_AFTER; if its condition is still present then,
  it sounds again.
- Escalation runs from the moment of raising: not acknowledged after ACK_ESCALATION → announced
  again on every screen with a stronger sound (level 1); not claimed after CLAIM_ESCALATION →
  fallback contacts are notified (level 2).
"""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum

from vigil.monitoring.rules import Priority


class State(StrEnum):
    ACTIVE = "active"
    ACKNOWLEDGED = "acknowledged"
    CLAIMED = "claimed"
    CLEARED = "cleared"
    RESOLVED = "resolved"


OPEN = frozenset({State.ACTIVE, State.ACKNOWLEDGED, State.CLAIMED})


class Outcome(StrEnum):
    OVERDOSE = "overdose"
    OTHER_MEDICAL = "other_medical"
    PERSON_OKAY = "person_okay"
    FALSE_ALARM = "false_alarm"
    TECHNICAL = "technical"


# Outcomes that open an overdose or medical event record (the care records work).
OPENS_CARE_RECORD = frozenset({Outcome.OVERDOSE, Outcome.OTHER_MEDICAL})


class Step(StrEnum):
    """Timed steps the engine carries out when they fall due."""

    REANNOUNCE = "reannounce"  # level 1: every screen, stronger sound
    NOTIFY = "notify"  # level 2: fallback contacts
    RESOUND = "resound"  # acknowledged but the condition is still there


@dataclass(frozen=True)
class Timers:
    ack_escalation: timedelta = timedelta(seconds=15)
    claim_escalation: timedelta = timedelta(seconds=45)
    resound_after: timedelta = timedelta(minutes=2)


class AlarmError(Exception):
    """A transition that is not allowed from the alarm's state; the message is for staff."""


@dataclass
class AlarmState:
    """The part of an alarm the state machine reads and writes."""

    priority: Priority
    raised_at: datetime
    state: State = State.ACTIVE
    condition_active: bool = True
    acknowledged_at: datetime | None = None
    claimed_at: datetime | None = None
    silenced_until: datetime | None = None
    resolved_at: datetime | None = None
    cleared_at: datetime | None = None
    outcome: str = ""
    escalation_level: int = 0
    resounded_at: datetime | None = None
    changes: list[str] = field(default_factory=list, compare=False)

    @property
    def is_open(self) -> bool:
        return self.state in OPEN


def acknowledge(alarm: AlarmState, now: datetime, timers: Timers = Timers()) -> None:
    if not alarm.is_open:
        raise AlarmError(f"This alarm is already {alarm.state}.")
    if alarm.state == State.ACTIVE:
        alarm.state = State.ACKNOWLEDGED
        alarm.acknowledged_at = now
    alarm.silenced_until = now + timers.resound_after
    alarm.changes.append("acknowledged")


def claim(alarm: AlarmState, now: datetime, timers: Timers = Timers()) -> None:
    """ "I'm responding": names the responder to everyone; implies acknowledging."""
    if not alarm.is_open:
        raise AlarmError(f"This alarm is already {alarm.state}.")
    if alarm.state == State.CLAIMED:
        raise AlarmError("Someone is already responding to this alarm.")
    if alarm.acknowledged_at is None:
        alarm.acknowledged_at = now
    alarm.state = State.CLAIMED
    alarm.claimed_at = now
    alarm.silenced_until = now + timers.resound_after
    alarm.changes.append("claimed")


def resolve(alarm: AlarmState, outcome: str, now: datetime) -> None:
    if outcome not in Outcome.__members__.values():
        raise AlarmError(
            "Choose what happened: overdose, other medical, person okay, false alarm or technical."
        )
    if not alarm.is_open:
        raise AlarmError(f"This alarm is already {alarm.state}.")
    alarm.state = State.RESOLVED
    alarm.resolved_at = now
    alarm.outcome = outcome
    alarm.changes.append("resolved")


def condition_cleared(alarm: AlarmState, now: datetime) -> None:
    """The detector no longer sees the condition. High alarms latch; medium and low alarms
    nobody has acknowledged yet move to "cleared" and stay in the history."""
    if not alarm.is_open or not alarm.condition_active:
        return
    alarm.condition_active = False
    alarm.changes.append("condition_cleared")
    if alarm.state == State.ACTIVE and alarm.priority != Priority.HIGH:
        alarm.state = State.CLEARED
        alarm.cleared_at = now
        alarm.changes.append("cleared")


def condition_returned(alarm: AlarmState, now: datetime) -> None:
    if alarm.is_open and not alarm.condition_active:
        alarm.condition_active = True
        alarm.changes.append("condition_returned")


def due_steps(alarm: AlarmState, now: datetime, timers: Timers = Timers()) -> list[Step]:
    """The timed steps that have fallen due at `now` and not yet been taken."""
    if not alarm.is_open:
        return []
    steps = []
    if (
        alarm.state == State.ACTIVE
        and alarm.escalation_level < 1
        and now >= alarm.raised_at + timers.ack_escalation
    ):
        steps.append(Step.REANNOUNCE)
    if (
        alarm.state != State.CLAIMED
        and alarm.escalation_level < 2
        and now >= alarm.raised_at + timers.claim_escalation
    ):
        steps.append(Step.NOTIFY)
    if (
        alarm.state in (State.ACKNOWLEDGED, State.CLAIMED)
        and alarm.condition_active
        and alarm.silenced_until is not None
        and now >= alarm.silenced_until
        and (alarm.resounded_at is None or alarm.resounded_at < alarm.silenced_until)
    ):
        steps.append(Step.RESOUND)
    return steps


def take_step(alarm: AlarmState, step: Step, now: datetime) -> None:
    if step == Step.REANNOUNCE:
        alarm.escalation_level = max(alarm.escalation_level, 1)
    elif step == Step.NOTIFY:
        alarm.escalation_level = 2
    elif step == Step.RESOUND:
        alarm.resounded_at = now
    alarm.changes.append(step.value)


def next_deadline(alarm: AlarmState, timers: Timers = Timers()) -> datetime | None:
    """When the engine must look at this alarm again (None: never, unless something happens)."""
    if not alarm.is_open:
        return None
    candidates = []
    if alarm.state == State.ACTIVE and alarm.escalation_level < 1:
        candidates.append(alarm.raised_at + timers.ack_escalation)
    if alarm.state != State.CLAIMED and alarm.escalation_level < 2:
        candidates.append(alarm.raised_at + timers.claim_escalation)
    if (
        alarm.state in (State.ACKNOWLEDGED, State.CLAIMED)
        and alarm.condition_active
        and alarm.silenced_until is not None
        and (alarm.resounded_at is None or alarm.resounded_at < alarm.silenced_until)
    ):
        candidates.append(alarm.silenced_until)
    return min(candidates) if candidates else None


def sounding(alarm: AlarmState, now: datetime) -> bool:
    """Whether screens should sound for this alarm at `now` (before any screen's own pause)."""
    if alarm.state == State.ACTIVE:
        return True
    if alarm.state in (State.ACKNOWLEDGED, State.CLAIMED) and alarm.condition_active:
        return alarm.silenced_until is not None and now >= alarm.silenced_until
    return False
