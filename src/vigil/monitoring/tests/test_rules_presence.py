"""Stillness, monitoring lost, occupancy and binding, reading order and clock skew."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from vigil.monitoring.rules import DEFAULT_SETTINGS, Condition, PlaceMonitor
from vigil.monitoring.vitals import Observation

C = Condition
T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
NORMAL = {"spo2": 97.0, "pulse": 70.0, "resp": 14.0}


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def oximeter(seconds: float, device: str = "OX1", **values) -> Observation:
    return Observation(
        device_id=device, received_at=at(seconds), observed_at=at(seconds), **{**NORMAL, **values}
    )


def sensor(seconds: float, moving: bool, device: str = "MS1") -> Observation:
    return Observation(device_id=device, received_at=at(seconds), motion=moving)


def watched(cadence_s: float | None = None, start: float = 0) -> PlaceMonitor:
    cadence = None if cadence_s is None else timedelta(seconds=cadence_s)
    monitor = PlaceMonitor(DEFAULT_SETTINGS, cadence=cadence)
    monitor.evaluate(at(start), occupied=True, device_bound=True)
    return monitor


def feed(monitor: PlaceMonitor, observations: list[Observation]) -> None:
    for obs in observations:
        monitor.observe(obs, obs.received_at)


def check(monitor: PlaceMonitor, seconds: float) -> set[Condition]:
    return monitor.evaluate(at(seconds), occupied=True, device_bound=True)


def every(step: float, start: float, until: float) -> list[float]:
    times, t = [], start
    while t <= until:
        times.append(t)
        t += step
    return times


# -- stillness -------------------------------------------------------------------------------


@pytest.mark.parametrize(("seconds", "still"), [(179, False), (180, True), (181, True)])
def test_stillness_after_three_minutes_without_movement(seconds, still):
    monitor = watched()
    feed(monitor, [sensor(t, False) for t in every(5, 0, seconds)])
    assert check(monitor, seconds) == ({C.STILLNESS} if still else set())


@pytest.mark.parametrize(("seconds", "still"), [(189, False), (190, True)])
def test_stillness_counts_from_the_last_movement(seconds, still):
    monitor = watched()
    feed(monitor, [sensor(0, False), sensor(5, False), sensor(10, True)])
    feed(monitor, [sensor(t, False) for t in every(5, 15, seconds)])
    assert (C.STILLNESS in check(monitor, seconds)) is still


def test_movement_clears_stillness():
    monitor = watched()
    feed(monitor, [sensor(t, False) for t in every(5, 0, 180)])
    assert check(monitor, 180) == {C.STILLNESS}
    feed(monitor, [sensor(185, True)])
    assert check(monitor, 185) == set()


def test_a_sensor_that_falls_silent_after_movement_is_lost_not_still():
    monitor = watched()
    feed(monitor, [sensor(0, True), sensor(5, False)])
    assert check(monitor, 200) == {C.MONITORING_LOST}


def test_stillness_reported_for_three_minutes_stands_when_the_sensor_falls_silent():
    monitor = watched()
    feed(monitor, [sensor(t, False) for t in every(5, 0, 180)])
    assert check(monitor, 600) == {C.STILLNESS, C.MONITORING_LOST}


def test_stillness_before_someone_came_in_does_not_count():
    monitor = PlaceMonitor()
    feed(monitor, [sensor(t, False) for t in every(5, -600, -5)])
    assert monitor.evaluate(at(-5), occupied=False, device_bound=True) == set()
    feed(monitor, [sensor(0, False)])
    assert check(monitor, 0) == set()
    feed(monitor, [sensor(t, False) for t in every(5, 5, 175)])
    assert check(monitor, 179) == set()
    feed(monitor, [sensor(180, False)])
    assert check(monitor, 180) == {C.STILLNESS}


def test_no_motion_sensor_no_stillness():
    monitor = watched()
    feed(monitor, [oximeter(t) for t in every(1, 0, 400)])
    assert check(monitor, 400) == set()


# -- monitoring lost -------------------------------------------------------------------------


@pytest.mark.parametrize(("seconds", "lost"), [(9.9, False), (10, True)])
def test_a_bound_device_that_never_sends_is_lost_after_ten_seconds(seconds, lost):
    monitor = watched()
    assert check(monitor, seconds) == ({C.MONITORING_LOST} if lost else set())


@pytest.mark.parametrize(("seconds", "lost"), [(29.9, False), (30, True)])
def test_a_device_that_stops_sending_is_lost_after_ten_seconds(seconds, lost):
    monitor = watched()
    feed(monitor, [oximeter(t) for t in every(1, 0, 20)])
    assert check(monitor, seconds) == ({C.MONITORING_LOST} if lost else set())


@pytest.mark.parametrize(("seconds", "lost"), [(13, False), (14, True)])
def test_a_probe_off_is_a_loss_even_while_breathing_still_arrives(seconds, lost):
    monitor = watched()
    feed(monitor, [oximeter(t) for t in every(1, 0, 4)])
    feed(monitor, [oximeter(t, spo2=0.0, pulse=0.0) for t in every(1, 5, seconds)])
    assert check(monitor, seconds) == ({C.MONITORING_LOST} if lost else set())
    if lost:
        assert monitor.lost_channels(at(seconds)) == [("OX1", "pulse"), ("OX1", "spo2")]


def test_a_vital_that_stops_arriving_is_a_loss():
    monitor = watched()
    feed(monitor, [oximeter(t) for t in every(1, 0, 4)])
    feed(monitor, [oximeter(t, resp=None) for t in every(1, 5, 13)])
    assert check(monitor, 13.9) == set()
    feed(monitor, [oximeter(14, resp=None)])
    assert check(monitor, 14) == {C.MONITORING_LOST}  # no breathing rate since 4 s
    assert monitor.lost_channels(at(14)) == [("OX1", "resp")]


def test_messages_with_nothing_usable_in_them_are_not_data():
    monitor = watched()
    feed(monitor, [Observation(device_id="OX1", received_at=at(t)) for t in every(1, 0, 9)])
    assert check(monitor, 9.9) == set()
    feed(monitor, [Observation(device_id="OX1", received_at=at(10))])
    assert check(monitor, 10) == {C.MONITORING_LOST}


def test_loss_clears_when_usable_values_return():
    monitor = watched()
    feed(monitor, [oximeter(t, spo2=0.0) for t in every(1, 0, 12)])
    assert check(monitor, 12) == {C.MONITORING_LOST}
    feed(monitor, [oximeter(13)])
    assert check(monitor, 13) == set()


@pytest.mark.parametrize(
    ("cadence_s", "gap_s", "lost"),
    [
        (None, 9.9, False),
        (None, 10, True),
        (5, 10, True),  # faster than 10 s: the live window
        (60, 89, False),  # one row a minute: 90 s
        (60, 90, True),
        (300, 449, False),
        (300, 450, True),
    ],
)
def test_the_window_for_silence_adapts_to_the_cadence(cadence_s, gap_s, lost):
    monitor = watched(cadence_s)
    step = cadence_s or 1
    feed(monitor, [oximeter(t) for t in every(step, 0, 3 * step)])
    assert check(monitor, 3 * step) == set()
    assert (C.MONITORING_LOST in check(monitor, 3 * step + gap_s)) is lost


def test_per_minute_rows_are_never_silence():
    monitor = watched(60)
    for t in every(60, 0, 6000):
        feed(monitor, [oximeter(t)])
        assert check(monitor, t) == set()
        assert check(monitor, t + 59) == set()


def test_a_probe_off_row_in_per_minute_data_is_a_loss_at_once():
    """ "No signal" is evidence, not silence: the 10 s delay applies at any cadence."""
    monitor = watched(60)
    feed(monitor, [oximeter(0), oximeter(60, spo2=0.0)])
    assert check(monitor, 60) == {C.MONITORING_LOST}
    feed(monitor, [oximeter(120)])
    assert check(monitor, 120) == set()


@pytest.mark.parametrize(("seconds", "lost"), [(109, False), (110, True)])
def test_sitting_down_gives_the_probe_ten_seconds(seconds, lost):
    monitor = PlaceMonitor()
    feed(monitor, [oximeter(t, spo2=0.0, pulse=0.0) for t in every(1, 0, 99)])
    assert monitor.evaluate(at(99), occupied=False, device_bound=True) == set()
    feed(monitor, [oximeter(100, spo2=0.0, pulse=0.0)])
    assert check(monitor, 100) == set()  # the watch begins
    feed(monitor, [oximeter(t, spo2=0.0, pulse=0.0) for t in every(1, 101, seconds)])
    assert check(monitor, seconds) == ({C.MONITORING_LOST} if lost else set())


def test_forgetting_an_unbound_device_stops_expecting_it():
    monitor = watched()
    feed(monitor, [sensor(0, True), oximeter(0)])
    feed(monitor, [oximeter(t) for t in every(1, 1, 30)])
    assert check(monitor, 30) == {C.MONITORING_LOST}
    assert monitor.lost_channels(at(30)) == [("MS1", "motion")]
    monitor.forget_device("MS1")
    assert check(monitor, 30) == set()


def test_two_devices_are_watched_separately():
    monitor = watched()
    for t in every(1, 0, 30):
        feed(monitor, [oximeter(t), sensor(t, True)])
    assert check(monitor, 30) == set()
    feed(monitor, [oximeter(t) for t in every(1, 31, 39)])  # the motion sensor stopped at 30 s
    assert check(monitor, 39.9) == set()
    feed(monitor, [oximeter(40)])
    assert check(monitor, 40) == {C.MONITORING_LOST}


# -- occupancy and binding -------------------------------------------------------------------


@pytest.mark.parametrize(("occupied", "bound"), [(False, True), (True, False), (False, False)])
def test_unoccupied_or_unbound_places_raise_no_device_alarm(occupied, bound):
    monitor = PlaceMonitor()
    monitor.evaluate(at(0), occupied=occupied, device_bound=bound)
    readings = [oximeter(t, spo2=70.0, pulse=30.0, resp=0.0) for t in every(1, 0, 60)]
    readings += [sensor(t, False) for t in every(5, 0, 300)]
    feed(monitor, sorted(readings, key=lambda obs: obs.received_at))
    assert monitor.evaluate(at(900), occupied=occupied, device_bound=bound) == set()


def test_a_new_occupant_does_not_inherit_the_last_ones_alarms():
    monitor = watched()
    feed(monitor, [oximeter(t, spo2=80.0) for t in every(1, 0, 20)])
    assert check(monitor, 20) == {C.SPO2_LOW, C.SPO2_CRITICAL}
    assert monitor.evaluate(at(30), occupied=False, device_bound=True) == set()
    assert check(monitor, 40) == set()  # the old readings do not count
    feed(monitor, [oximeter(41, spo2=80.0)])
    assert check(monitor, 41) == {C.SPO2_CRITICAL}  # the new occupant's own reading does
    feed(monitor, [oximeter(t, spo2=80.0) for t in every(1, 42, 55)])
    assert check(monitor, 55) == {C.SPO2_CRITICAL}  # 41 s .. 55 s: 14 s of their own
    feed(monitor, [oximeter(56, spo2=80.0)])
    assert check(monitor, 56) == {C.SPO2_LOW, C.SPO2_CRITICAL}


def test_readings_from_just_before_sitting_down_do_not_count():
    monitor = PlaceMonitor()
    feed(monitor, [oximeter(0, spo2=80.0)])
    assert monitor.evaluate(at(0), occupied=False, device_bound=True) == set()
    assert monitor.evaluate(at(5), occupied=True, device_bound=True) == set()
    feed(monitor, [oximeter(6, spo2=80.0)])
    assert check(monitor, 6) == {C.SPO2_CRITICAL}


# -- order, time zones, determinism ----------------------------------------------------------


def test_readings_out_of_order_are_refused_and_change_nothing():
    monitor = watched()
    feed(monitor, [oximeter(t, spo2=88.0) for t in every(1, 0, 10)])
    before = check(monitor, 10)
    with pytest.raises(ValueError, match="earlier than the previous one"):
        monitor.observe(oximeter(5, spo2=50.0), at(5))
    assert check(monitor, 10) == before
    assert monitor.last_reading_at == at(10)


def test_a_reading_at_the_same_moment_is_accepted():
    monitor = watched()
    feed(monitor, [oximeter(1), oximeter(1, device="OX2")])
    assert monitor.last_reading_at == at(1)


def test_evaluate_never_looks_backwards():
    monitor = watched()
    feed(monitor, [oximeter(t, spo2=80.0) for t in every(1, 0, 20)])
    assert check(monitor, 20) == {C.SPO2_LOW, C.SPO2_CRITICAL}
    assert check(monitor, 3) == {C.SPO2_LOW, C.SPO2_CRITICAL}  # taken as 20 s
    assert check(monitor, 31) == {C.SPO2_LOW, C.SPO2_CRITICAL, C.MONITORING_LOST}
    assert check(monitor, 25) == {C.SPO2_LOW, C.SPO2_CRITICAL, C.MONITORING_LOST}


def test_naive_times_are_refused():
    monitor = PlaceMonitor()
    naive = datetime(2026, 11, 25, 10, 0)
    with pytest.raises(ValueError, match="time zone"):
        monitor.observe(oximeter(0), naive)
    with pytest.raises(ValueError, match="time zone"):
        monitor.evaluate(naive, occupied=True, device_bound=True)


def test_asking_twice_gives_the_same_answer():
    monitor = watched()
    feed(monitor, [oximeter(t, spo2=88.0, resp=0.0) for t in every(1, 0, 25)])
    first = check(monitor, 25)
    assert first == {C.SPO2_LOW, C.NO_BREATH}
    assert check(monitor, 25) == first
    assert check(monitor, 25) == first


# -- clock skew ------------------------------------------------------------------------------


def test_a_skewed_device_clock_is_flagged_whatever_the_occupancy():
    monitor = PlaceMonitor()
    skewed = Observation(device_id="OX1", received_at=at(0), observed_at=at(-31), spo2=97.0)
    monitor.observe(skewed, at(0))
    assert monitor.evaluate(at(0), occupied=False, device_bound=True) == {C.CLOCK_SKEW}
    assert monitor.evaluate(at(1), occupied=True, device_bound=True) == {C.CLOCK_SKEW}
    assert monitor.last_observation is skewed
    monitor.observe(Observation(device_id="OX1", received_at=at(2), observed_at=at(1)), at(2))
    assert monitor.evaluate(at(2), occupied=False, device_bound=True) == set()


def test_clock_skew_is_per_device():
    monitor = PlaceMonitor()
    monitor.observe(Observation(device_id="A", received_at=at(0), observed_at=at(100)), at(0))
    monitor.observe(Observation(device_id="B", received_at=at(1), observed_at=at(1)), at(1))
    assert monitor.evaluate(at(1), occupied=False, device_bound=False) == {C.CLOCK_SKEW}
    monitor.forget_device("A")
    assert monitor.evaluate(at(1), occupied=False, device_bound=False) == set()
