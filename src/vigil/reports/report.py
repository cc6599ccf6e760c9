"""The monthly report (Health Canada's indicator set) and the dashboard's tables.

A report is a list of sections; each section is one table of raw counts (rows: indicators or
categories, columns: sites). What leaves the site manager's screen goes through small-count
protection (`vigil.reports.suppression.protect`): every download, everything an evaluator
sees, and every jurisdiction roll-up. `Report.protected` says which a report is; the raw
numbers of a protected report are never handed to a template or an export.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vigil.care.lists import services_for, supplies_for
from vigil.care.models import ReferralKind
from vigil.floor.models import Route, Substance
from vigil.participants.models import AgeBand, Gender
from vigil.reports.indicators import UNKNOWN, Figures, Period, for_sites
from vigil.sites.models import Site


@dataclass
class Line:
    """One row: an indicator, or a category of one, with its raw count per site."""

    key: str
    indicator: str
    category: str
    values: list[int]


@dataclass
class Section:
    key: str
    title: str
    lines: list[Line]
    # The rows add up to a whole (each person / visit / referral in exactly one row), so a
    # total row is printed and protected with the rest.
    partition: bool = False
    total_label: str = ""
    definition: str = ""


@dataclass
class ShownCell:
    """What a reader sees in one cell: a number, or the marker with the one note for every
    hidden number (never why this one was hidden)."""

    text: str
    value: int | None
    hidden: bool = False
    reason: str = ""


@dataclass
class ShownRow:
    key: str
    indicator: str
    category: str
    cells: list[ShownCell]
    is_total: bool = False


@dataclass
class ShownTable:
    key: str
    title: str
    definition: str
    columns: list[str]
    rows: list[ShownRow]
    note: str = ""
    protected_table: object | None = None  # kept for the audit in tests


@dataclass
class Report:
    title: str
    scope: str  # the site's or the jurisdiction's name
    sites: list[Site]
    period: Period
    extracted_at: datetime
    protected: bool
    sections: list[Section]
    total: Figures
    each: dict[int, Figures]
    tables: list[ShownTable] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        names = [site.name for site in self.sites]
        return names + [_("All sites")] if len(self.sites) > 1 else names


# One note for every hidden number, whatever the reason it was hidden: saying which hidden
# numbers are the small ones would tell a reader exactly what suppression hides.
HIDDEN_NOTE = gettext_lazy("hidden: a small count, or a count that would let a reader work one out")

DEFINITIONS = {
    "visits": gettext_lazy(
        "Visits: every check-in in the month (site's local time), including people who left "
        "from the wait list. Unique clients: people with at least one visit, counted once per "
        "site per month (a jurisdiction's figure adds its sites', as Health Canada counts it). "
        "New clients: people whose first visit to the site was in the month."
    ),
    "gender": gettext_lazy("Unique clients of the month by gender, as they told us."),
    "age": gettext_lazy("Unique clients of the month by age band, as they told us."),
    "substance": gettext_lazy(
        "Visits by substance planned at check-in; a visit naming two substances counts for "
        "each, so the rows do not add up to the visits."
    ),
    "route": gettext_lazy("Visits by route of use planned at check-in."),
    "service": gettext_lazy("Health and social services given on site in the month."),
    "referral": gettext_lazy(
        'Referrals made in the month, by type, including the one-tap "directly into treatment".'
    ),
    "referral_outcome": gettext_lazy(
        "Off-site referrals made in the month; referrals accepted in the month (whenever they "
        "were made); entries into treatment (buprenorphine, methadone, detox, residential) in "
        "the month, and those directly from the consumption room."
    ),
    "overdose": gettext_lazy(
        "Overdoses and drug emergencies that started in the month; overdoses needing "
        "naloxone (at least one dose not struck out); EMS calls for any medical event; "
        "transports to hospital; deaths on site (always reported, even at zero); naloxone "
        "doses given and events where oxygen was given, not counting what an amendment struck "
        "out."
    ),
    "supply": gettext_lazy("Supplies handed out in the month (returns not counted)."),
    "jurisdiction": gettext_lazy(
        "People counted once across all the sites of the report: distinct people with a visit, "
        "and those whose first visit to any of these sites was in the month."
    ),
}


def _choices_with_unknown(choices, unknown_label) -> list[tuple[str, str]]:
    pairs = [(code, str(label)) for code, label in choices]
    return pairs + [(UNKNOWN, str(unknown_label))]


def _group_lines(
    key: str, indicator: str, pairs: Sequence[tuple[str, str]], each: Sequence[Figures], group: str
) -> list[Line]:
    known = {code for code, _label in pairs}
    extra = sorted({code for f in each for code in f.groups.get(group, {}) if code not in known})
    pairs = list(pairs) + [(code, code.replace("_", " ").capitalize()) for code in extra]
    return [
        Line(
            f"{key}:{code or 'not_recorded'}",
            indicator,
            label,
            [f.group(group)[code] for f in each],
        )
        for code, label in pairs
    ]


def _count_lines(
    rows: Sequence[tuple[str, str]], each: Sequence[Figures], section: str
) -> list[Line]:
    return [Line(key, label, "", [f.counts[key] for f in each]) for key, label in rows]


def build_sections(sites: Sequence[Site], each: Sequence[Figures]) -> list[Section]:
    """The report's sections for these sites (in order), from each site's figures."""
    not_recorded = _("Not recorded")
    services = {code: label for site in sites for code, label in services_for(site)}
    supplies = {code: label for site in sites for code, label in supplies_for(site)}
    supplies.pop("syringes", None)
    return [
        Section(
            "visits",
            _("Visits and clients"),
            _count_lines(
                [
                    ("visits", _("Visits")),
                    ("unique_participants", _("Unique clients")),
                    ("new_participants", _("New clients")),
                ],
                each,
                "visits",
            ),
            definition=str(DEFINITIONS["visits"]),
        ),
        Section(
            "gender",
            _("Unique clients by gender"),
            _group_lines(
                "gender",
                _("Gender"),
                _choices_with_unknown(Gender.choices, not_recorded),
                each,
                "gender",
            ),
            partition=True,
            total_label=_("Unique clients"),
            definition=str(DEFINITIONS["gender"]),
        ),
        Section(
            "age",
            _("Unique clients by age"),
            _group_lines(
                "age",
                _("Age"),
                _choices_with_unknown(AgeBand.choices, not_recorded),
                each,
                "age_band",
            ),
            partition=True,
            total_label=_("Unique clients"),
            definition=str(DEFINITIONS["age"]),
        ),
        Section(
            "substance",
            _("Substances planned"),
            _group_lines(
                "substance",
                _("Substance"),
                [(c, str(label)) for c, label in Substance.choices],
                each,
                "substance",
            ),
            definition=str(DEFINITIONS["substance"]),
        ),
        Section(
            "route",
            _("Route of use"),
            _group_lines(
                "route", _("Route"), [(c, str(label)) for c, label in Route.choices], each, "route"
            ),
            partition=True,
            total_label=_("Visits"),
            definition=str(DEFINITIONS["route"]),
        ),
        Section(
            "service",
            _("Services on site"),
            _group_lines("service", _("Service"), list(services.items()), each, "service"),
            partition=True,
            total_label=_("Services"),
            definition=str(DEFINITIONS["service"]),
        ),
        Section(
            "referral",
            _("Referrals by type"),
            _group_lines(
                "referral",
                _("Referral"),
                [(c, str(label)) for c, label in ReferralKind.choices],
                each,
                "referral",
            ),
            partition=True,
            total_label=_("Referrals"),
            definition=str(DEFINITIONS["referral"]),
        ),
        Section(
            "referral_outcome",
            _("Referrals off site, accepted, and entries into treatment"),
            _count_lines(
                [
                    ("referrals_off_site", _("Referrals off site")),
                    ("referrals_accepted", _("Referrals accepted")),
                    ("treatment_entries", _("Entries into treatment")),
                    ("direct_to_treatment", _("Directly from the room into treatment")),
                ],
                each,
                "referral_outcome",
            ),
            definition=str(DEFINITIONS["referral_outcome"]),
        ),
        Section(
            "overdose",
            _("Overdoses, drug emergencies and EMS"),
            _count_lines(
                [
                    ("overdoses", _("Overdoses and drug emergencies")),
                    ("overdoses_naloxone", _("Overdoses needing naloxone")),
                    ("other_medical", _("Other medical events")),
                    ("ems_calls", _("EMS calls")),
                    ("transported", _("Transported to hospital")),
                    ("deaths", _("Deaths on site")),
                    ("naloxone_doses", _("Naloxone administrations (doses)")),
                    ("oxygen_events", _("Events with oxygen")),
                ],
                each,
                "overdose",
            ),
            definition=str(DEFINITIONS["overdose"]),
        ),
        Section(
            "supply",
            _("Supplies given"),
            _group_lines("supply", _("Supply"), list(supplies.items()), each, "supply"),
            definition=str(DEFINITIONS["supply"]),
        ),
    ]


def build(
    sites: Sequence[Site],
    period: Period,
    *,
    scope: str,
    protected: bool,
    extracted_at: datetime,
    series: bool = True,
    heat: bool = True,
) -> Report:
    sites = list(sites)
    total, each_by_site = for_sites(sites, period, series=series, heat=heat)
    each = [each_by_site[site.pk] for site in sites]
    sections = build_sections(sites, each)
    if len(sites) > 1:
        sections.append(
            Section(
                "jurisdiction",
                _("People across all sites"),
                [
                    Line(
                        "distinct_participants",
                        _("Distinct people"),
                        "",
                        [total.counts["distinct_participants"]],
                    ),
                    Line(
                        "distinct_new_participants",
                        _("People new to all these sites"),
                        "",
                        [total.counts["distinct_new_participants"]],
                    ),
                ],
                definition=str(DEFINITIONS["jurisdiction"]),
            )
        )
    report = Report(
        title=_("Monthly report") if period.is_month() else _("Report"),
        scope=scope,
        sites=sites,
        period=period,
        extracted_at=extracted_at,
        protected=protected,
        sections=sections,
        total=total,
        each=each_by_site,
    )
    report.tables = [shown_table(report, section) for section in sections]
    return report


def _columns_for(report: Report, section: Section) -> list[str]:
    if section.key == "jurisdiction":
        return [_("All sites")]
    return [site.name for site in report.sites]


def shown_table(report: Report, section: Section) -> ShownTable:
    columns = _columns_for(report, section)
    several = len(columns) > 1
    if report.protected:
        return _protected_table(section, columns, several)
    return _raw_table(section, columns, several)


def _raw_table(section: Section, columns: list[str], several: bool) -> ShownTable:
    def cell(n: int) -> ShownCell:
        return ShownCell(f"{n:,}", n)

    rows = []
    for line in section.lines:
        values = list(line.values)
        if several:
            values.append(sum(values))
        rows.append(ShownRow(line.key, line.indicator, line.category, [cell(v) for v in values]))
    if section.partition:
        totals = [sum(line.values[i] for line in section.lines) for i in range(len(columns))]
        if several:
            totals.append(sum(totals))
        rows.append(
            ShownRow(
                f"{section.key}:total",
                section.total_label,
                _("Total"),
                [cell(v) for v in totals],
                True,
            )
        )
    return ShownTable(
        section.key,
        section.title,
        section.definition,
        columns + ([_("All sites")] if several else []),
        rows,
    )


def _protected_table(section: Section, columns: list[str], several: bool) -> ShownTable:
    from vigil.reports.suppression import Policy, Table, protect

    labels = [line.category or line.indicator for line in section.lines]
    table = Table(
        section.title,
        labels,
        columns,
        [list(line.values) for line in section.lines],
        row_totals=several,
        column_totals=section.partition,
        grand_total=several and section.partition,
    )
    pt = protect(table, Policy())

    def shown(c) -> ShownCell:
        reason = HIDDEN_NOTE if c.hidden else ""
        text = c.display() if c.hidden else f"{c.value:,}"
        return ShownCell(text, None if c.hidden else c.value, c.hidden, str(reason))

    rows = []
    for r, line in enumerate(section.lines):
        cells = [shown(pt.cell(r, c)) for c in range(len(columns))]
        if several:
            cells.append(shown(pt.row_total(r)))
        rows.append(ShownRow(line.key, line.indicator, line.category, cells))
    if section.partition:
        cells = [shown(pt.column_total(c)) for c in range(len(columns))]
        if several:
            cells.append(shown(pt.grand()))
        rows.append(ShownRow(f"{section.key}:total", section.total_label, _("Total"), cells, True))
    return ShownTable(
        section.key,
        section.title,
        section.definition,
        columns + ([_("All sites")] if several else []),
        rows,
        note=pt.note(_),
        protected_table=pt,
    )


def _protected_values(title: str, rows: list[str], columns: list[str], counts: list[list[int]]):
    """Primary suppression of a chart's figures: a chart prints no totals, so hiding the
    small cells is enough; the audit in the tests checks it."""
    from vigil.reports.suppression import Policy, Table, protect

    pt = protect(
        Table(
            title, rows, columns, counts, row_totals=False, column_totals=False, grand_total=False
        ),
        Policy(),
    )
    shown = [
        [None if pt.cell(r, c).hidden else pt.cell(r, c).value for c in range(len(columns))]
        for r in range(len(rows))
    ]
    return shown, pt


def chart_figures(report: Report) -> dict:
    """The numbers each chart draws: raw for the site manager's screen, protected otherwise."""
    total = report.total
    weeks = [day.strftime("%d %b") for day, _n in total.weekly]
    months = [day.strftime("%b %Y") for day, _n in total.monthly]
    weekly = [n for _d, n in total.weekly]
    monthly = [n for _d, n in total.monthly]
    heat: list[list[int | None]] = [list(row) for row in total.heat]
    audited: list = []
    if report.protected:
        if weekly:
            rows, pt = _protected_values(_("Visits per week"), [_("Visits")], weeks, [weekly])
            weekly, audited = rows[0], [*audited, pt]
        if monthly:
            rows, pt = _protected_values(_("Visits per month"), [_("Visits")], months, [monthly])
            monthly, audited = rows[0], [*audited, pt]
        heat, pt = _protected_values(
            _("Booth uses by hour and day"),
            [f"{h:02d}" for h in range(24)],
            ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
            [list(row) for row in total.heat],
        )
        audited.append(pt)
    return {
        "weeks": weeks,
        "weekly": weekly,
        "months": months,
        "monthly": monthly,
        "heat": heat,
        "audited": audited,
    }


def charts(report: Report) -> dict:
    """SVG charts for the page and the PDF."""
    from vigil.reports import charts as svg

    data = chart_figures(report)
    out = {}
    if data["weeks"]:
        out["weekly"] = svg.column_chart(
            data["weeks"],
            data["weekly"],
            title=_("Visits per week"),
            y_label=_("Visits"),
            x_label=_("Week starting (Monday)"),
            chart_id="weekly",
        )
    if data["months"]:
        out["monthly"] = svg.column_chart(
            data["months"],
            data["monthly"],
            title=_("Visits per month"),
            y_label=_("Visits"),
            x_label=_("Month"),
            chart_id="monthly",
            colour=svg.OKABE_ITO["vermillion"],
        )
    out["heat"] = svg.heat_map(
        data["heat"],
        title=_("Booth uses by hour of day and day of week"),
        chart_id="heat",
        legend=_("uses"),
    )
    for key, chart_id, colour in (
        ("substance", "substances", svg.OKABE_ITO["bluish_green"]),
        ("referral", "referrals", svg.OKABE_ITO["reddish_purple"]),
    ):
        table = next(t for t in report.tables if t.key == key)
        rows = [row for row in table.rows if not row.is_total]
        out[key] = svg.bar_chart(
            [row.category for row in rows],
            [row.cells[-1].value for row in rows],
            title=table.title,
            x_label=_("Visits") if key == "substance" else _("Referrals"),
            chart_id=chart_id,
            colour=colour,
        )
    return out
