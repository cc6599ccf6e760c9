"""The time column: a year (1989), a month (2003-09) or a date, read strictly."""

from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from vigil.research.errors import StudyError
from vigil.research.periods import TimeParseError, parse_time, parse_time_value, slashed_order
from vigil.research.study import load_study
from vigil.research.tests.studyfiles import write


@pytest.mark.parametrize(
    ("text", "kind", "period"),
    [
        ("1989", "year", "1989"),
        ("1989.0", "year", "1989"),
        ("2003-09", "month", "2003-09"),
        ("2003-9", "month", "2003-09"),
        ("2003-09-21", "date", "2003-09"),
        ("2003-09-01 00:00:00", "date", "2003-09"),
    ],
)
def test_iso_values(text, kind, period):
    value = parse_time(text)
    assert value.kind == kind
    frequency = "year" if kind == "year" else "month"
    assert str(value.period(frequency)) == period


def test_slashed_dates_need_the_column_to_settle_the_order():
    assert slashed_order(["21/09/2003", "03/04/2004"]) == (True, None)
    assert slashed_order(["09/21/2003", "03/04/2004"]) == (False, None)
    assert slashed_order(["03/04/2004"]) == (None, None)
    assert slashed_order(["21/09/2003", "09/21/2003"])[1] is not None
    with pytest.raises(TimeParseError, match="ambiguous"):
        parse_time("03/04/2004")
    assert str(parse_time("03/04/2004", day_first=True)) == "2004-04-03"


def test_study_times_accept_toml_dates():
    assert str(parse_time_value(dt.date(2003, 9, 21))) == "2003-09-21"
    assert str(parse_time_value(1989)) == "1989"
    with pytest.raises(TimeParseError):
        parse_time_value(True)


def _load(tmp_path, rows: list[str], start: str = "2001-06"):
    toml = (
        'title = "t"\n[data]\nfile = "deaths.csv"\ntime = "when"\nvalue = "deaths"\n'
        f'[intervention]\nstart = "{start}"\n[[analysis]]\nname = "a"\nmethod = "its"\n'
    )
    return load_study(write(tmp_path, "when,deaths\n" + "\n".join(rows) + "\n", toml))


def test_first_of_month_dates_make_a_monthly_series(tmp_path):
    months = pd.period_range("2001-01", "2001-12", freq="M")
    rows = [f"{p.start_time.date()},{3}" for p in months]
    study = _load(tmp_path, rows, start="2001-10-15")
    assert study.panel.frequency == "month"
    assert len(study.panel.periods) == 12
    assert str(study.analyses[0].start) == "2001-10"


def test_slashed_dates_that_settle_their_order_are_read(tmp_path):
    rows = [f"01/{m:02d}/2001,{m}" for m in range(1, 13)]  # day/month/year: 1st of each month
    rows[0] = "13/01/2001,1"  # ... until a day above 12 settles it; that row is then no 1st
    with pytest.raises(StudyError, match=r"row 1 \(line 2\): date 13/01/2001 is not the first"):
        _load(tmp_path, rows)


def test_ambiguous_slashed_dates_are_refused(tmp_path):
    rows = [f"01/{m:02d}/2001,{m}" for m in range(1, 13)]
    with pytest.raises(StudyError) as caught:
        _load(tmp_path, rows)
    assert "row 1 (line 2): when: '01/01/2001' is ambiguous" in str(caught.value)
    assert len(caught.value.problems) == 12


def test_yearly_series_and_a_date_start_inside_a_year(tmp_path):
    rows = [f"{year},{year - 1990}" for year in range(1990, 2010)]
    toml = (
        'title = "t"\n[data]\nfile = "deaths.csv"\ntime = "when"\nvalue = "deaths"\n'
        '[intervention]\nstart = 2003-09-21\n[[analysis]]\nname = "a"\nmethod = "its"\n'
    )
    study = load_study(write(tmp_path, "when,deaths\n" + "\n".join(rows) + "\n", toml))
    assert study.panel.frequency == "year"
    # The period that contains the start counts as after.
    assert str(study.analyses[0].start) == "2003"
