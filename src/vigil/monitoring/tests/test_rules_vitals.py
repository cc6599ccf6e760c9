"""Vital-sign rules at their boundaries: just below, at and above each threshold and delay;
what clears them; what "no data" does. Pure logic, no database."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest

from vigil.monitoring.rules import (
    DEFAULT_SETTINGS,
    Condition,
    PlaceMonitor,
    RuleSettings,
    usable_pulse,
    usable_resp,
    usable_spo2,
)
from vigil.monitoring.vitals import Observation

C = Condition
T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
NORMAL = {"spo2": 97.0, "pulse": 70.0, "resp": 14.0}


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


class Place:
    """One watched place, occupied with its device bound from T0 unless told otherwise.
    Each reading carries normal values for the vitals the test does not name."""

    def __init__(
        self,
        settings: RuleSettings = DEFAULT_SETTINGS,
        *,
        cadence_s: float | None = None,
        occupied: bool = True,
        bound: bool = True,
    ) -> None:
        cadence = None if cadence_s is None else timedelta(seconds=cadence_s)
        self.monitor = PlaceMonitor(settings, cadence=cadence)
        self.occupied, self.bound = occupied, bound
        self.monitor.evaluate(T0, occupied=occupied, device_bound=bound)

    def read(self, seconds: float, device: str = "OX1", **values) -> set[Condition]:
        obs = Observation(
            device_id=device,
            received_at=at(seconds),
            observed_at=at(seconds),
            **{**NORMAL, **values},
        )
        self.monitor.observe(obs, at(seconds))
        return self.now(seconds)

    def now(self, seconds: float) -> set[Condition]:
        return self.monitor.evaluate(at(seconds), occupied=self.occupied, device_bound=self.bound)

    def series(self, start: float, until: float, step: float = 1, **values) -> set[Condition]:
        """Readings every `step` seconds from `start`, the last one exactly at `until`."""
        times = []
        t = start
        while t < until:
            times.append(t)
            t += step
        times.append(until)
        result: set[Condition] = set()
        for t in times:
            result = self.read(t, **values)
        return result


# -- sustained conditions: value and delay boundaries ------------------------------------------

SUSTAINED_VALUES = [
    # condition, vital, value, raises (held for the whole 15 s delay)
    (C.SPO2_LOW, "spo2", 89.9, True),
    (C.SPO2_LOW, "spo2", 90.0, False),
    (C.SPO2_LOW, "spo2", 90.1, False),
    (C.SPO2_LOW, "spo2", 85.0, True),
    (C.PULSE_LOW, "pulse", 49.9, True),
    (C.PULSE_LOW, "pulse", 50.0, False),
    (C.PULSE_LOW, "pulse", 50.1, False),
    (C.PULSE_HIGH, "pulse", 139.9, False),
    (C.PULSE_HIGH, "pulse", 140.0, False),
    (C.PULSE_HIGH, "pulse", 140.1, True),
    (C.PULSE_HIGH, "pulse", 250.0, True),  # the highest value still taken as a pulse
    (C.PULSE_HIGH, "pulse", 250.1, False),  # beyond it: an artefact, so "no signal"
]


@pytest.mark.parametrize(("condition", "vital", "value", "raises"), SUSTAINED_VALUES)
def test_sustained_value_boundaries(condition, vital, value, raises):
    place = Place()
    got = place.series(0, 15, **{vital: value})
    assert (condition in got) is raises
    if not raises and value <= 250:
        assert got == set()


SUSTAINED_DELAYS = [
    # condition, abnormal reading, delay in seconds
    (C.SPO2_LOW, {"spo2": 88.0}, 15),
    (C.PULSE_LOW, {"pulse": 45.0}, 15),
    (C.PULSE_HIGH, {"pulse": 150.0}, 15),
    (C.NO_BREATH, {"resp": 0.0}, 20),
]


@pytest.mark.parametrize(("condition", "values", "delay"), SUSTAINED_DELAYS)
@pytest.mark.parametrize(("offset", "raises"), [(-0.1, False), (0, True), (0.1, True)])
def test_sustained_delay_boundaries(condition, values, delay, offset, raises):
    place = Place()
    got = place.series(0, delay + offset, **values)
    assert got == ({condition} if raises else set())


@pytest.mark.parametrize(("condition", "values", "delay"), SUSTAINED_DELAYS)
def test_one_reading_never_proves_a_sustained_condition(condition, values, delay):
    place = Place(cadence_s=60)  # a slow device: the reading stays "current" for 90 s
    assert place.read(0, **values) == set()
    assert condition not in place.now(delay * 3)


def test_a_one_sample_artefact_raises_nothing():
    place = Place(cadence_s=60)
    place.read(0)
    assert place.read(60, pulse=149.0) == set()
    assert place.read(120) == set()


def test_per_minute_readings_prove_a_sustained_condition_with_two_rows():
    place = Place(cadence_s=60)
    assert place.read(0, spo2=88.0) == set()
    assert place.read(60, spo2=88.0) == {C.SPO2_LOW}


@pytest.mark.parametrize(("condition", "values", "delay"), SUSTAINED_DELAYS)
def test_one_normal_reading_restarts_the_clock(condition, values, delay):
    place = Place()
    place.series(0, delay - 5, **values)
    # SpO2 only just back in range: 97 after 88 would make the next 88 a rapid fall.
    back = {"spo2": 90.5} if "spo2" in values else {}
    assert place.read(delay - 4, **back) == set()
    assert place.series(delay - 3, 2 * delay - 4, **values) == set()
    assert place.read(2 * delay - 3, **values) == {condition}


def test_a_gap_breaks_a_run_that_has_not_proved_itself():
    place = Place()  # data-loss window 10 s
    place.series(0, 5, spo2=88.0)
    # 15 s after the first reading, but nothing between 5 s and 16 s: not proved
    assert C.SPO2_LOW not in place.read(16, spo2=88.0)
    assert C.SPO2_LOW not in place.series(17, 30, spo2=88.0)
    assert C.SPO2_LOW in place.read(31, spo2=88.0)  # 16 s .. 31 s


def test_a_gap_does_not_end_a_proved_run():
    place = Place()
    assert C.SPO2_LOW in place.series(0, 15, spo2=88.0)
    assert C.SPO2_LOW in place.read(60, spo2=88.0)


@pytest.mark.parametrize(("condition", "values", "delay"), SUSTAINED_DELAYS)
def test_sustained_conditions_clear_on_a_normal_reading(condition, values, delay):
    place = Place()
    assert condition in place.series(0, delay, **values)
    assert place.read(delay + 1) == set()


@pytest.mark.parametrize(("condition", "values", "delay"), SUSTAINED_DELAYS)
def test_silence_does_not_clear(condition, values, delay):
    place = Place()
    place.series(0, delay, **values)
    assert place.now(delay + 600) == {condition, C.MONITORING_LOST}


def test_probe_off_neither_clears_low_spo2_nor_hides_the_loss():
    place = Place()
    place.series(0, 15, spo2=88.0)
    assert place.series(16, 24.9, spo2=0.0) == {C.SPO2_LOW}  # 0 is "no signal", not normal
    assert place.read(25, spo2=0.0) == {C.SPO2_LOW, C.MONITORING_LOST}  # 10 s after 88 at 15 s
    assert place.monitor.lost_channels(at(25)) == [("OX1", "spo2")]
    assert place.read(26, spo2=95.0) == set()


# -- at-once conditions --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"spo2": 84.9}, {C.SPO2_CRITICAL}),
        ({"spo2": 85.0}, set()),
        ({"spo2": 85.1}, set()),
        ({"spo2": 40.0}, {C.SPO2_CRITICAL}),
        ({"resp": 7.1}, set()),
        ({"resp": 7.0}, {C.RESP_LOW}),
        ({"resp": 6.9}, {C.RESP_LOW}),
        ({"resp": 0.5}, {C.RESP_LOW}),
        ({"resp": 0.0}, set()),  # no breath yet: the 20 s clock starts, resp_low does not fire
        ({"apnea": True}, {C.APNEA}),
        ({"apnea": True, "resp": None}, {C.APNEA}),
        ({"apnea": True, "resp": 12.0}, {C.APNEA}),  # the device's apnea flag wins
    ],
)
def test_at_once_conditions_fire_on_the_reading_itself(values, expected):
    assert Place().read(0, **values) == expected


@pytest.mark.parametrize(
    ("first", "second", "expected"),
    [
        # critical clears at 85 and above, and not on "no signal"
        ({"spo2": 80.0}, {"spo2": 84.9}, {C.SPO2_CRITICAL}),
        ({"spo2": 80.0}, {"spo2": 85.0}, set()),
        ({"spo2": 80.0}, {"spo2": 0.0}, {C.SPO2_CRITICAL}),
        ({"spo2": 80.0}, {"spo2": None}, {C.SPO2_CRITICAL}),
        ({"spo2": 80.0}, {"spo2": 8388607.0}, {C.SPO2_CRITICAL}),
        # slow breathing clears above 7; a 0 is worse, not better
        ({"resp": 5.0}, {"resp": 7.0}, {C.RESP_LOW}),
        ({"resp": 5.0}, {"resp": 7.1}, set()),
        ({"resp": 5.0}, {"resp": 0.0}, {C.RESP_LOW}),
        ({"resp": 5.0}, {"resp": None}, {C.RESP_LOW}),
        ({"resp": 5.0}, {"resp": -100.0}, {C.RESP_LOW}),
        # apnea clears only on a breath
        ({"apnea": True}, {"resp": 12.0}, set()),
        ({"apnea": True}, {"resp": 0.0}, {C.APNEA}),
        ({"apnea": True}, {"resp": None}, {C.APNEA}),
        ({"apnea": True, "resp": None}, {"resp": None, "spo2": 96.0}, {C.APNEA}),
    ],
)
def test_what_clears_an_at_once_condition(first, second, expected):
    place = Place()
    place.read(0, **first)
    assert place.read(1, **second) == expected


def test_apnea_survives_a_gap_until_a_breath():
    place = Place(cadence_s=60)
    place.read(0, apnea=True, resp=None)
    assert C.APNEA in place.read(200, resp=0.0)
    assert place.read(201, resp=10.0) == set()


def test_apnea_flags_count_toward_no_breath():
    place = Place()
    assert place.series(0, 19, apnea=True, resp=None) == {C.APNEA}
    assert place.read(20, apnea=True, resp=None) == {C.APNEA, C.NO_BREATH}
    assert place.read(21, resp=0.0) == {C.APNEA, C.NO_BREATH}
    assert place.read(22, resp=11.0) == set()


def test_slow_breathing_then_no_breath():
    place = Place()
    place.read(0, resp=5.0)
    assert place.series(1, 20, resp=0.0) == {C.RESP_LOW}
    assert place.read(21, resp=0.0) == {C.RESP_LOW, C.NO_BREATH}
    assert place.read(22, resp=3.0) == {C.RESP_LOW}
    assert place.read(23, resp=12.0) == set()


# -- desaturation --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("readings", "expected"),
    [
        ([(0, 98.0), (10, 94.0)], True),  # 4 points within 10 s
        ([(0, 98.0), (10, 94.1)], False),  # 3.9 points
        ([(0, 98.0), (10.1, 94.0)], False),  # 10.1 s apart: not rapid
        ([(0, 98.0), (5, 93.0)], True),
        ([(0, 98.0), (6, 96.0), (12, 94.0)], False),  # 4 points, but over 12 s
        ([(0, 98.0), (3, 99.0), (6, 95.0)], True),  # from the highest in the window
        ([(0, 98.0), (3, 0.0), (6, 93.0)], True),  # probe off in between: usable values count
        ([(0, 98.0), (1, 0.0)], False),  # probe off is not a fall
        ([(0, 98.0), (1, -100.0)], False),  # nor is a sentinel
        ([(0, 98.0), (1, 8388607.0), (2, 97.0)], False),
    ],
)
def test_desaturation_boundaries(readings, expected):
    place = Place()
    got: set[Condition] = set()
    for seconds, spo2 in readings:
        got = place.read(seconds, spo2=spo2)
    assert (C.DESATURATION in got) is expected


@pytest.mark.parametrize(
    ("after", "stays"),
    [(94.0, True), (93.0, True), (94.1, False), (97.0, False), (0.0, True), (None, True)],
)
def test_desaturation_clears_when_back_within_four_points(after, stays):
    place = Place()
    place.read(0, spo2=98.0)
    assert C.DESATURATION in place.read(5, spo2=94.0)
    assert (C.DESATURATION in place.read(6, spo2=after)) is stays


def test_a_long_slow_fall_is_not_a_desaturation_but_is_low():
    place = Place()
    got = set()
    for i in range(20):
        got = place.read(i * 3, spo2=97.0 - i)  # 1 point every 3 s, down to 78
    assert C.DESATURATION not in got
    assert got >= {C.SPO2_LOW, C.SPO2_CRITICAL}


# -- "no data" and sentinels ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("function", "raw", "usable"),
    [
        (usable_spo2, None, None),
        (usable_spo2, 0.0, None),
        (usable_spo2, -100.0, None),
        (usable_spo2, 8388607.0, None),
        (usable_spo2, 100.1, None),
        (usable_spo2, math.nan, None),
        (usable_spo2, math.inf, None),
        (usable_spo2, 100.0, 100.0),
        (usable_spo2, 0.1, 0.1),
        (usable_pulse, 0.0, None),
        (usable_pulse, 277.0, None),
        (usable_pulse, 250.0, 250.0),
        (usable_pulse, 8388607.0, None),
        (usable_pulse, 30.0, 30.0),
        (usable_resp, 0.0, 0.0),  # no breath is a value
        (usable_resp, -100.0, None),
        (usable_resp, 8388607.0, None),
        (usable_resp, 120.0, 120.0),
        (usable_resp, 120.1, None),
        (usable_resp, None, None),
    ],
)
def test_what_counts_as_a_value(function, raw, usable):
    assert function(raw) == usable


@pytest.mark.parametrize(
    ("sentinel", "expected"),
    [
        # absent fields: a device that only counts breaths has nothing to lose
        (None, set()),
        # "no signal" on SpO2 and pulse for 60 s: lost, and nothing else
        (0.0, {C.MONITORING_LOST}),
        (-100.0, {C.MONITORING_LOST}),
        (8388607.0, {C.MONITORING_LOST}),
        (math.nan, {C.MONITORING_LOST}),
        (1e9, {C.MONITORING_LOST}),
    ],
)
def test_no_data_never_raises_a_vital_sign_alarm(sentinel, expected):
    place = Place()
    assert place.series(0, 60, spo2=sentinel, pulse=sentinel) == expected


def test_sentinel_resp_is_no_signal_not_no_breath():
    place = Place()
    assert place.series(0, 60, resp=-100.0) == {C.MONITORING_LOST}
    assert place.monitor.lost_channels(at(60)) == [("OX1", "resp")]


def test_the_277_artefact_after_a_probe_off_raises_no_pulse_alarm():
    """s25047 at 11:02-11:05: probe off, then 277 and 272.8, then probe off again."""
    place = Place(cadence_s=60)
    place.read(0, pulse=112.0)
    place.read(60, spo2=0.0, pulse=0.0)
    assert C.PULSE_HIGH not in place.read(120, pulse=277.0)
    assert C.PULSE_HIGH not in place.read(180, pulse=272.8)
    assert C.MONITORING_LOST in place.now(180)


def test_thresholds_follow_the_site_settings():
    strict = DEFAULT_SETTINGS.revised(spo2_low=92, spo2_low_delay_s=5, resp_low=8)
    place = Place(strict)
    assert place.series(0, 5, spo2=91.5) == {C.SPO2_LOW}
    assert place.read(6, resp=8.0) == {C.RESP_LOW}
    assert Place().series(0, 5, spo2=91.5) == set()
