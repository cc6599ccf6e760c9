"""The time column of a study's data: a year (1989), a month (2003-09) or a date (2003-09-21).

Dates are read strictly. ISO forms are accepted as they are; day/month/year forms with slashes
are accepted only when the column itself settles the order (some value has a day above 12),
because "03/04/2016" alone could be 3 April or 4 March and a wrong guess moves deaths across the
intervention date without any visible sign.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

import pandas as pd

FREQUENCIES = ("year", "month")
PANDAS_FREQ = {"year": "Y", "month": "M"}
# Person-years contributed by one person during one period: months are taken as twelfths of a
# year, the convention of monthly mortality rates, so a rate does not depend on month length.
YEARS_PER_PERIOD = {"year": 1.0, "month": 1.0 / 12.0}

_YEAR = re.compile(r"(\d{4})(?:\.0+)?")
_MONTH = re.compile(r"(\d{4})-(\d{1,2})")
_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]00:00(?::00(?:\.0+)?)?)?")
_SLASHED = re.compile(r"(\d{1,2})[/.](\d{1,2})[/.](\d{4})")

EXPECTED = "a year (1989), a month (2003-09) or a date (2003-09-21)"


class TimeParseError(ValueError):
    """A time value that cannot be read, with the reason in plain words."""


@dataclass(frozen=True)
class TimeValue:
    kind: str  # "year", "month" or "date"
    year: int
    month: int = 1
    day: int = 1

    def period(self, frequency: str) -> pd.Period:
        """The period of `frequency` that contains this value."""
        if frequency == "year":
            return pd.Period(year=self.year, freq=PANDAS_FREQ["year"])
        return pd.Period(year=self.year, month=self.month, freq=PANDAS_FREQ["month"])

    def __str__(self) -> str:
        if self.kind == "year":
            return f"{self.year:04d}"
        if self.kind == "month":
            return f"{self.year:04d}-{self.month:02d}"
        return f"{self.year:04d}-{self.month:02d}-{self.day:02d}"


def _checked_date(text: str, year: int, month: int, day: int) -> TimeValue:
    try:
        dt.date(year, month, day)
    except ValueError as exc:
        raise TimeParseError(f"'{text}' is not a real date ({exc})") from None
    return TimeValue("date", year, month, day)


def parse_time(text: str, *, day_first: bool | None = None) -> TimeValue:
    """Read one ISO time value; slashed dates need `day_first` decided by the caller."""
    text = text.strip()
    if not text:
        raise TimeParseError("the time value is empty")
    if m := _YEAR.fullmatch(text):
        return TimeValue("year", int(m[1]))
    if m := _MONTH.fullmatch(text):
        year, month = int(m[1]), int(m[2])
        if not 1 <= month <= 12:
            raise TimeParseError(f"'{text}' has no month {month}")
        return TimeValue("month", year, month)
    if m := _DATE.fullmatch(text):
        return _checked_date(text, int(m[1]), int(m[2]), int(m[3]))
    if m := _SLASHED.fullmatch(text):
        first, second, year = int(m[1]), int(m[2]), int(m[3])
        if day_first is None:
            if first > 12 or second > 12:
                day_first = first > 12
            else:
                raise TimeParseError(
                    f"'{text}' is ambiguous: it could be day {first} of month {second} or "
                    f"day {second} of month {first}; write dates as YYYY-MM-DD"
                )
        day, month = (first, second) if day_first else (second, first)
        return _checked_date(text, year, month, day)
    raise TimeParseError(f"cannot read '{text}' as {EXPECTED}")


def parse_time_value(value: object) -> TimeValue:
    """A time given in the study file: a TOML string, date or date-time, or a bare year."""
    if isinstance(value, dt.datetime):
        return TimeValue("date", value.year, value.month, value.day)
    if isinstance(value, dt.date):
        return TimeValue("date", value.year, value.month, value.day)
    if isinstance(value, int) and not isinstance(value, bool):
        return parse_time(str(value))
    if isinstance(value, str):
        if _SLASHED.fullmatch(value.strip()):
            raise TimeParseError(
                f"'{value}' is not an ISO date; write it as YYYY-MM-DD, YYYY-MM or YYYY"
            )
        return parse_time(value)
    raise TimeParseError(f"expected {EXPECTED} as a string, got {value!r}")


def slashed_order(texts: list[str]) -> tuple[bool | None, str | None]:
    """Decide day-first or month-first for the slashed dates of one column.

    Returns (day_first, problem): day_first is None when nothing settles it (every value is
    ambiguous, then each is reported) and problem is set when the column contradicts itself.
    """
    day_first_seen = month_first_seen = False
    for text in texts:
        m = _SLASHED.fullmatch(text.strip())
        if not m:
            continue
        first, second = int(m[1]), int(m[2])
        day_first_seen |= first > 12
        month_first_seen |= second > 12
    if day_first_seen and month_first_seen:
        return None, (
            "the column mixes day/month/year and month/day/year dates; write dates as YYYY-MM-DD"
        )
    if day_first_seen:
        return True, None
    if month_first_seen:
        return False, None
    return None, None
