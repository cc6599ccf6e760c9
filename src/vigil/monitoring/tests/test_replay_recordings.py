"""The two real monitor recordings, replayed through the rules and checked minute by minute
against what their README says they contain and against a simple count made from the CSV
here, independently of the rules' code."""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from vigil.monitoring.replay import Replay, Row, read_recording, replay_file, replay_rows
from vigil.monitoring.rules import DEFAULT_SETTINGS, Condition, RuleSettings

C = Condition
VITALS = Path(__file__).resolve().parents[1] / "data" / "vitals"
S25047 = VITALS / "s25047-numerics-per-minute.csv"
S00001 = VITALS / "s00001-numerics-per-minute.csv"
README = VITALS / "README.md"


@dataclass(frozen=True)
class Minute:
    time: datetime
    spo2: float
    pulse: float
    resp: float


def minutes(path: Path) -> list[Minute]:
    with path.open(encoding="utf-8", newline="") as f:
        return [
            Minute(
                datetime.fromisoformat(r["time"]),
                float(r["spo2"]),
                float(r["pulse"]),
                float(r["resp"]),
            )
            for r in csv.DictReader(f)
        ]


@pytest.fixture(scope="module")
def s25047() -> tuple[list[Minute], Replay]:
    return minutes(S25047), replay_file(S25047)


@pytest.fixture(scope="module")
def s00001() -> tuple[list[Minute], Replay]:
    return minutes(S00001), replay_file(S00001)


def active(replay: Replay, condition: Condition, moment: datetime) -> bool:
    return any(e.active_at(moment) for e in replay.of(condition))


def at(rows: list[Minute], hhmm: str) -> datetime:
    return next(r.time for r in rows if r.time.strftime("%H:%M") == hhmm)


# -- the expected alarms, counted from the CSV without the rules' code ------------------------
#
# One row a minute, so "two rows in a row" spans 60 s, more than every default delay (15 s and
# 20 s), and a row with "no signal" between two abnormal ones is a 120 s gap, more than the 90 s
# data-loss window, which breaks a run that has not yet proved itself.


def expected(rows: list[Minute], s: RuleSettings = DEFAULT_SETTINGS) -> dict[Condition, list[bool]]:
    spo2 = [r.spo2 if 0 < r.spo2 <= 100 else None for r in rows]
    pulse = [r.pulse if 0 < r.pulse <= s.pulse_max_valid else None for r in rows]
    resp = [r.resp for r in rows]  # these files have a rate in every row, 0 included

    def latest(values: list[float | None], i: int) -> float | None:
        return next((values[k] for k in range(i, -1, -1) if values[k] is not None), None)

    def held(values: list[float | None], abnormal, i: int) -> bool:
        """Abnormal in two rows in a row since the last normal value, up to row i."""
        for k in range(i, 0, -1):
            if values[k] is not None and not abnormal(values[k]):
                return False
            if all(values[m] is not None and abnormal(values[m]) for m in (k - 1, k)):
                return True
        return False

    n = range(len(rows))
    return {
        C.SPO2_CRITICAL: [(latest(spo2, i) or 100) < s.spo2_critical for i in n],
        C.SPO2_LOW: [held(spo2, lambda v: v < s.spo2_low, i) for i in n],
        C.PULSE_LOW: [held(pulse, lambda v: v < s.pulse_low, i) for i in n],
        C.PULSE_HIGH: [held(pulse, lambda v: v > s.pulse_high, i) for i in n],
        C.RESP_LOW: [(latest([v or None for v in resp], i) or 99) <= s.resp_low for i in n],
        C.NO_BREATH: [held(resp, lambda v: v == 0, i) for i in n],
        # the first row is the watch's start: the probe gets its 10 s
        C.MONITORING_LOST: [i > 0 and (spo2[i] is None or pulse[i] is None) for i in n],
        # no two rows are within 10 s of each other, so no fall can be rapid
        C.DESATURATION: [False for _ in n],
    }


def runs(flags: list[bool]) -> int:
    return sum(1 for i, flag in enumerate(flags) if flag and (i == 0 or not flags[i - 1]))


def mismatches(rows: list[Minute], replay: Replay, condition: Condition) -> list[str]:
    want = expected(rows, replay.settings)[condition]
    return [
        f"{r.time:%H:%M} spo2={r.spo2} pulse={r.pulse} resp={r.resp}: "
        f"expected {'an alarm' if flag else 'none'}"
        for r, flag in zip(rows, want, strict=True)
        if active(replay, condition, r.time) != flag
    ]


CHECKED = [
    C.SPO2_LOW,
    C.SPO2_CRITICAL,
    C.DESATURATION,
    C.RESP_LOW,
    C.NO_BREATH,
    C.PULSE_LOW,
    C.PULSE_HIGH,
    C.MONITORING_LOST,
]


@pytest.mark.parametrize("condition", CHECKED)
@pytest.mark.parametrize("recording", ["s25047", "s00001"])
def test_every_minute_matches_the_independent_count(recording, condition, request):
    rows, replay = request.getfixturevalue(recording)
    assert mismatches(rows, replay, condition) == []
    assert len(replay.of(condition)) == runs(expected(rows)[condition])


def test_nothing_else_is_raised(s25047, s00001):
    for _, replay in (s25047, s00001):
        assert {e.condition for e in replay.episodes} <= set(CHECKED)
        assert {e.place for e in replay.episodes} == {"B1"}


# -- the README's account of the recordings --------------------------------------------------


def readme_says(pattern: str) -> int:
    text = README.read_text(encoding="utf-8")
    found = re.search(pattern, text)
    assert found, f"README no longer says {pattern!r}"
    return int(found.group(1).replace(",", ""))


def test_the_copies_hold_what_the_readme_says():
    text = README.read_text(encoding="utf-8")
    assert text.startswith("> Copied from the project's")
    assert "# Real vital-sign recordings (per-minute numerics)" in text

    rows = minutes(S25047)
    assert len(rows) == readme_says(r"s25047-numerics-per-minute\.csv \| (\d+) min")
    assert sum(0 < r.spo2 < 90 for r in rows) == readme_says(r"(\d+) min with SpO2 < 90%")
    assert sum(0 < r.spo2 < 85 for r in rows) == readme_says(r"\((\d+) of them < 85%\)")
    assert sum(r.spo2 == 0 for r in rows) == readme_says(r"(\d+) min with SpO2 = 0")
    assert sum(0 < r.resp < 8 for r in rows) == readme_says(r"(\d+) min with 0 < RR < 8")
    assert sum(r.resp == 0 for r in rows) == readme_says(r"(\d+) min with RR = 0")
    assert [r.pulse for r in rows if r.pulse > 250] == [277.0, 272.8]  # see test_the_277_...

    rows = minutes(S00001)
    assert len(rows) == readme_says(r"s00001-numerics-per-minute\.csv \| ([\d,]+) min")
    assert "SpO2 never below 90% while the probe is on" in text
    assert not any(0 < r.spo2 < 90 for r in rows)
    assert sum(r.spo2 == 0 for r in rows) == readme_says(
        r"([\d,]+) min with SpO2 = 0 \(probe off\); "
    )
    assert sum(0 < r.resp < 8 for r in rows) == readme_says(r"probe off\); (\d+) min with 0 < RR")
    assert sum(r.resp == 0 for r in rows) == readme_says(r"(\d+) min with RR = 0 \|")


def test_s25047_spo2_alarms_during_its_desaturations(s25047):
    rows, replay = s25047
    critical = [r for r in rows if 0 < r.spo2 < 85]
    assert len(critical) == 11
    assert all(active(replay, C.SPO2_CRITICAL, r.time) for r in critical)
    low = replay.of(C.SPO2_LOW)
    assert [e.started_at.strftime("%H:%M") for e in low] == ["10:41", "10:55", "11:11"]
    assert all(active(replay, C.SPO2_LOW, at(rows, hhmm)) for hhmm in ("10:45", "10:57", "10:59"))


def test_s25047_single_readings_raise_nothing(s25047):
    rows, replay = s25047
    for hhmm in ("10:36", "10:15"):  # SpO2 88.2 and 89.5, each alone
        assert not active(replay, C.SPO2_LOW, at(rows, hhmm))
    assert not any(e.active_at(at(rows, "10:06")) for e in replay.episodes)  # RR 0, pulse 39.9


def test_s25047_breathing_alarms_where_the_rate_is_low_or_zero(s25047):
    rows, replay = s25047
    slow = [r for r in rows if 0 < r.resp <= 7]
    assert [r.time.strftime("%H:%M") for r in slow] == ["10:40", "10:41", "11:04", "11:08", "11:09"]
    assert all(active(replay, C.RESP_LOW, r.time) for r in slow)
    assert [
        (e.started_at.strftime("%H:%M"), e.ended_at.strftime("%H:%M"))
        for e in replay.of(C.NO_BREATH)
    ] == [
        ("11:03", "11:04"),
        ("11:06", "11:07"),
    ]


def test_s25047_monitoring_lost_wherever_the_probe_is_off(s25047):
    rows, replay = s25047
    off = [r for r in rows[1:] if r.spo2 == 0]
    assert len(off) == 10
    assert all(active(replay, C.MONITORING_LOST, r.time) for r in off)
    assert not any(active(replay, C.SPO2_CRITICAL, r.time) for r in rows[:14])


def test_the_277_artefact_raises_no_pulse_alarm(s25047):
    rows, replay = s25047
    assert [r.pulse for r in rows if r.time in (at(rows, "11:03"), at(rows, "11:04"))] == [
        277.0,
        272.8,
    ]
    assert not active(replay, C.PULSE_HIGH, at(rows, "11:03"))
    assert not active(replay, C.PULSE_HIGH, at(rows, "11:04"))
    assert active(replay, C.MONITORING_LOST, at(rows, "11:04"))
    # The one pulse_high is the real tachycardia of the second desaturation (143, 147).
    assert [e.started_at.strftime("%H:%M") for e in replay.of(C.PULSE_HIGH)] == ["10:59"]


def test_taking_277_as_a_pulse_would_raise_pulse_high(s25047):
    """What the check above guards against: two readings above 140 in a row are sustained."""
    rows, _ = s25047
    credulous = replay_file(S25047, RuleSettings(pulse_max_valid=300))
    assert active(credulous, C.PULSE_HIGH, at(rows, "11:04"))


def test_s00001_has_no_spo2_alarm_at_all(s00001):
    _, replay = s00001
    for condition in (C.SPO2_LOW, C.SPO2_CRITICAL, C.DESATURATION):
        assert replay.of(condition) == []


def test_s00001_spo2_rules_do_see_its_readings():
    """The empty result above is not for want of SpO2 values: a stricter limit finds some."""
    strict = replay_file(S00001, RuleSettings(spo2_low=95))
    assert strict.of(C.SPO2_LOW)
    assert strict.of(C.SPO2_CRITICAL) == []


def test_s00001_monitoring_lost_for_its_probe_off_minutes(s00001):
    rows, replay = s00001
    off = [r for r in rows if r.spo2 == 0]
    assert len(off) == 363
    lost = [r for r in off if active(replay, C.MONITORING_LOST, r.time)]
    assert lost == off[1:]  # all but the first row, where the watch (and its 10 s) begins


def test_s00001_breathing_alarms_where_the_rate_is_low_or_zero(s00001):
    rows, replay = s00001
    slow = [r for r in rows if 0 < r.resp <= 7]
    assert len(slow) == 10
    assert all(active(replay, C.RESP_LOW, r.time) for r in slow)
    between = [r for r in rows if 7 < r.resp < 8]
    assert len(between) == 20
    assert not any(active(replay, C.RESP_LOW, r.time) for r in between)
    zero_pairs = [b for a, b in zip(rows, rows[1:], strict=False) if a.resp == 0 == b.resp]
    assert zero_pairs
    assert all(active(replay, C.NO_BREATH, r.time) for r in zero_pairs)


def test_s00001_at_five_seconds_a_row_probe_offs_are_still_not_desaturations():
    """Re-timed so that "within 10 s" applies: only real falls of 4 points are rapid."""
    rows = read_recording(S00001)
    start = rows[0].time
    fast = [
        Row(r.line, start + timedelta(seconds=5 * i), r.place, r.spo2, r.pulse, r.resp)
        for i, r in enumerate(rows)
    ]
    replay = replay_rows(fast)
    usable = [(r.time, r.spo2) for r in fast if r.spo2 and 0 < r.spo2 <= 100]
    falls = {
        b_time
        for (a_time, a), (b_time, b) in zip(usable, usable[1:], strict=False)
        if b_time - a_time <= timedelta(seconds=10) and a - b >= 4
    }
    starts = {e.started_at for e in replay.of(C.DESATURATION)}
    assert falls  # one real fall of 4.4 points
    assert starts == falls
    assert replay.of(C.SPO2_LOW) == replay.of(C.SPO2_CRITICAL) == []
