"""The benchmark's pandas baseline computes the same indicators as the report (so comparing
their times is fair), and the benchmark runs end to end on a small history."""

import json

import pytest
from django.core.management import call_command

from vigil.reports import bench
from vigil.reports.indicators import Period, for_site

pytestmark = pytest.mark.db_any


def test_the_analysts_script_agrees_with_the_report(october, tmp_path):
    bench.export_rows(october.site, tmp_path)
    theirs = bench.pandas_monthly(tmp_path, Period.month(2026, 10), "America/Los_Angeles")
    assert theirs["visits"] == 3 and theirs["new_participants"] == 1
    assert bench.compare(for_site(october.site, Period.month(2026, 10)), theirs) == []


def test_a_difference_is_reported(october, tmp_path):
    bench.export_rows(october.site, tmp_path)
    theirs = bench.pandas_monthly(tmp_path, Period.month(2026, 10), "America/Los_Angeles")
    theirs["deaths"] += 1
    assert bench.compare(for_site(october.site, Period.month(2026, 10)), theirs) == [
        "deaths: report 1, pandas 2"
    ]


@pytest.mark.django_db(transaction=True)
def test_the_benchmark_runs_on_a_small_history(capsys):
    call_command("bench-reports", "--days", "740", "--visits-per-day", "12", "--repeat", "1")
    figures = json.loads(capsys.readouterr().out)
    # The latest year generated, the year before it copied back once.
    assert (figures["rows"]["generated_days"], figures["rows"]["copied_years"]) == (365, 1)
    assert 2 * 365 * 10 < figures["rows"]["visits"] < 2 * 365 * 14
    assert figures["pandas_agrees"], figures["pandas_differences"]
    assert figures["timings"]["monthly_report_html"]["queries"] <= 20
    assert set(figures["aims"]["met"]) == {
        "monthly_report_within_2s",
        "monthly_report_not_slower_than_pandas",
        "dashboard_within_1s",
    }
