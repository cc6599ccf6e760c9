"""The indicators of the dashboard and the monthly report, counted in the database.

Every figure is one site's, for a period of the site's local calendar days (docs/data-dictionary.md,
"Indicators"). Each figure is an aggregate (GROUP BY or a conditional count), so the number of
queries depends on the number of sites, never on the number of visits. A jurisdiction's figure
adds its sites' figures (as Health Canada counts unique clients: once per site per month), and
the few "distinct people in the jurisdiction" figures are counted across its sites.
"""

from __future__ import annotations

import calendar
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db import connection
from django.db.models import (
    Avg,
    BigIntegerField,
    Count,
    DateTimeField,
    DurationField,
    Exists,
    F,
    Func,
    Min,
    OuterRef,
    Q,
    Sum,
)
from django.db.models.functions import Coalesce, ExtractHour, ExtractIsoWeekDay

from vigil.care.models import (
    TREATMENT_KINDS,
    DrugCheck,
    EventKind,
    EventOutcome,
    Intervention,
    InterventionKind,
    MedicalEvent,
    Referral,
    ReferralWhere,
    ServiceGiven,
    SupplyGiven,
)
from vigil.floor.models import Occupancy, Visit
from vigil.sites.models import PlaceKind, Site

SYRINGES = ("syringe_05ml", "syringe_1ml", "syringe_3ml")
NALOXONE_KITS = ("naloxone_nasal", "naloxone_injectable")
WEEKS_SHOWN = 13
MONTHS_SHOWN = 12
UNKNOWN = ""  # the category of a participant who did not say (empty age band, gender...)


@dataclass(frozen=True)
class Period:
    """Local calendar days `start` (included) to `end` (excluded)."""

    start: date
    end: date

    @classmethod
    def month(cls, year: int, month: int) -> Period:
        last = calendar.monthrange(year, month)[1]
        return cls(date(year, month, 1), date(year, month, last) + timedelta(days=1))

    @classmethod
    def parse_month(cls, text: str) -> Period:
        """`2026-10` → October 2026; ValueError with a plain message otherwise."""
        try:
            year_text, month_text = text.strip().split("-")
            year, month = int(year_text), int(month_text)
            if len(year_text) != 4 or not 1 <= month <= 12:
                raise ValueError
        except ValueError:
            raise ValueError(
                f"{text!r} is not a month: write it as YYYY-MM, e.g. 2026-10."
            ) from None
        return cls.month(year, month)

    @property
    def last_day(self) -> date:
        return self.end - timedelta(days=1)

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def is_month(self) -> bool:
        return self.start.day == 1 and self == Period.month(self.start.year, self.start.month)

    def bounds(self, site: Site) -> tuple[datetime, datetime]:
        """The period as aware datetimes at the site's local midnights (DST-correct)."""
        return local_midnight(site, self.start), local_midnight(site, self.end)


def local_midnight(site: Site, day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=site.tz)


def week_starts(period: Period, count: int = WEEKS_SHOWN) -> list[date]:
    """Mondays of the `count` weeks that end with the week of the period's last day."""
    last_monday = period.last_day - timedelta(days=period.last_day.weekday())
    return [last_monday - timedelta(weeks=n) for n in range(count - 1, -1, -1)]


def month_starts(period: Period, count: int = MONTHS_SHOWN) -> list[date]:
    """First days of the `count` months that end with the month of the period's last day."""
    year, month = period.last_day.year, period.last_day.month
    starts = []
    for _ in range(count):
        starts.append(date(year, month, 1))
        year, month = (year, month - 1) if month > 1 else (year - 1, 12)
    return starts[::-1]


def next_month(day: date) -> date:
    return date(day.year + (day.month == 12), day.month % 12 + 1, 1)


@dataclass
class Figures:
    """Raw counts for one site (or added up over several) and one period."""

    period: Period
    counts: Counter[str] = field(default_factory=Counter)
    groups: dict[str, Counter[str]] = field(default_factory=dict)
    heat: list[list[int]] = field(default_factory=lambda: [[0] * 7 for _ in range(24)])
    weekly: list[tuple[date, int]] = field(default_factory=list)
    monthly: list[tuple[date, int]] = field(default_factory=list)
    wait_minutes_total: float = 0.0  # sum of waits, to average across sites
    waited_visits: int = 0

    def group(self, name: str) -> Counter[str]:
        return self.groups.setdefault(name, Counter())

    @property
    def visits_per_participant(self) -> float | None:
        unique = self.counts["unique_participants"]
        return self.counts["visits"] / unique if unique else None

    @property
    def average_wait_minutes(self) -> float | None:
        return self.wait_minutes_total / self.waited_visits if self.waited_visits else None

    def add(self, other: Figures) -> None:
        """Add another site's figures (a jurisdiction's sum)."""
        self.counts.update(other.counts)
        for name, counter in other.groups.items():
            self.group(name).update(counter)
        self.heat = [
            [a + b for a, b in zip(r1, r2, strict=True)]
            for r1, r2 in zip(self.heat, other.heat, strict=True)
        ]
        self.weekly = _add_series(self.weekly, other.weekly)
        self.monthly = _add_series(self.monthly, other.monthly)
        self.wait_minutes_total += other.wait_minutes_total
        self.waited_visits += other.waited_visits


def _add_series(a: list[tuple[date, int]], b: list[tuple[date, int]]) -> list[tuple[date, int]]:
    if not a:
        return list(b)
    return [(day, x + y) for (day, x), (_, y) in zip(a, b, strict=True)]


def for_site(site: Site, period: Period, *, series: bool = True, heat: bool = True) -> Figures:
    """Every indicator of one site for `period` (about fifteen queries, whatever the volume)."""
    start, end = period.bounds(site)
    figures = Figures(period=period)
    _visits(figures, site, start, end)
    _substances(figures, site, start, end)
    if heat:
        _heat(figures, site, start, end)
    if series:
        _series(figures, site, period)
    _events(figures, site, start, end)
    _referrals(figures, site, start, end)
    _services_and_supplies(figures, site, start, end)
    _drug_checks(figures, site, start, end)
    return figures


def for_sites(
    sites: Sequence[Site], period: Period, *, series: bool = True, heat: bool = True
) -> tuple[Figures, dict[int, Figures]]:
    """The sum over `sites` and each site's own figures, plus the distinct-people figures of
    the whole group (`distinct_participants`, `distinct_new_participants`)."""
    each = {site.pk: for_site(site, period, series=series, heat=heat) for site in sites}
    total = Figures(period=period)
    for figures in each.values():
        total.add(figures)
    if sites:
        _distinct_people(total, sites, period)
    return total, each


# --- visits and participants -------------------------------------------------------------


class Unindexed(Func):
    """The column's own value, hidden from SQLite's planner (`+column` is a no-op there).

    "Was this person here before?" must look the person's visits up by participant (a few
    rows each); without statistics SQLite would rather range-scan the site's whole history
    before the month for every visitor, which grows with the years. PostgreSQL has statistics
    and gets the plain column."""

    template = "%(expressions)s"

    def as_sqlite(self, compiler, connection, **extra):
        return super().as_sql(compiler, connection, template="+%(expressions)s", **extra)


def earlier_visits(before: datetime):
    """Visits before `before`, filtered on `_site` by the caller, for an EXISTS by person."""
    return Visit.objects.annotate(
        _site=Unindexed("site_id", output_field=BigIntegerField()),
        _at=Unindexed("checked_in_at", output_field=DateTimeField()),
    ).filter(_at__lt=before)


def _visits(figures: Figures, site: Site, start: datetime, end: datetime) -> None:
    visits = Visit.objects.filter(site=site, checked_in_at__gte=start, checked_in_at__lt=end)
    seen_before = earlier_visits(start).filter(
        participant_id=OuterRef("participant_id"), _site=site.pk
    )
    used_on_site = Occupancy.objects.filter(visit_id=OuterRef("pk")).exclude(
        place__kind=PlaceKind.AFTERCARE
    )
    row = visits.aggregate(
        visits=Count("id"),
        unique_participants=Count("participant_id", distinct=True),
        new_participants=Count("participant_id", distinct=True, filter=~Exists(seen_before)),
        visits_with_use=Count("id", filter=Exists(used_on_site)),
    )
    figures.counts.update({key: value or 0 for key, value in row.items()})
    for name, column in (("gender", "participant__gender"), ("age_band", "participant__age_band")):
        for item in visits.values(column).annotate(n=Count("participant_id", distinct=True)):
            figures.group(name)[item[column] or UNKNOWN] += item["n"]
    for item in visits.values("route").annotate(n=Count("id")):
        figures.group("route")[item["route"]] += item["n"]
    # Wait: check-in to the first place taken, for visits that were given one.
    waited = (
        visits.annotate(first_place=Min("occupancies__started_at"))
        .filter(first_place__isnull=False)
        .annotate(wait=F("first_place") - F("checked_in_at"))
        .aggregate(n=Count("id"), average=Avg("wait", output_field=DurationField()))
    )
    if waited["n"]:
        figures.waited_visits += waited["n"]
        figures.wait_minutes_total += waited["average"].total_seconds() / 60 * waited["n"]


def _substances(figures: Figures, site: Site, start: datetime, end: datetime) -> None:
    """Visits by planned substance; a visit naming two substances counts once for each."""
    if connection.vendor == "postgresql":
        elements = "CROSS JOIN LATERAL jsonb_array_elements_text(v.substances) AS s(value)"
    else:
        elements = "CROSS JOIN json_each(v.substances) AS s"
    sql = (
        f"SELECT s.value, COUNT(*) FROM floor_visit v {elements} "  # noqa: S608 - no user text
        "WHERE v.site_id = %s AND v.checked_in_at >= %s AND v.checked_in_at < %s "
        "GROUP BY s.value"
    )
    adapt = connection.ops.adapt_datetimefield_value
    with connection.cursor() as cursor:
        cursor.execute(sql, [site.pk, adapt(start), adapt(end)])
        for code, n in cursor.fetchall():
            figures.group("substance")[str(code)] += n


def _heat(figures: Figures, site: Site, start: datetime, end: datetime) -> None:
    """Booth and seat uses (not aftercare) by local hour of day × day of week."""
    rows = (
        Occupancy.objects.filter(
            visit__site=site,
            # A place is taken within hours of check-in: this bound lets the database start
            # from the visits' (site, check-in) index instead of reading every occupancy.
            visit__checked_in_at__gte=start - timedelta(days=1),
            visit__checked_in_at__lt=end,
            started_at__gte=start,
            started_at__lt=end,
        )
        .exclude(place__kind=PlaceKind.AFTERCARE)
        .annotate(
            hour=ExtractHour("started_at", tzinfo=site.tz),
            weekday=ExtractIsoWeekDay("started_at", tzinfo=site.tz),
        )
        .values("hour", "weekday")
        .annotate(n=Count("id"))
    )
    for row in rows:
        figures.heat[row["hour"]][row["weekday"] - 1] += row["n"]


def _series(figures: Figures, site: Site, period: Period) -> None:
    """Visits per week and per month: one query of 25 counts, each a range of the (site,
    check-in time) index, so no row is read, only index entries (and no time-zone function
    runs per row: the bounds are the site's local midnights, computed here)."""
    weeks = week_starts(period)
    months = month_starts(period)
    spans = [(day, day + timedelta(weeks=1)) for day in weeks]
    spans += [(day, next_month(day)) for day in months]
    one = (
        "(SELECT COUNT(*) FROM floor_visit WHERE site_id = %s "
        "AND checked_in_at >= %s AND checked_in_at < %s)"
    )
    adapt = connection.ops.adapt_datetimefield_value
    params: list = []
    for a, b in spans:
        params += [site.pk, adapt(local_midnight(site, a)), adapt(local_midnight(site, b))]
    with connection.cursor() as cursor:
        cursor.execute("SELECT " + ", ".join([one] * len(spans)), params)
        counts = cursor.fetchone()
    figures.weekly = list(zip(weeks, counts[: len(weeks)], strict=True))
    figures.monthly = list(zip(months, counts[len(weeks) :], strict=True))


def _distinct_people(total: Figures, sites: Sequence[Site], period: Period) -> None:
    """People counted once across all `sites` (a jurisdiction's "distinct" figures). A person's
    first visit is new when they had no earlier visit to any of these sites."""
    in_period = Q()
    for site in sites:
        start, end = period.bounds(site)
        in_period |= Q(site=site, checked_in_at__gte=start, checked_in_at__lt=end)
    earliest = min(period.bounds(site)[0] for site in sites)
    seen_before = earlier_visits(earliest).filter(
        participant_id=OuterRef("participant_id"), _site__in=[site.pk for site in sites]
    )
    row = Visit.objects.filter(in_period).aggregate(
        distinct=Count("participant_id", distinct=True),
        new=Count("participant_id", distinct=True, filter=~Exists(seen_before)),
    )
    total.counts["distinct_participants"] = row["distinct"] or 0
    total.counts["distinct_new_participants"] = row["new"] or 0


# --- care ---------------------------------------------------------------------------------


def _events(figures: Figures, site: Site, start: datetime, end: datetime) -> None:
    events = MedicalEvent.objects.filter(site=site, started_at__gte=start, started_at__lt=end)

    def given(kind: str) -> Exists:
        return Exists(
            Intervention.objects.filter(event_id=OuterRef("pk"), kind=kind, removed_at__isnull=True)
        )

    overdose = Q(kind=EventKind.OVERDOSE)
    row = events.aggregate(
        overdoses=Count("id", filter=overdose),
        overdoses_naloxone=Count("id", filter=Q(overdose, given(InterventionKind.NALOXONE))),
        other_medical=Count("id", filter=Q(kind=EventKind.OTHER_MEDICAL)),
        oxygen_events=Count("id", filter=given(InterventionKind.OXYGEN)),
        ems_calls=Count("id", filter=Q(ems_called_at__isnull=False)),
        transported=Count("id", filter=Q(outcome=EventOutcome.TRANSPORTED)),
        deaths=Count("id", filter=Q(outcome=EventOutcome.DEATH)),
    )
    figures.counts.update({key: value or 0 for key, value in row.items()})
    doses = Intervention.objects.filter(
        event__in=events, kind=InterventionKind.NALOXONE, removed_at__isnull=True
    ).aggregate(n=Count("id"), mg=Sum("dose_mg"))
    figures.counts["naloxone_doses"] = doses["n"] or 0
    figures.counts["naloxone_mg_x100"] = round((doses["mg"] or 0) * 100)


def _referrals(figures: Figures, site: Site, start: datetime, end: datetime) -> None:
    referred = Q(referred_at__gte=start, referred_at__lt=end)
    accepted = Q(accepted_at__gte=start, accepted_at__lt=end)
    entered = Q(
        entered_treatment_at__gte=start,
        entered_treatment_at__lt=end,
        kind__in=TREATMENT_KINDS,
    )
    rows = (
        Referral.objects.filter(Q(site=site) & (referred | accepted | entered))
        .values("kind")
        .annotate(
            referred=Count("id", filter=referred),
            off_site=Count("id", filter=referred & Q(where=ReferralWhere.OFF_SITE)),
            accepted=Count("id", filter=accepted),
            entered=Count("id", filter=entered),
            direct=Count("id", filter=entered & Q(direct_from_room=True)),
        )
    )
    for row in rows:
        kind = row["kind"]
        figures.group("referral")[kind] += row["referred"]
        figures.group("referral_off_site")[kind] += row["off_site"]
        figures.counts["referrals"] += row["referred"]
        figures.counts["referrals_off_site"] += row["off_site"]
        figures.counts["referrals_accepted"] += row["accepted"]
        figures.counts["treatment_entries"] += row["entered"]
        figures.counts["direct_to_treatment"] += row["direct"]
    person = Coalesce("participant__merged_into_id", "participant_id")
    people = Referral.objects.filter(Q(site=site) & entered).aggregate(
        people=Count(person, distinct=True),
        direct=Count(person, distinct=True, filter=Q(direct_from_room=True)),
    )
    figures.counts["people_entering_treatment"] = people["people"] or 0
    figures.counts["people_direct_to_treatment"] = people["direct"] or 0


def _services_and_supplies(figures: Figures, site: Site, start: datetime, end: datetime) -> None:
    services = ServiceGiven.objects.filter(site=site, at__gte=start, at__lt=end)
    for row in services.values("service").annotate(n=Count("id")):
        figures.group("service")[row["service"]] += row["n"]
        figures.counts["services"] += row["n"]
    supplies = SupplyGiven.objects.filter(site=site, at__gte=start, at__lt=end)
    for given in supplies.values("item", "returned").annotate(n=Sum("quantity")):
        n = given["n"] or 0
        if given["returned"]:
            figures.counts["syringes_returned"] += n
            continue
        figures.group("supply")[given["item"]] += n
        if given["item"] in SYRINGES:
            figures.counts["syringes_given"] += n
        if given["item"] in NALOXONE_KITS:
            figures.counts["naloxone_kits"] += n


def _drug_checks(figures: Figures, site: Site, start: datetime, end: datetime) -> None:
    checks = DrugCheck.objects.filter(site=site, checked_at__gte=start, checked_at__lt=end)
    for row in checks.values("method").annotate(
        n=Count("id"),
        with_result=Count("id", filter=Q(result_pending=False)),
        unexpected=Count("id", filter=Q(result_pending=False) & ~Q(unexpected_potent=[])),
    ):
        figures.group("drug_check")[row["method"]] += row["n"]
        figures.counts["drug_checks"] += row["n"]
        figures.counts["drug_checks_with_result"] += row["with_result"]
        figures.counts["drug_checks_unexpected"] += row["unexpected"]
