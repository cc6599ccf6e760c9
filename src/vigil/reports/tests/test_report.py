"""The monthly report: sections, small-count protection on everything that leaves the site
manager (every printed table passes the independent audit), and each export format."""

import csv
import io
from datetime import UTC, datetime

import pytest
from openpyxl import load_workbook

from vigil.reports import exports
from vigil.reports.indicators import Period
from vigil.reports.report import build, chart_figures, charts
from vigil.reports.suppression import MARKER
from vigil.reports.suppression_audit import audit

pytestmark = pytest.mark.db_any
OCTOBER = Period.month(2026, 10)
EXTRACTED = datetime(2026, 11, 3, 17, 0, tzinfo=UTC)


def report_for(october, *, protected=True, both=False):
    sites = [october.site, october.other_site] if both else [october.site]
    scope = "Test County" if both else october.site.name
    return build(sites, OCTOBER, scope=scope, protected=protected, extracted_at=EXTRACTED)


def row(report, key):
    return next(r for t in report.tables for r in t.rows if r.key == key)


def test_every_printed_table_and_chart_passes_the_audit(october):
    for both in (False, True):
        report = report_for(october, both=both)
        for table in report.tables:
            assert table.protected_table is not None
            assert audit(table.protected_table) == [], table.title
        for pt in chart_figures(report)["audited"]:
            assert audit(pt) == [], pt.table.title


def test_protected_report_hides_small_counts_and_keeps_deaths(october):
    report = report_for(october)
    # Every October count of the hand-built site is between 1 and 9 (or 0).
    visits = row(report, "visits").cells[0]
    assert visits.hidden and visits.text == MARKER and visits.value is None
    assert "small count" in visits.reason
    deaths = row(report, "deaths")  # 1 death: always a row, hidden like any small count
    assert deaths.cells[0].hidden
    zero = row(report, "gender:trans_nonbinary").cells[0]
    assert not zero.hidden and zero.value == 0


def test_the_site_managers_screen_shows_raw_counts(october):
    report = report_for(october, protected=False)
    assert row(report, "visits").cells[0].value == 3
    assert row(report, "deaths").cells[0].value == 1
    assert row(report, "gender:total").cells[0].value == 2
    assert all(t.protected_table is None for t in report.tables)


def test_deaths_are_a_row_even_at_zero(october):
    report = build(
        [october.site], Period.month(2026, 8), scope="x", protected=True, extracted_at=EXTRACTED
    )
    deaths = row(report, "deaths").cells[0]
    assert deaths.value == 0 and not deaths.hidden


def test_jurisdiction_roll_up_has_a_column_per_site_and_all_sites(october):
    report = report_for(october, both=True)
    table = next(t for t in report.tables if t.key == "visits")
    assert table.columns == ["Harbour", "Hillside", "All sites"]
    people = next(t for t in report.tables if t.key == "jurisdiction")
    assert [r.key for r in people.rows] == ["distinct_participants", "distinct_new_participants"]


def test_csv_is_one_long_table_with_hidden_values_empty_and_explained(october):
    report = report_for(october)
    rows = list(csv.reader(io.StringIO(exports.to_csv(report).decode())))
    assert rows[0] == ["section", "indicator", "category", "value", "note"]
    assert all(len(r) == 5 for r in rows)
    visits = next(r for r in rows if r[0] == "Visits and clients" and r[1] == "Visits")
    assert visits[3] == "" and "small count" in visits[4]
    # Every hidden value carries the same note: which hidden numbers are the small ones (and
    # which were hidden only to protect them) is exactly what a reader must not learn.
    hidden_notes = {r[4] for r in rows if r[0] != "Definitions" and r[3] == "" and r[4]}
    hidden_notes -= {r[4] for r in rows if r[0] in ("Report", "About")}  # the report's header
    assert hidden_notes == {visits[4]}
    extracted = next(r for r in rows if r[1] == "Extracted")
    assert extracted[4].startswith("2026-11-03 09:00 PST")  # 17:00 UTC; DST ended 1 Nov
    definitions = [r for r in rows if r[0] == "Definitions"]
    assert len(definitions) == len(report.tables)
    zero = next(
        r
        for r in rows
        if r[0] == "Unique clients by gender" and r[2] == "Trans, two-spirit or non-binary"
    )
    assert zero[3] == "0" and zero[4] == ""


def test_a_raw_report_is_never_exported(october):
    with pytest.raises(exports.NotProtected):
        exports.to_csv(report_for(october, protected=False))


def test_xlsx_reads_back_with_the_same_figures(october):
    report = report_for(october, both=True)
    book = load_workbook(io.BytesIO(exports.to_xlsx(report)))
    sheet = book["Report"]
    values = [[c for c in r] for r in sheet.iter_rows(values_only=True)]
    assert values[0][0] == "Monthly report: Test County"
    header = next(r for r in values if r[0] == "Indicator" and r[2] == "Harbour")
    assert list(header[2:5]) == ["Harbour", "Hillside", "All sites"]
    long = list(book["Long table"].iter_rows(values_only=True))
    assert long[0] == ("section", "indicator", "category", "value", "note")
    assert len(long) - 1 == len(exports.long_rows(report))
    deaths = [r for r in long if r[1] == "Deaths on site"]
    assert len(deaths) == 3  # one per column: Harbour, Hillside, all sites


def test_html_states_definitions_extraction_and_has_the_charts(october):
    html = exports.to_html(report_for(october))
    assert "Data extracted" in html and "2026-11-03 09:00 PST" in html
    assert "Health Canada" in html
    assert html.count("<svg") == 5
    for person in october.people.values():  # no alias, no code hash anywhere
        assert person.alias not in html and person.code_hash not in html
    assert ' style="' not in html


def test_charts_are_labelled_svg(october):
    drawn = charts(report_for(october, protected=False))
    assert set(drawn) == {"weekly", "monthly", "heat", "substance", "referral"}
    weekly = str(drawn["weekly"])
    assert weekly.startswith("<svg") and "<title>Visits per week</title>" in weekly
    assert "Week starting (Monday)" in weekly and "style=" not in weekly
    heat = str(drawn["heat"])
    assert "Hour of day (site time)" in heat and ">Thu<" in heat
