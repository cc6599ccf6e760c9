"""Bad CSV data gets a clear, specific error naming the file, the row and the problem."""

from __future__ import annotations

import pandas as pd
import pytest

from vigil.research.errors import StudyError
from vigil.research.study import load_study
from vigil.research.tests.studyfiles import PANEL_STUDY, panel_csv, write

# The standard panel: header on line 1, then "near" on rows 1-24 (2001-01 .. 2002-12), then
# "far" on rows 25-48.
GOOD = panel_csv()
HEADER, *ROWS = GOOD.splitlines()


def _csv(rows: list[str]) -> str:
    return "\n".join([HEADER, *rows]) + "\n"


def _replace(row: int, text: str) -> str:
    rows = list(ROWS)
    rows[row - 1] = text
    return _csv(rows)


def _delete(row: int) -> str:
    rows = list(ROWS)
    del rows[row - 1]
    return _csv(rows)


CASES = {
    "duplicate period": (
        _replace(3, "near,2001-02,5,10000"),
        "its",
        "2001-06",
        ["deaths.csv, row 3 (line 4)", "month 2001-02 of area 'near' appears twice: on row 2"],
    ),
    "missing period": (
        _delete(5),
        "its",
        "2001-12",
        ["deaths.csv, row 4 (line 5)", "missing periods", "month 2001-05", "area 'near'"],
    ),
    "unit starting late": (
        _csv(ROWS[:24] + ROWS[27:]),
        "did",
        "2001-12",
        ["row 25 (line 26)", "no row for area 'far' for month 2001-01 to 2001-03"],
    ),
    "month that does not exist": (
        _replace(2, "near,2001-13,5,10000"),
        "its",
        "2001-12",
        ["deaths.csv, row 2 (line 3)", "'2001-13' has no month 13"],
    ),
    "unparseable date": (
        _replace(2, "near,Feb 2001,5,10000"),
        "its",
        "2001-12",
        ["row 2 (line 3)", "cannot read 'Feb 2001' as a year (1989), a month (2003-09)"],
    ),
    "impossible date": (
        _replace(2, "near,2001-02-30,5,10000"),
        "its",
        "2001-12",
        ["row 2 (line 3)", "'2001-02-30' is not a real date"],
    ),
    "year among months": (
        _replace(2, "near,2001,5,10000"),
        "its",
        "2001-12",
        ["row 2 (line 3)", "'2001' is a year but most rows of this column hold months"],
    ),
    "negative count": (
        _replace(7, "near,2001-07,-2,10000"),
        "its",
        "2001-12",
        ["deaths.csv, row 7 (line 8)", "deaths is negative (-2)"],
    ),
    "empty count": (
        _replace(7, "near,2001-07,,10000"),
        "its",
        "2001-12",
        ["row 7 (line 8)", "deaths is empty"],
    ),
    "withheld count": (
        _replace(7, "near,2001-07,Surpressed,10000"),
        "its",
        "2001-12",
        ["row 7 (line 8)", "deaths is withheld ('Surpressed')"],
    ),
    "count that is not a number": (
        _replace(7, "near,2001-07,1 234,10000"),
        "its",
        "2001-12",
        ["row 7 (line 8)", "deaths '1 234' is not a number"],
    ),
    "fractional count for a count model": (
        _replace(7, "near,2001-07,2.5,10000"),
        "its",
        "2001-12",
        ["row 7 (line 8)", "deaths 2.5 is not a whole number", "analysis 'main' (its)"],
    ),
    "zero population": (
        _replace(7, "near,2001-07,2,0"),
        "did",
        "2001-12",
        ["row 7 (line 8)", "population must be positive, not 0"],
    ),
    "start after the data": (
        GOOD,
        "did",
        "2003-01",
        ["study.toml, line 10: [intervention] start 2003-01 is after the last period of the data"],
    ),
    "start before the data": (
        GOOD,
        "did",
        "2001-01-15",
        ["[intervention] start 2001-01 is at or before the first period of the data"],
    ),
    "too few periods before the start": (
        GOOD,
        "its",
        "2001-04",
        ["analysis 'main' (its) needs at least 8 months before the start; there are 3"],
    ),
    "too few periods before the start for synthetic control": (
        _csv(ROWS + [r.replace("far", "other") for r in ROWS[24:]]),
        "synthetic_control",
        "2001-04",
        ["analysis 'main' (synthetic_control) needs at least 5 months before the start"],
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_data_is_named_by_file_row_and_problem(tmp_path, case):
    csv, method, start, expected = CASES[case]
    study = write(tmp_path, csv, PANEL_STUDY.format(start=start, method=method))
    with pytest.raises(StudyError) as caught:
        load_study(study)
    message = str(caught.value)
    assert str(tmp_path / "deaths.csv") in message or str(tmp_path / "study.toml") in message
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


def test_missing_column_names_the_header(tmp_path):
    toml = PANEL_STUDY.format(start="2001-12", method="its").replace(
        'value = "deaths"', 'value = "Deaths"'
    )
    study = write(tmp_path, GOOD, toml)
    with pytest.raises(StudyError) as caught:
        load_study(study)
    message = str(caught.value)
    assert "deaths.csv, line 1: no column 'Deaths' (named by [data] value)" in message
    assert "did you mean 'deaths'?" in message


def test_a_byte_that_is_not_utf8_is_named_by_its_line_anywhere_in_the_file(tmp_path):
    """Far past the first block a reader decodes (here ~30 KiB in): once a crash."""
    rows = [f"near,{p},5,10000" for p in pd.period_range("1001-01", periods=1200, freq="M")]
    rows.append("far,1001-01,5,10000")
    raw = (_csv(rows).replace("far,1001-01", "f\xe1r,1001-01")).encode("latin-1")
    (tmp_path / "deaths.csv").write_bytes(raw)
    study = tmp_path / "study.toml"
    study.write_text(PANEL_STUDY.format(start="1050-01", method="its"), encoding="utf-8")
    assert raw.index(b"\xe1") > 16_384
    with pytest.raises(StudyError, match=r"deaths.csv, line 1202: not UTF-8 text"):
        load_study(study)


def test_missing_data_file(tmp_path):
    study = tmp_path / "study.toml"
    study.write_text(PANEL_STUDY.format(start="2001-12", method="its"), encoding="utf-8")
    with pytest.raises(StudyError, match="deaths.csv: data file not found"):
        load_study(study)


def test_every_problem_is_reported_at_once(tmp_path):
    rows = list(ROWS)
    rows[1] = "near,2001-02,-1,10000"
    rows[9] = "near,2001-10,x,10000"
    study = write(tmp_path, _csv(rows), PANEL_STUDY.format(start="2001-12", method="its"))
    with pytest.raises(StudyError) as caught:
        load_study(study)
    assert [p.row for p in caught.value.problems] == [2, 10]


def test_unknown_units_are_named(tmp_path):
    toml = PANEL_STUDY.format(start="2001-12", method="did").replace(
        'unit = "near"', 'unit = "nowhere"\ncomparison = ["far", "elsewhere"]'
    )
    study = write(tmp_path, GOOD, toml)
    with pytest.raises(StudyError) as caught:
        load_study(study)
    message = str(caught.value)
    assert "[intervention] unit: unknown unit 'nowhere'; the data" in message
    assert "have: near, far" in message
    assert "[intervention] comparison: unknown unit 'elsewhere'" in message
