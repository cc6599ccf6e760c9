"""before_after reproduces the rate table of Marshall et al., Lancet 2011 (377: 1429-37).

Published: Insite opened on 21 September 2003; before = 1 Jan 2001 - 20 Sep 2003, after =
21 Sep 2003 - 31 Dec 2005. Of 290 overdose deaths, 89 were within 500 m of the site. Within
500 m the rate fell from 253.8 to 165.1 per 100,000 person-years (-35.0%); in the rest of the
city from 7.6 to 6.9 (-9.3%); the interaction of rate differences across strata had p = 0.049.

The paper gives rates, not person-years, so the test rebuilds counts and populations consistent
with them: each area's deaths are split between the periods in proportion to rate x period
length (days), and the population of each period is set so that deaths / person-years equal the
published rates. The data are monthly; the period containing 21 Sep 2003 counts as after.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from vigil.research.evaluate import evaluate
from vigil.research.study import load_study
from vigil.research.tests.studyfiles import write

BEFORE_DAYS = (dt.date(2003, 9, 20) - dt.date(2001, 1, 1)).days + 1
AFTER_DAYS = (dt.date(2005, 12, 31) - dt.date(2003, 9, 21)).days + 1
PUBLISHED = {
    # area: (rate before, rate after, percent change, deaths in both periods)
    "within 500 m": (253.8, 165.1, -35.0, 89),
    "rest of Vancouver": (7.6, 6.9, -9.3, 290 - 89),
}


def _counts() -> dict[str, tuple[int, int]]:
    counts = {}
    for area, (before, after, _, total) in PUBLISHED.items():
        share = before * BEFORE_DAYS / (before * BEFORE_DAYS + after * AFTER_DAYS)
        deaths_before = round(total * share)
        counts[area] = (deaths_before, total - deaths_before)
    return counts


def _study(folder: Path) -> Path:
    months = pd.period_range("2001-01", "2005-12", freq="M")
    after = months >= pd.Period("2003-09", freq="M")
    lines = ["area,month,deaths,population"]
    for area, (deaths_before, deaths_after) in _counts().items():
        rate_before, rate_after = PUBLISHED[area][:2]
        for mask, deaths, rate in (
            (~after, deaths_before, rate_before),
            (after, deaths_after, rate_after),
        ):
            n = int(mask.sum())
            # Spread the deaths over the months; only the totals enter the rates.
            per_month = np.diff(np.round(np.linspace(0, deaths, n + 1))).astype(int)
            population = deaths / (rate / 100_000) / (n / 12)
            for month, count in zip(months[mask], per_month, strict=True):
                lines.append(f"{area},{month},{count},{population!r}")
    toml = """\
title = "Insite, 500 m (Marshall et al. 2011, rebuilt)"
area_definition = "city blocks whose centres lie within 500 m of Insite"
death_definition = "accidental illicit drug overdose, coroner-confirmed"
[data]
file = "deaths.csv"
unit = "area"
time = "month"
value = "deaths"
population = "population"
[intervention]
unit = "within 500 m"
start = 2003-09-21
comparison = ["rest of Vancouver"]
[[analysis]]
name = "main"
method = "before_after"
"""
    return write(folder, "\n".join(lines) + "\n", toml)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    folder = tmp_path_factory.mktemp("marshall")
    return evaluate(load_study(_study(folder)))["analyses"][0]


def test_rate_table_matches_the_paper(result):
    assert result["start"] == "2003-09"
    for area, (before, after, change, _) in PUBLISHED.items():
        group = result["groups"][area]
        # 0.1 per 100,000 person-years and 0.1 percentage points, as published.
        assert abs(group["rate_before"] - before) <= 0.1, area
        assert abs(group["rate_after"] - after) <= 0.1, area
        assert abs(group["percent_change"] - change) <= 0.1, area
        assert group["deaths_before"] + group["deaths_after"] == PUBLISHED[area][3]


def test_ratio_of_rate_ratios_and_its_interval(result):
    (a, b), (c, d) = _counts().values()
    near = PUBLISHED["within 500 m"]
    far = PUBLISHED["rest of Vancouver"]
    # The ratio of the published rate ratios, and the Wald interval of a log ratio of Poisson
    # rate ratios computed by hand: se = sqrt(1/a + 1/b + 1/c + 1/d).
    expected = (near[1] / near[0]) / (far[1] / far[0])
    se = math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    z = stats.norm.ppf(0.975)
    assert abs(result["rate_ratio"] - expected) < 1e-6
    assert np.allclose(
        result["rate_ratio_ci"], [expected * math.exp(-z * se), expected * math.exp(z * se)]
    )
    assert abs(result["p_difference"] - 2 * stats.norm.sf(abs(math.log(expected)) / se)) < 1e-6


def test_interaction_of_rate_differences_matches_the_published_p(result):
    groups = list(result["groups"].values())
    change = [(g["rate_after"] - g["rate_before"]) for g in groups]
    assert abs(result["rate_difference_change"] - (change[0] - change[1])) < 1e-6
    # Marshall et al. report p = 0.049 for the interaction of rate differences across strata;
    # the rebuilt counts give it to within 0.001 (their exact person-years are not published).
    assert abs(result["p_rate_difference"] - 0.049) <= 0.001
