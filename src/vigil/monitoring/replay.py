"""Replay recorded vitals through the detection rules, on the recording's own clock.

Pure: read a CSV, run one `PlaceMonitor` per place on observation time, and return the alarm
episodes. `vigil replay` (management/commands/replay.py) prints them. No Django, no database.
"""

from __future__ import annotations

import csv
import io
import math
import statistics
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from vigil.monitoring.rules import (
    DEFAULT_SETTINGS,
    LABELS,
    PRIORITY,
    TECHNICAL,
    Condition,
    PlaceMonitor,
    Priority,
    RuleSettings,
)
from vigil.monitoring.vitals import Observation, normalise_device_id

COLUMNS = ("time", "place", "spo2", "pulse", "resp")

CSV_FORMAT = """\
Recording format (CSV, UTF-8, one header row, one row per reading, in time order):

  time,place,spo2,pulse,resp
  2026-01-05T10:00:00+00:00,B1,97.5,72,14

  time   ISO 8601 with a UTC offset (+00:00 or Z); must never go back in time
  place  the place the readings belong to (a booth, a seat); one file may hold several
  spo2   oxygen saturation, %            empty cell = missing
  pulse  pulse rate, beats per minute    empty cell = missing
  resp   breathing rate, breaths/min     empty cell = missing

Values are numbers. As live, SpO2 0 and pulse 0 mean "no signal" (probe off), sentinels such
as 8388607 or -100 mean "not available", and a breathing rate of 0 means no breath seen.
Other columns are ignored."""


class ReplayError(ValueError):
    """The recording cannot be replayed; the message names the file, the line and the problem."""


@dataclass(frozen=True)
class Row:
    line: int
    time: datetime
    place: str
    spo2: float | None
    pulse: float | None
    resp: float | None


@dataclass(frozen=True)
class Episode:
    """One alarm condition at one place, from the evaluation that first found it to the first
    that no longer did. `ended_at` is None when it still held at the end of the recording."""

    condition: Condition
    priority: Priority
    place: str
    started_at: datetime
    ended_at: datetime | None

    @property
    def label(self) -> str:
        return LABELS[self.condition]

    @property
    def technical(self) -> bool:
        return self.condition in TECHNICAL

    def duration(self, recording_end: datetime) -> timedelta:
        return (self.ended_at or recording_end) - self.started_at

    def active_at(self, moment: datetime) -> bool:
        return self.started_at <= moment and (self.ended_at is None or moment < self.ended_at)


@dataclass(frozen=True)
class PlaceReplay:
    place: str
    rows: int
    cadence: timedelta | None
    window: timedelta


@dataclass(frozen=True)
class Replay:
    source: str
    rows: int
    first: datetime
    last: datetime
    settings: RuleSettings
    places: tuple[PlaceReplay, ...]
    episodes: tuple[Episode, ...]

    def of(self, condition: Condition, place: str | None = None) -> list[Episode]:
        return [
            e
            for e in self.episodes
            if e.condition == condition and (place is None or e.place == place)
        ]


# -- reading ---------------------------------------------------------------------------------


def read_recording(path: Path | str) -> list[Row]:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ReplayError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise ReplayError(f"{path}: is a folder, not a CSV file") from None
    except UnicodeDecodeError as error:
        raise ReplayError(
            f"{path}: not UTF-8 text (byte {error.start} cannot be decoded)"
        ) from None
    except OSError as error:
        raise ReplayError(f"{path}: cannot be read ({error.strerror})") from None
    return parse_recording(io.StringIO(text, newline=""), path.name)


def parse_recording(lines: Iterable[str], name: str) -> list[Row]:
    """Rows of a recording, checked; the first problem raises ReplayError."""
    reader = csv.reader(lines)
    try:
        header = next(reader, None)
    except csv.Error as error:
        raise ReplayError(f"{name}, line 1: not valid CSV ({error})") from None
    if header is None or not any(cell.strip() for cell in header):
        raise ReplayError(f"{name}: empty, expected a header row: {','.join(COLUMNS)}")
    header = [cell.strip().lower() for cell in header]
    missing = [column for column in COLUMNS if column not in header]
    if missing:
        raise ReplayError(
            f"{name}, line 1: missing column(s) {', '.join(missing)}; "
            f"the header must name {','.join(COLUMNS)}"
        )
    doubled = sorted({cell for cell in header if cell in COLUMNS and header.count(cell) > 1})
    if doubled:
        raise ReplayError(f"{name}, line 1: column(s) {', '.join(doubled)} appear twice")
    index = {column: header.index(column) for column in COLUMNS}

    rows: list[Row] = []
    previous: Row | None = None
    while True:
        try:
            cells = next(reader, None)
        except csv.Error as error:
            raise ReplayError(f"{name}, line {reader.line_num}: not valid CSV ({error})") from None
        if cells is None:
            break
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue  # a blank line, as editors leave at the end
        if len(cells) != len(header):
            raise ReplayError(
                f"{name}, line {line}: {len(cells)} cells where the header has {len(header)}"
            )
        where = f"{name}, line {line}"
        time = _time(cells[index["time"]], where)
        place = cells[index["place"]].strip()
        if not place:
            raise ReplayError(f"{where}: the place is empty")
        row = Row(
            line=line,
            time=time,
            place=place,
            spo2=_value(cells[index["spo2"]], "spo2", where),
            pulse=_value(cells[index["pulse"]], "pulse", where),
            resp=_value(cells[index["resp"]], "resp", where),
        )
        if previous is not None and row.time < previous.time:
            raise ReplayError(
                f"{where}: time goes backwards ({row.time.isoformat()} comes after "
                f"{previous.time.isoformat()} on line {previous.line})"
            )
        rows.append(row)
        previous = row
    if not rows:
        raise ReplayError(f"{name}: has a header but no readings")
    return rows


def _time(raw: str, where: str) -> datetime:
    text = raw.strip()
    if not text:
        raise ReplayError(f"{where}: the time is empty")
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise ReplayError(
            f"{where}: cannot read the time {text!r}; write ISO 8601 such as "
            "2026-01-05T10:00:00+00:00"
        ) from None
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ReplayError(
            f"{where}: the time {text!r} has no UTC offset; add one, e.g. {text}+00:00"
        )
    return moment


def _value(raw: str, column: str, where: str) -> float | None:
    text = raw.strip()
    if not text:
        return None
    try:
        number = float(text)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise ReplayError(
            f"{where}: {column} is {text!r}, not a number (leave it empty if missing)"
        )
    return number


# -- replaying -------------------------------------------------------------------------------


def cadence_of(times: list[datetime]) -> timedelta | None:
    """The usual interval between readings (the median, so a few gaps do not stretch it)."""
    gaps = [b - a for a, b in zip(times, times[1:], strict=False) if b > a]
    if not gaps:
        return None
    return statistics.median_low(gaps)


def replay_rows(
    rows: list[Row], settings: RuleSettings = DEFAULT_SETTINGS, *, source: str = "recording"
) -> Replay:
    """Feed every row through a `PlaceMonitor` per place, on observation time.

    The place counts as occupied and its device as bound for the whole recording. The rules are
    evaluated at every row, and also at the moment silence becomes data loss when rows stop for
    longer than the window, so an alarm starts at most one row later than it would live. Rows
    of one instant are evaluated one by one, as live: a condition that one shows and the next
    clears is an episode that starts and ends at that instant (live, it raises an alarm).
    """
    if not rows:
        raise ReplayError(f"{source}: no readings")
    by_place: dict[str, list[Row]] = {}
    for row in rows:
        by_place.setdefault(row.place, []).append(row)

    places: list[PlaceReplay] = []
    episodes: list[Episode] = []
    for place, place_rows in by_place.items():
        summary, found = _replay_place(place, place_rows, settings)
        places.append(summary)
        episodes.extend(found)

    episodes.sort(key=lambda e: (e.started_at, e.place, _PRIORITY_ORDER[e.priority], e.condition))
    return Replay(
        source=source,
        rows=len(rows),
        first=rows[0].time,
        last=rows[-1].time,
        settings=settings,
        places=tuple(places),
        episodes=tuple(episodes),
    )


_PRIORITY_ORDER = {Priority.HIGH: 0, Priority.MEDIUM: 1, Priority.LOW: 2}


def _replay_place(
    place: str, rows: list[Row], settings: RuleSettings
) -> tuple[PlaceReplay, list[Episode]]:
    cadence = cadence_of([row.time for row in rows])
    monitor = PlaceMonitor(settings, cadence=cadence)
    device = normalise_device_id(f"replay-{place}")
    episodes: list[Episode] = []
    open_since: dict[Condition, datetime] = {}

    def evaluate(now: datetime) -> None:
        active = monitor.evaluate(now, occupied=True, device_bound=True)
        for condition in sorted(set(open_since) - active):
            started = open_since.pop(condition)
            episodes.append(Episode(condition, PRIORITY[condition], place, started, now))
        for condition in sorted(active - set(open_since)):
            open_since[condition] = now

    previous: datetime | None = None
    for row in rows:
        if previous is not None and row.time - previous > monitor.window:
            evaluate(previous + monitor.window)
        obs = Observation(
            device_id=device,
            received_at=row.time,
            observed_at=row.time,
            spo2=row.spo2,
            pulse=row.pulse,
            resp=row.resp,
        )
        monitor.observe(obs, row.time)
        evaluate(row.time)
        previous = row.time
    for condition, started in open_since.items():
        episodes.append(Episode(condition, PRIORITY[condition], place, started, None))
    return PlaceReplay(place, len(rows), cadence, monitor.window), episodes


def replay_file(path: Path | str, settings: RuleSettings = DEFAULT_SETTINGS) -> Replay:
    return replay_rows(read_recording(path), settings, source=Path(path).name)
