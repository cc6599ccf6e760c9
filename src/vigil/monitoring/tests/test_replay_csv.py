"""Reading recordings (`replay.py`) and `vigil replay`: clear errors, missing values, output."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.monitoring.management.commands.replay import Command
from vigil.monitoring.replay import (
    CSV_FORMAT,
    ReplayError,
    cadence_of,
    parse_recording,
    read_recording,
    replay_file,
    replay_rows,
)
from vigil.monitoring.rules import Condition

C = Condition
VITALS = Path(__file__).resolve().parents[1] / "data" / "vitals"
S25047 = VITALS / "s25047-numerics-per-minute.csv"
HEADER = "time,place,spo2,pulse,resp\n"


def write(tmp_path: Path, text: str, name: str = "rec.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def replay(*args: str) -> str:
    out = io.StringIO()
    call_command("replay", *args, stdout=out)
    return out.getvalue()


# -- errors: file, line and problem ----------------------------------------------------------

ROW = "2026-01-05T10:00:00+00:00,B1,97,70,14\n"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", r"rec\.csv: empty, expected a header row: time,place,spo2,pulse,resp"),
        ("\n\n", r"rec\.csv: empty"),
        (HEADER, r"rec\.csv: has a header but no readings"),
        ("time,place,spo2,pulse\n" + ROW, r"rec\.csv, line 1: missing column\(s\) resp"),
        ("when,where,spo2,pulse,resp\n", r"line 1: missing column\(s\) time, place"),
        ("time,place,spo2,spo2,pulse,resp\n", r"line 1: column\(s\) spo2 appear twice"),
        (HEADER + "yesterday,B1,97,70,14\n", r"rec\.csv, line 2: cannot read the time 'yesterday'"),
        (HEADER + "2026-01-05 25:00:00+00:00,B1,97,70,14\n", r"line 2: cannot read the time"),
        (HEADER + ",B1,97,70,14\n", r"line 2: the time is empty"),
        (HEADER + "2026-01-05T10:00:00,B1,97,70,14\n", r"line 2: the time .* has no UTC offset"),
        (HEADER + "2026-01-05T10:00:00+00:00,,97,70,14\n", r"line 2: the place is empty"),
        (HEADER + ROW + "2026-01-05T09:59:00+00:00,B1,97,70,14\n", r"line 3: time goes backwards"),
        (HEADER + "2026-01-05T10:00:00+00:00,B1,ninety,70,14\n", r"line 2: spo2 is 'ninety', not"),
        (HEADER + "2026-01-05T10:00:00+00:00,B1,97,70,14 /min\n", r"line 2: resp is '14 /min'"),
        (HEADER + "2026-01-05T10:00:00+00:00,B1,97,nan,14\n", r"line 2: pulse is 'nan', not a"),
        (HEADER + "2026-01-05T10:00:00+00:00,B1,97,inf,14\n", r"line 2: pulse is 'inf', not a"),
        (
            HEADER + "2026-01-05T10:00:00+00:00,B1,97,70\n",
            r"line 2: 4 cells where the header has 5",
        ),
        (HEADER + ROW + "2026-01-05T10:01:00+00:00,B1,97,70,14,x\n", r"line 3: 6 cells"),
        (HEADER + '2026-01-05T10:00:00+00:00,"B1,97,70,14\n', r"line \d+: "),
    ],
)
def test_bad_recordings_are_refused_naming_file_line_and_problem(tmp_path, text, message):
    path = write(tmp_path, text)
    with pytest.raises(ReplayError, match=message):
        read_recording(path)
    with pytest.raises(CommandError, match=message):
        replay(str(path))


def test_the_line_number_counts_blank_lines(tmp_path):
    path = write(tmp_path, HEADER + ROW + "\n\n" + "2026-01-05T10:01:00+00:00,B1,x,70,14\n")
    with pytest.raises(ReplayError, match=r"line 5: spo2 is 'x'"):
        read_recording(path)


def test_files_that_cannot_be_read(tmp_path):
    with pytest.raises(ReplayError, match=r"missing\.csv: no such file"):
        read_recording(tmp_path / "missing.csv")
    with pytest.raises(ReplayError, match="is a folder"):
        read_recording(tmp_path)
    latin = tmp_path / "latin.csv"
    latin.write_bytes(
        HEADER.encode() + "2026-01-05T10:00:00+00:00,Salle é,97,70,14\n".encode("latin-1")
    )
    with pytest.raises(ReplayError, match=r"latin\.csv: not UTF-8 text"):
        read_recording(latin)


# -- what is accepted ------------------------------------------------------------------------


def test_empty_cells_are_missing_values_and_other_columns_are_ignored(tmp_path):
    text = (
        "\ufeffTime,Place,SpO2,Pulse,Resp,note\r\n"
        "2026-01-05T10:00:00Z,B1,,70,,\r\n"
        "2026-01-05T11:01:00+01:00,B2,96.5, 71 ,0,whatever\r\n"
        "\r\n"
    )
    rows = read_recording(write(tmp_path, text))
    assert [(r.line, r.place, r.spo2, r.pulse, r.resp) for r in rows] == [
        (2, "B1", None, 70.0, None),
        (3, "B2", 96.5, 71.0, 0.0),
    ]
    assert rows[0].time == datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
    assert rows[1].time == datetime(2026, 1, 5, 10, 1, tzinfo=UTC)  # offsets are honoured


def test_rows_without_values_are_no_data_not_normal(tmp_path):
    empty = "".join(f"2026-01-05T10:{m:02d}:00+00:00,B1,,,\n" for m in range(1, 5))
    # Nothing usable since the recording began: lost once the 90 s window has passed (seen at
    # the next row, 10:02).
    result = replay_file(write(tmp_path, HEADER + "2026-01-05T10:00:00+00:00,B1,,,\n" + empty))
    assert [(e.condition, e.started_at.minute, e.ended_at) for e in result.episodes] == [
        (C.MONITORING_LOST, 2, None)
    ]
    # The same after one full reading: the vitals it had been sending fell silent.
    result = replay_file(
        write(tmp_path, HEADER + "2026-01-05T10:00:00+00:00,B1,97,70,14\n" + empty)
    )
    assert [(e.condition, e.started_at.minute, e.ended_at) for e in result.episodes] == [
        (C.MONITORING_LOST, 2, None)
    ]


def test_a_gap_in_the_rows_is_lost_at_the_end_of_the_window(tmp_path):
    text = HEADER + (
        "2026-01-05T10:00:00+00:00,B1,97,70,14\n"
        "2026-01-05T10:01:00+00:00,B1,97,70,14\n"
        "2026-01-05T10:02:00+00:00,B1,97,70,14\n"
        "2026-01-05T10:06:00+00:00,B1,97,70,14\n"
    )
    result = replay_file(write(tmp_path, text))
    (lost,) = result.episodes
    assert lost.condition == C.MONITORING_LOST
    assert lost.started_at == datetime(2026, 1, 5, 10, 3, 30, tzinfo=UTC)
    assert lost.ended_at == datetime(2026, 1, 5, 10, 6, tzinfo=UTC)


def test_each_place_is_replayed_on_its_own(tmp_path):
    lines = [HEADER]
    for m in range(6):
        lines.append(f"2026-01-05T10:{m:02d}:00+00:00,B1,97,70,14\n")
        lines.append(f"2026-01-05T10:{m:02d}:00+00:00,B2,80,70,{'0' if m > 2 else '14'}\n")
        lines.append(f"2026-01-05T10:{m:02d}:30+00:00,B2,80,70,{'0' if m > 2 else '14'}\n")
    result = replay_file(write(tmp_path, "".join(lines)))
    assert {p.place: p.cadence for p in result.places} == {
        "B1": timedelta(minutes=1),
        "B2": timedelta(seconds=30),
    }
    assert {(e.place, e.condition) for e in result.episodes} == {
        ("B2", C.SPO2_CRITICAL),
        ("B2", C.SPO2_LOW),
        ("B2", C.NO_BREATH),
    }


@pytest.mark.parametrize(
    ("gaps", "cadence"),
    [([], None), ([0], None), ([60], 60), ([60, 60, 600], 60), ([1, 1, 5, 5, 5], 5)],
)
def test_cadence_is_the_usual_interval(gaps, cadence):
    t0 = datetime(2026, 1, 5, tzinfo=UTC)
    times = [t0]
    for gap in gaps:
        times.append(times[-1] + timedelta(seconds=gap))
    assert cadence_of(times) == (None if cadence is None else timedelta(seconds=cadence))


# -- properties ------------------------------------------------------------------------------


@settings(deadline=None)
@given(st.text(alphabet=st.sampled_from(list('time,place,spo2pulsresp\n"0123456789.:-+TZ B\r'))))
def test_any_text_is_either_a_recording_or_a_clear_error(text):
    try:
        rows = parse_recording(io.StringIO(HEADER + text, newline=""), "gen.csv")
    except ReplayError as error:
        assert str(error).startswith("gen.csv")
    else:
        assert rows
        assert all(a.time <= b.time for a, b in zip(rows, rows[1:], strict=False))


VALUE = st.one_of(st.none(), st.floats(-200, 300, allow_nan=False).map(lambda v: round(v, 3)))


@settings(deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 600), st.sampled_from(["B1", "B2", "W 3"]), VALUE, VALUE, VALUE),
        min_size=1,
        max_size=50,
    )
)
def test_written_rows_read_back_the_same_and_replay(rows):
    t0 = datetime(2026, 1, 5, 10, tzinfo=UTC)
    lines, expected, t = [HEADER], [], t0
    for gap, place, *values in rows:
        t += timedelta(seconds=gap)
        cells = ["" if v is None else repr(v) for v in values]
        lines.append(",".join([t.isoformat(), place, *cells]) + "\n")
        expected.append((t, place, *values))
    parsed = parse_recording(io.StringIO("".join(lines), newline=""), "gen.csv")
    assert [(r.time, r.place, r.spo2, r.pulse, r.resp) for r in parsed] == expected
    result = replay_rows(parsed)
    assert result.rows == len(rows)
    for e in result.episodes:
        # Rows of one instant are evaluated one by one, as the live engine does: a condition
        # that one of them shows and the next clears is still an alarm (start = end).
        assert e.ended_at is None or e.started_at <= e.ended_at


# -- the command -----------------------------------------------------------------------------


def test_the_table_names_the_recording_and_lists_the_alarms():
    out = replay(str(S25047))
    lines = out.splitlines()
    assert lines[0] == (
        "Replay of s25047-numerics-per-minute.csv: 72 readings, 2026-01-05T10:00:00+00:00 to "
        "2026-01-05T11:11:00+00:00; rules version 1."
    )
    assert lines[1] == "B1: 72 readings, one every 60 s; silence is data loss after 90 s."
    assert lines[3].split() == "place condition priority started ended minutes alarm".split()
    first = "B1 monitoring_lost medium (technical) 10:01:00 10:02:00 1 Monitoring lost"
    assert lines[4].split() == first.split()
    assert "B1     spo2_critical    high                11:10:00  (still on at end)" in out
    assert lines[-1] == (
        "17 alarms: monitoring_lost 5, no_breath 2, pulse_high 1, resp_low 3, "
        "spo2_critical 3, spo2_low 3"
    )


def test_json_output_lists_every_episode():
    data = json.loads(replay(str(S25047), "--json"))
    assert data["file"] == "s25047-numerics-per-minute.csv"
    assert data["rows"] == 72
    assert data["places"] == [
        {"place": "B1", "rows": 72, "cadence_s": 60.0, "data_loss_window_s": 90.0}
    ]
    assert data["settings"]["spo2_low"] == 90
    assert len(data["alarms"]) == len(replay_file(S25047).episodes)
    first = data["alarms"][0]
    assert first == {
        "place": "B1",
        "condition": "monitoring_lost",
        "label": "Monitoring lost",
        "priority": "medium",
        "technical": True,
        "started_at": "2026-01-05T10:01:00+00:00",
        "ended_at": "2026-01-05T10:02:00+00:00",
        "minutes": 1.0,
    }
    assert data["alarms"][-1]["ended_at"] is None


def test_rules_can_be_given_inline_or_as_a_file(tmp_path):
    default = json.loads(replay(str(S25047), "--json"))
    inline = json.loads(replay(str(S25047), "--json", "--rules", '{"pulse_high": 145}'))
    assert inline["settings"]["pulse_high"] == 145
    count = [sum(a["condition"] == "pulse_high" for a in d["alarms"]) for d in (default, inline)]
    assert count == [1, 0]  # 143.1 then 146.7: only one reading above 145
    rules = write(tmp_path, json.dumps({"version": 3, "resp_low": 5}), "rules.json")
    from_file = json.loads(replay(str(S25047), "--json", "--rules", str(rules)))
    assert (from_file["settings"]["version"], from_file["settings"]["resp_low"]) == (3, 5)


@pytest.mark.parametrize(
    ("rules", "message"),
    [
        ("{not json", r"--rules: not valid JSON"),
        ('{"spo2_low": 70}', r"--rules: spo2_low must be between 80 and 99, got 70"),
        ('{"spo2_critical": 95}', r"must not be above spo2_low"),
        ('{"sp02_low": 88}', r"unknown rule setting\(s\): sp02_low"),
        ("[1, 2]", r"must be a JSON object, got list"),
        ("no-such-rules.json", r"--rules: no-such-rules\.json cannot be read"),
    ],
)
def test_bad_rules_are_refused(rules, message):
    with pytest.raises(CommandError, match=message):
        replay(str(S25047), "--rules", rules)


def test_help_documents_the_csv_format():
    parser = Command().create_parser("vigil", "replay")
    text = parser.format_help()
    assert "time,place,spo2,pulse,resp" in text
    assert "empty cell = missing" in text
    assert "--rules JSON" in text
    assert CSV_FORMAT.splitlines()[0] in text


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    """`vigil replay ...` as a person types it (`python -m vigil` is the `vigil` script)."""
    return subprocess.run(
        [sys.executable, "-m", "vigil", "replay", *args],
        capture_output=True,
        text=True,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "vigil.settings"},
        timeout=60,
    )


def test_a_bad_recording_exits_non_zero_with_the_message(tmp_path):
    path = write(tmp_path, HEADER + ROW + "2026-01-05T09:00:00+00:00,B1,97,70,14\n")
    done = _run(str(path))
    assert done.returncode == 1
    assert "rec.csv, line 3: time goes backwards" in done.stderr
    assert done.stdout == ""
    ok = _run(str(S25047), "--json")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["rows"] == 72


def test_a_condition_shown_and_cleared_within_one_instant_is_still_an_episode():
    t0 = datetime(2026, 1, 5, 10, tzinfo=UTC)
    lines = [HEADER]
    for seconds, spo2 in ((0, 97.0), (5, 97.0), (10, 80.0), (10, 97.0), (15, 97.0)):
        lines.append(f"{(t0 + timedelta(seconds=seconds)).isoformat()},B1,{spo2},80,14\n")
    result = replay_rows(parse_recording(io.StringIO("".join(lines), newline=""), "gen.csv"))
    critical = [e for e in result.episodes if e.condition == "spo2_critical"]
    assert [(e.started_at, e.ended_at) for e in critical] == [
        (t0 + timedelta(seconds=10), t0 + timedelta(seconds=10))
    ]
