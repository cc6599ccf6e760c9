"""Supervision timers: when is a visual check due, overdue, and is the stay over the limit.

Pure logic with `now` passed in. The tile states use the alarm colours the alarm issue uses
(IEC 60601-1-8 as monitor makers implement it): an overdue check is yellow like a medium alarm,
an occupancy over the limit is cyan like a low alarm, a "concerned" check is red like a high one.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum


class CheckState(StrEnum):
    OK = "ok"
    DUE = "due"
    OVERDUE = "overdue"
    CONCERNED = "concerned"


class Colour(StrEnum):
    NONE = "none"
    HIGH = "high"  # red
    MEDIUM = "medium"  # yellow
    LOW = "low"  # cyan


@dataclass(frozen=True)
class Timers:
    check_interval: timedelta
    grace: timedelta
    occupancy_limit: timedelta | None  # None: no limit (aftercare seats)


@dataclass(frozen=True)
class Supervision:
    elapsed: timedelta
    check_state: CheckState
    next_check_at: datetime
    over_limit: bool

    @property
    def colour(self) -> Colour:
        if self.check_state == CheckState.CONCERNED:
            return Colour.HIGH
        if self.check_state == CheckState.OVERDUE:
            return Colour.MEDIUM
        if self.over_limit:
            return Colour.LOW
        return Colour.NONE


def supervise(
    *,
    started_at: datetime,
    last_check_at: datetime | None,
    last_check_concerned: bool,
    timers: Timers,
    now: datetime,
) -> Supervision:
    """The state of one occupied place at `now`.

    A check falls due one interval after the person sat down or after the last check, and is
    overdue once the grace period has also passed. A "concerned" check stays red until a later
    check says OK: staff concern is never timed out.
    """
    reference = max(started_at, last_check_at) if last_check_at else started_at
    next_check_at = reference + timers.check_interval
    if last_check_concerned:
        state = CheckState.CONCERNED
    elif now >= next_check_at + timers.grace:
        state = CheckState.OVERDUE
    elif now >= next_check_at:
        state = CheckState.DUE
    else:
        state = CheckState.OK
    elapsed = max(now - started_at, timedelta(0))
    over = timers.occupancy_limit is not None and elapsed >= timers.occupancy_limit
    return Supervision(
        elapsed=elapsed, check_state=state, next_check_at=next_check_at, over_limit=over
    )
