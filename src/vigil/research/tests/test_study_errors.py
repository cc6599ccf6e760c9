"""A bad study file gets a clear, specific error naming the file, the line and the problem."""

from __future__ import annotations

import pytest

from vigil.research.errors import StudyError
from vigil.research.study import load_study
from vigil.research.tests.studyfiles import PANEL_STUDY, panel_csv, write

BASE = PANEL_STUDY.format(start="2001-12", method="its")  # 13 lines; [[analysis]] on line 11


def _line(toml: str, text: str) -> int:
    return next(i for i, line in enumerate(toml.splitlines(), 1) if text in line)


CASES = {
    "not TOML": (BASE.replace('method = "its"', "method = its"), ["not valid TOML", "line 13"]),
    "unknown method": (
        BASE.replace('method = "its"', 'method = "itz"'),
        [
            "study.toml, line 13",
            "unknown method 'itz'",
            "before_after, did, its, synthetic_control",
        ],
    ),
    "duplicate analysis names": (
        BASE + '[[analysis]]\nname = "main"\nmethod = "did"\n',
        ["study.toml, line 15", "duplicate analysis name 'main' (also analysis 1)"],
    ),
    "vigil records": (
        BASE + "[vigil]\nsite = 1\n",
        [
            "study.toml, line 14: [vigil] names either a site or a jurisdiction",
            "study.toml, line 15: [vigil] site must be a non-empty text, not 1",
            "has no [data] or [intervention]",
            "analysis 'main': unknown method 'its'; a study over Vigil's records ([vigil]) takes "
            "reach, onsite_outcomes, treatment_entry",
        ],
    ),
    "no title": (BASE.replace('title = "test study"\n', ""), ["title is required"]),
    "unknown key": (
        BASE.replace('population = "population"', 'popluation = "population"'),
        ["study.toml, line 7", "unknown key 'popluation' in [data]"],
    ),
    "unknown option": (
        BASE + "lags = 4\n",
        ["study.toml, line 14", "unknown option 'lags' for its", "maxlags"],
    ),
    "bad option value": (
        BASE + 'family = "gaussian"\n',
        ["line 14", "family must be one of 'poisson', 'negative_binomial'"],
    ),
    "no analysis": (BASE.split("[[analysis]]")[0], ["at least one [[analysis]] table"]),
    "no start": (BASE.replace('start = "2001-12"\n', ""), ["[intervention] start is required"]),
    "year start on monthly data": (
        BASE.replace('start = "2001-12"', "start = 2001"),
        ["line 10", "[intervention] start '2001' is a year but the data are monthly"],
    ),
    "ambiguous start": (
        BASE.replace('start = "2001-12"', 'start = "03/04/2001"'),
        ["line 10", "'03/04/2001' is not an ISO date"],
    ),
    "intervention unit missing for a panel": (
        BASE.replace('unit = "near"\n', ""),
        ["[intervention] unit is required when [data] names a unit column"],
    ),
    "comparison includes the intervention unit": (
        BASE.replace('unit = "near"\n', 'unit = "near"\ncomparison = ["near", "far"]\n'),
        ["[intervention] comparison includes the intervention unit 'near'"],
    ),
    "window outside the data": (
        BASE + 'to = "2004-01"\n',
        ["line 14", "analysis 'main' (its): to 2004-01 is outside the data"],
    ),
    "start after the window": (
        BASE + 'to = "2001-10"\n',
        ["analysis 'main' (its): the intervention start (2001-12) is after the last period"],
    ),
    "comparison for a method without one": (
        BASE + 'comparison = ["far"]\n',
        ["line 14", "analysis 'main' (its) uses no comparison units"],
    ),
    "rates without a population": (
        BASE.replace('population = "population"\n', "").replace('"its"', '"before_after"'),
        ["(before_after) reports rates per 100,000 person-years and needs [data] population"],
    ),
    "comparison method on a single series": (
        BASE.replace('unit = "area"\n', "")
        .replace('unit = "near"\n', "")
        .replace('"its"', '"did"'),
        ["(did) compares the intervention unit with comparison units", "no unit column"],
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_bad_study_is_named_by_file_line_and_problem(tmp_path, case):
    toml, expected = CASES[case]
    csv = panel_csv()
    if case == "comparison method on a single series":
        csv = "month,deaths,population\n" + "".join(
            line.split(",", 1)[1] + "\n" for line in csv.splitlines()[1:25]
        )
    study = write(tmp_path, csv, toml)
    with pytest.raises(StudyError) as caught:
        load_study(study)
    message = str(caught.value)
    assert f"{tmp_path / 'study.toml'}" in message or f"{tmp_path / 'deaths.csv'}" in message
    for part in expected:
        assert part in message, f"{part!r} not in {message!r}"


def test_missing_study_file(tmp_path):
    with pytest.raises(StudyError, match="nowhere.toml: study file not found"):
        load_study(tmp_path / "nowhere.toml")


def test_line_numbers_point_at_the_key(tmp_path):
    toml = BASE + '[[analysis]]\nname = "second"\nmethod = "nope"\n'
    study = write(tmp_path, panel_csv(), toml)
    with pytest.raises(StudyError) as caught:
        load_study(study)
    assert caught.value.problems[0].line == _line(toml, '"nope"')
