"""Reading a study's CSV data into a complete, checked panel of periods by units.

Every check reports the file, the 1-based data row (line = row + 1, the header being line 1) and
the problem, and all problems found are reported together so a user fixes a file in one pass.
"""

from __future__ import annotations

import csv
import io
import math
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from vigil.research import periods as P
from vigil.research.errors import Problem, StudyError, raise_if

# The label of the only unit when [data] names no unit column.
SINGLE_UNIT = "all"

# Words that public tables put where a small count was withheld (B.C.'s own files spell it
# "Surpressed"); they are reported as withheld counts rather than as unreadable numbers.
_SUPPRESSED = {
    "suppressed",
    "surpressed",
    "supressed",
    "s",
    "x",
    "*",
    "<5",
    "<10",
    "n/a",
    "na",
    "nan",
    "-",
    "--",
    "..",
    ".",
    "null",
    "none",
}


@dataclass(frozen=True)
class Panel:
    file: str  # the name shown in messages
    path: Path
    frequency: str  # "year" or "month"
    periods: pd.PeriodIndex
    units: tuple[str, ...]
    values: pd.DataFrame  # periods x units
    population: pd.DataFrame | None  # periods x units, when the data give it
    rows: pd.DataFrame  # periods x units: the 1-based data row each value came from
    value_name: str
    single_series: bool


def _text(path: Path, display: str, content: bytes | None) -> str:
    """The whole file as text, decoded at once, so a byte that is not UTF-8 anywhere in it is
    reported with its line rather than failing half-way through the reading."""
    if content is None:
        try:
            content = path.read_bytes()
        except FileNotFoundError:
            raise StudyError(Problem(display, "data file not found")) from None
        except OSError as exc:
            raise StudyError(Problem(display, f"cannot be read ({exc.strerror})")) from None
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = content[: exc.start].count(b"\n") + 1
        raise StudyError(
            Problem(
                display,
                f"not UTF-8 text ({exc.reason}); save the file as CSV in UTF-8",
                line=line,
            )
        ) from None


def _header(text: str) -> list[str]:
    return next(csv.reader(io.StringIO(text, newline="")), [])


def _read(text: str, display: str) -> pd.DataFrame:
    try:
        frame = pd.read_csv(
            io.StringIO(text, newline=""),
            dtype=str,
            keep_default_na=False,
            skip_blank_lines=False,
        )
    except pd.errors.EmptyDataError:
        raise StudyError(Problem(display, "the file is empty")) from None
    except pd.errors.ParserError as exc:
        raise StudyError(Problem(display, f"cannot be read as CSV: {exc}".strip())) from None
    frame.columns = [str(c).strip() for c in frame.columns]
    return frame


def _number(text: str, name: str) -> tuple[float | None, str | None]:
    stripped = text.strip()
    if not stripped:
        return None, f"{name} is empty"
    if stripped.lower() in _SUPPRESSED:
        return None, (
            f"{name} is withheld ('{stripped}'); every period needs its value, so fill it in "
            "from the source or leave this unit out of the study"
        )
    try:
        number = float(stripped)
    except ValueError:
        hint = " (write numbers without thousands separators)" if "," in stripped else ""
        return None, f"{name} '{stripped}' is not a number{hint}"
    if not math.isfinite(number):
        return None, f"{name} '{stripped}' is not a finite number"
    return number, None


def _column_problems(header: list[str], frame: pd.DataFrame, display: str, needed: dict[str, str]):
    problems: list[Problem] = []
    stripped = [h.strip() for h in header]
    for name, count in Counter(stripped).items():
        if count > 1 and name in needed.values():
            places = ", ".join(str(i + 1) for i, h in enumerate(stripped) if h == name)
            problems.append(
                Problem(
                    display,
                    f"the header repeats column '{name}' (columns {places}); "
                    "it is not clear which one is meant",
                    line=1,
                )
            )
    for key, name in needed.items():
        if name in frame.columns:
            continue
        close = [c for c in frame.columns if c.lower() == name.lower()]
        hint = f"; did you mean '{close[0]}'?" if close else ""
        problems.append(
            Problem(
                display,
                f"no column '{name}' (named by [data] {key}); the header has: "
                f"{', '.join(frame.columns)}{hint}",
                line=1,
            )
        )
    return problems


def _resolve_frequency(
    kinds: Counter, declared: str | None, display: str, time_col: str, dates: list
) -> tuple[str | None, list[Problem]]:
    kind = kinds.most_common(1)[0][0]
    if kind in ("year", "month"):
        if declared and declared != kind:
            return None, [
                Problem(
                    display,
                    f"[data] frequency is '{declared}' but column '{time_col}' holds {kind}s",
                )
            ]
        return kind, []
    if declared:
        return declared, []
    # A date column names the first day of each period; all 1 January means a yearly series.
    if all(tv.month == 1 and tv.day == 1 for _, _, tv in dates):
        return "year", []
    return "month", []


def _date_problems(dates: list, frequency: str, display: str) -> list[Problem]:
    problems: list[Problem] = []
    for row, text, tv in dates:
        if frequency == "month" and tv.day != 1:
            what = (
                f"date {text.strip()} is not the first day of a month; in this monthly column "
                "every date must be the first day of its month"
            )
            if tv.day <= 12 and tv.month == 1:
                what += f" (day and month look swapped: {tv.year:04d}-{tv.day:02d}-01 may be meant)"
            problems.append(Problem(display, what, row=row, line=row + 1))
        elif frequency == "year" and (tv.month, tv.day) != (1, 1):
            problems.append(
                Problem(
                    display,
                    f"date {text.strip()} is not 1 January; in this yearly column every date "
                    "must be the first day of its year",
                    row=row,
                    line=row + 1,
                )
            )
    return problems


def _runs(missing: list[pd.Period]) -> list[tuple[pd.Period, pd.Period]]:
    runs: list[tuple[pd.Period, pd.Period]] = []
    for period in missing:
        if runs and period == runs[-1][1] + 1:
            runs[-1] = (runs[-1][0], period)
        else:
            runs.append((period, period))
    return runs


def load_panel(
    path: Path,
    display: str,
    *,
    unit: str | None,
    time: str,
    value: str,
    population: str | None,
    frequency: str | None,
    content: bytes | None = None,
) -> Panel:
    """The panel of the CSV file at `path`, or of `content` (an uploaded file) when given;
    `display` names the file in every message."""
    text = _text(path, display, content)
    header = _header(text)
    frame = _read(text, display)
    needed = {"time": time, "value": value}
    if unit:
        needed["unit"] = unit
    if population:
        needed["population"] = population
    raise_if(_column_problems(header, frame, display, needed))
    if frame.empty:
        raise StudyError(Problem(display, "the file has a header but no data rows"))

    problems: list[Problem] = []
    time_texts = frame[time].tolist()
    day_first, order_problem = P.slashed_order(time_texts)
    if order_problem:
        problems.append(Problem(display, f"column '{time}': {order_problem}"))

    records: list[tuple[int, str, str, P.TimeValue, float, float | None]] = []
    for i, raw in enumerate(frame.itertuples(index=False)):
        row = i + 1
        fields = dict(zip(frame.columns, raw, strict=True))
        if not any(str(v).strip() for v in fields.values()):
            continue  # a blank line carries no period
        here = {"row": row, "line": row + 1}
        label = SINGLE_UNIT
        if unit:
            label = fields[unit].strip()
            if not label:
                problems.append(Problem(display, f"{unit} is empty", **here))
                continue
        time_text = fields[time]
        try:
            tv = P.parse_time(time_text, day_first=day_first)
        except P.TimeParseError as exc:
            problems.append(Problem(display, f"{time}: {exc}", **here))
            tv = None
        number, problem = _number(fields[value], value)
        if problem:
            problems.append(Problem(display, problem, **here))
        elif number is not None and number < 0:
            problems.append(
                Problem(display, f"{value} is negative ({fields[value].strip()})", **here)
            )
            number = None
        people: float | None = None
        if population:
            people, problem = _number(fields[population], population)
            if problem:
                problems.append(Problem(display, problem, **here))
            elif people is not None and people <= 0:
                problems.append(
                    Problem(
                        display,
                        f"{population} must be positive, not {fields[population].strip()}",
                        **here,
                    )
                )
                people = None
        if tv is not None and number is not None and (people is not None or not population):
            records.append((row, label, time_text, tv, number, people))
        elif tv is not None:
            # Keep the row for the period checks below even though its value is unusable.
            records.append((row, label, time_text, tv, math.nan, people))

    if not records:
        raise_if(problems)
        raise StudyError(Problem(display, "no usable data rows"))

    kinds = Counter(tv.kind for _, _, _, tv, _, _ in records)
    column_kind = kinds.most_common(1)[0][0]
    if len(kinds) > 1:
        for row, _, text, tv, _, _ in records:
            if tv.kind != column_kind:
                problems.append(
                    Problem(
                        display,
                        f"{time} '{text.strip()}' is a {tv.kind} but most rows of this column "
                        f"hold {column_kind}s",
                        row=row,
                        line=row + 1,
                    )
                )
        records = [r for r in records if r[3].kind == column_kind]
    dates = [(row, text, tv) for row, _, text, tv, _, _ in records if tv.kind == "date"]
    freq, freq_problems = _resolve_frequency(kinds, frequency, display, time, dates)
    problems += freq_problems
    if freq is None:
        raise_if(problems)
        raise AssertionError("unreachable: a frequency problem was recorded")
    bad_dates = _date_problems(dates, freq, display)
    problems += bad_dates
    bad_rows = {p.row for p in bad_dates}

    seen: dict[tuple[str, pd.Period], int] = {}
    cells: list[tuple[str, pd.Period, int, float, float | None]] = []
    for row, label, text, tv, number, people in records:
        if row in bad_rows:
            continue
        period = tv.period(freq)
        key = (label, period)
        if key in seen:
            of_unit = f" of {unit} '{label}'" if unit else ""
            problems.append(
                Problem(
                    display,
                    f"{freq} {period}{of_unit} appears twice: on row {seen[key]} and here "
                    f"({time} '{text.strip()}')",
                    row=row,
                    line=row + 1,
                )
            )
            continue
        seen[key] = row
        cells.append((label, period, row, number, people))
    raise_if(problems)

    units = tuple(dict.fromkeys(label for label, *_ in cells))
    first = min(period for _, period, *_ in cells)
    last = max(period for _, period, *_ in cells)
    index = pd.period_range(first, last, freq=P.PANDAS_FREQ[freq])
    values = pd.DataFrame(math.nan, index=index, columns=list(units))
    rows = pd.DataFrame(0, index=index, columns=list(units), dtype="int64")
    people_frame = pd.DataFrame(math.nan, index=index, columns=list(units)) if population else None
    for label, period, row, number, people in cells:
        values.at[period, label] = number
        rows.at[period, label] = row
        if people_frame is not None:
            people_frame.at[period, label] = people

    for label in units:
        present = rows[label] > 0
        missing = list(index[~present.to_numpy()])
        for begin, end in _runs(missing):
            span = f"{begin}" if begin == end else f"{begin} to {end}"
            of_unit = f" for {unit} '{label}'" if unit else ""
            before = rows[label][rows.index < begin]
            before = before[before > 0]
            if len(before):
                where = {"row": int(before.iloc[-1]), "line": int(before.iloc[-1]) + 1}
                what = f"no row{of_unit} for {freq} {span}, which should follow this row"
            else:
                after = rows[label][rows.index > end]
                after = after[after > 0]
                where = {"row": int(after.iloc[0]), "line": int(after.iloc[0]) + 1}
                what = (
                    f"no row{of_unit} for {freq} {span}, before this row; the data of other "
                    f"units start at {first}"
                )
            problems.append(Problem(display, f"missing periods: {what}", **where))
    raise_if(problems)

    return Panel(
        file=display,
        path=path,
        frequency=freq,
        periods=index,
        units=units,
        values=values,
        population=people_frame,
        rows=rows,
        value_name=value,
        single_series=unit is None,
    )
