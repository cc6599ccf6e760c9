"""What a study over Vigil's own records looks at: which sites, and which stretch of time."""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

import pandas as pd


@dataclass(frozen=True)
class Scope:
    label: str  # "Seattle CHEL" or "Seattle & King County (2 sites)", for the report
    kind: str  # "site" or "jurisdiction"
    site_ids: tuple[int, ...]
    site_names: tuple[str, ...]
    time_zone: str  # months and days are counted on the first site's local calendar
    first_day: date  # the first local day studied
    last_day: date  # the last local day studied (inclusive)
    now: datetime  # when the records were read; nothing after it exists yet

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    @property
    def start(self) -> datetime:
        return datetime.combine(self.first_day, time(0), tzinfo=self.tz)

    @property
    def end(self) -> datetime:
        """The end of the data: the end of the last day studied, or now if that is earlier.
        People are followed up (retention, treatment entry) until here, and no further."""
        return min(
            datetime.combine(self.last_day + timedelta(days=1), time(0), tzinfo=self.tz), self.now
        )

    @property
    def end_day(self) -> date:
        """The last local day with complete data."""
        end = self.end.astimezone(self.tz)
        return (
            end.date()
            if end.timetz().replace(tzinfo=None) != time(0)
            else end.date() - timedelta(days=1)
        )

    def months(self) -> list[pd.Period]:
        last = max(self.end_day, self.first_day)
        return list(pd.period_range(self.first_day, last, freq="M"))

    def local_day(self, at: datetime) -> date:
        return at.astimezone(self.tz).date()

    def header(self) -> dict[str, object]:
        return {
            "scope": self.kind,
            "scope_label": self.label,
            "sites": list(self.site_names),
            "first_day": self.first_day.isoformat(),
            "last_day": self.last_day.isoformat(),
            "data_end": self.end.isoformat(),
            "time_zone": self.time_zone,
        }
