from datetime import UTC, datetime, timedelta

import pytest

from vigil.floor.supervision import CheckState, Colour, Timers, supervise

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
BOOTH = Timers(
    check_interval=timedelta(minutes=5),
    grace=timedelta(minutes=1),
    occupancy_limit=timedelta(minutes=20),
)
AFTERCARE = Timers(
    check_interval=timedelta(minutes=15), grace=timedelta(minutes=1), occupancy_limit=None
)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("now", "last_check", "state", "over", "colour"),
    [
        (0, None, CheckState.OK, False, Colour.NONE),
        (4.9, None, CheckState.OK, False, Colour.NONE),
        (5, None, CheckState.DUE, False, Colour.NONE),
        (5.9, None, CheckState.DUE, False, Colour.NONE),
        (6, None, CheckState.OVERDUE, False, Colour.MEDIUM),
        (8, 4, CheckState.OK, False, Colour.NONE),
        (9, 4, CheckState.DUE, False, Colour.NONE),
        (10, 4, CheckState.OVERDUE, False, Colour.MEDIUM),
        (20, 18, CheckState.OK, True, Colour.LOW),
        (25, 18, CheckState.OVERDUE, True, Colour.MEDIUM),
    ],
)
def test_booth_timers(now, last_check, state, over, colour):
    result = supervise(
        started_at=T0,
        last_check_at=at(last_check) if last_check is not None else None,
        last_check_concerned=False,
        timers=BOOTH,
        now=at(now),
    )
    assert (result.check_state, result.over_limit, result.colour) == (state, over, colour)
    assert result.elapsed == timedelta(minutes=now)


def test_concern_is_red_and_never_times_out():
    result = supervise(
        started_at=T0, last_check_at=at(1), last_check_concerned=True, timers=BOOTH, now=at(60)
    )
    assert result.check_state == CheckState.CONCERNED
    assert result.colour == Colour.HIGH


def test_aftercare_has_its_own_interval_and_no_limit():
    result = supervise(
        started_at=T0, last_check_at=None, last_check_concerned=False, timers=AFTERCARE, now=at(14)
    )
    assert result.check_state == CheckState.OK and not result.over_limit
    late = supervise(
        started_at=T0, last_check_at=None, last_check_concerned=False, timers=AFTERCARE, now=at(90)
    )
    assert late.check_state == CheckState.OVERDUE and not late.over_limit


def test_next_check_counts_from_the_later_of_seat_and_check():
    result = supervise(
        started_at=T0, last_check_at=at(3), last_check_concerned=False, timers=BOOTH, now=at(4)
    )
    assert result.next_check_at == at(8)
