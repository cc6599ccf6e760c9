"""Who is due for de-identification: pure logic, the clock passed in.

A site may set "de-identify participants inactive for N months" (blank: never). A person may
use several sites of the jurisdiction; the rule across them is that the longest retention
wins:

- the sites a person used are those of their visits, care records and referrals, and the
  site they were registered at (a person with none of these counts every site of the
  jurisdiction);
- if any of those sites keeps records forever (blank), the person is never de-identified;
- otherwise the person is due when their last activity anywhere is older than the largest N
  of those sites;
- a person with a visit still open is never due, however old its start.

Months are calendar months (14 March minus 1 month is 14 February; 31 March minus 1 month is
28 or 29 February).
"""

from __future__ import annotations

import calendar
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime


def months_before(moment: datetime, months: int) -> datetime:
    total = moment.year * 12 + (moment.month - 1) - months
    year, month = divmod(total, 12)
    month += 1
    day = min(moment.day, calendar.monthrange(year, month)[1])
    return moment.replace(year=year, month=month, day=day)


@dataclass(frozen=True)
class Person:
    id: int
    registered_at: datetime
    registered_site: int | None = None
    last_seen: Mapping[int, datetime] = field(default_factory=dict)  # site id -> last activity
    open_visit: bool = False

    @property
    def last_activity(self) -> datetime:
        return max([self.registered_at, *self.last_seen.values()])

    def sites_used(self) -> set[int]:
        used = set(self.last_seen)
        if self.registered_site is not None:
            used.add(self.registered_site)
        return used


@dataclass(frozen=True)
class Decision:
    person: int
    due: bool
    sites: tuple[int, ...]
    months: int | None  # the retention that applied; None: kept forever
    last_activity: datetime
    why: str


def decide(
    person: Person, site_months: Mapping[int, int | None], jurisdiction_sites: Iterable[int], now
) -> Decision:
    sites = person.sites_used() or set(jurisdiction_sites)
    ordered = tuple(sorted(sites))
    last = person.last_activity
    retention = [site_months.get(s) for s in ordered]
    if not ordered or any(m is None for m in retention):
        return Decision(person.id, False, ordered, None, last, "a site keeps records forever")
    months = max(m for m in retention if m is not None)
    if person.open_visit:
        return Decision(person.id, False, ordered, months, last, "a visit is open")
    if last >= months_before(now, months):
        return Decision(person.id, False, ordered, months, last, "seen recently")
    return Decision(person.id, True, ordered, months, last, f"inactive for over {months} months")


def plan(
    people: Iterable[Person],
    site_months: Mapping[int, int | None],
    jurisdiction_sites: Iterable[int],
    now: datetime,
) -> list[Decision]:
    sites = list(jurisdiction_sites)
    return [decide(p, site_months, sites, now) for p in people]


def counts_by_site(decisions: Iterable[Decision]) -> dict[int, int]:
    """People due, counted at every site they used (a person of two sites counts at both)."""
    counts: dict[int, int] = {}
    for d in decisions:
        if d.due:
            for s in d.sites:
                counts[s] = counts.get(s, 0) + 1
    return counts
