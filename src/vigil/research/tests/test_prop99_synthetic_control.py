"""synthetic_control on California's Proposition 99 (Abadie, Diamond and Hainmueller, JASA 2010).

The data (per-capita cigarette sales in packs, 39 states, 1970-2000) ship in the causalpy
package on PyPI as causalpy/data/california_prop99.csv; the test reads that file in place and
never imports causalpy. Our figures are checked against an independent computation in this
test: the same quadratic programme solved by a different scipy algorithm (trust-constr with the
exact Hessian on the unscaled problem; the method uses NNLS and SLSQP on a scaled one), and
the placebo p-value recomputed from those weights.

ADH fit on covariates with a fitted predictor weighting; our default predictors are the
pre-period outcomes, so the donor weights differ from their Table 2. The headline still matches
the paper: "by the year 2000 annual per-capita cigarette sales in California were about 26
packs lower than what they would have been in the absence of Proposition 99". ADH's placebo
ratio test ranks California first of 39 (p = 1/39) with their predictors; with outcome
predictors two states fit so closely before 1989 that their ratio is larger, giving 3/39.
"""

from __future__ import annotations

import importlib.metadata
from functools import cache

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import Bounds, LinearConstraint, minimize

from vigil.research.evaluate import evaluate
from vigil.research.study import load_study
from vigil.research.tests.studyfiles import write

TREATED = "California"
TOML = """\
title = "California's Proposition 99"
[data]
file = "smoking.csv"
unit = "state"
time = "year"
value = "packs"
[intervention]
unit = "California"
start = "1989"
[[analysis]]
name = "prop99"
method = "synthetic_control"
"""


def _wide() -> pd.DataFrame:
    try:
        dist = importlib.metadata.distribution("causalpy")
    except importlib.metadata.PackageNotFoundError:
        pytest.fail(
            "the Proposition 99 data come from the causalpy package: install it as data only "
            "with `pip install --no-deps causalpy==0.9.0`"
        )
    path = dist.locate_file("causalpy/data/california_prop99.csv")
    return pd.read_csv(str(path)).set_index("Year")


@cache
def _independent_weights(y: tuple[float, ...], x: tuple[tuple[float, ...], ...]) -> np.ndarray:
    """The same quadratic programme by another scipy algorithm (trust-region constrained, with
    the exact Hessian) on the unscaled problem."""
    target = np.array(y)
    donors = np.array(x).T
    n = donors.shape[1]
    gram, cross = donors.T @ donors, donors.T @ target
    result = minimize(
        lambda w: w @ gram @ w - 2 * cross @ w,
        np.full(n, 1 / n),
        jac=lambda w: 2 * (gram @ w - cross),
        hess=lambda w: 2 * gram,
        method="trust-constr",
        bounds=Bounds(np.zeros(n), np.ones(n)),
        constraints=[LinearConstraint(np.ones((1, n)), 1, 1)],
        options={"gtol": 1e-10, "xtol": 1e-12, "maxiter": 5000},
    )
    w = np.clip(result.x, 0, None)
    return w / w.sum()


def _fit(frame: pd.DataFrame, unit: str, donors: list[str], pre: np.ndarray):
    y = frame[unit].to_numpy()
    x = frame[donors].to_numpy()
    w = _independent_weights(tuple(y[pre]), tuple(map(tuple, x[pre].T)))
    gap = y - x @ w
    return w, gap


@pytest.fixture(scope="module")
def prop99(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("prop99")
    wide = _wide()
    long = wide.reset_index().melt(id_vars="Year", var_name="state", value_name="packs")
    long = long.rename(columns={"Year": "year"})[["state", "year", "packs"]]
    study = write(tmp_path, long.to_csv(index=False), TOML, csv_name="smoking.csv")
    return wide, evaluate(load_study(study))["analyses"][0]


def test_weights_att_and_fit_match_an_independent_quadratic_programme(prop99):
    wide, result = prop99
    pre = np.asarray(wide.index < 1989)
    donors = [c for c in wide.columns if c != TREATED]
    w, gap = _fit(wide, TREATED, donors, pre)

    ours = np.array([result["weights"][d] for d in donors])
    assert np.all(ours >= 0) and abs(ours.sum() - 1) < 1e-9
    # Tolerances: 0.002 on each weight, 0.05 packs on the ATT, 0.01 packs on the pre-RMSPE.
    assert np.max(np.abs(ours - w)) < 0.002
    assert abs(result["att"] - gap[~pre].mean()) < 0.05
    assert abs(result["pre_rmspe"] - np.sqrt(np.mean(gap[pre] ** 2))) < 0.01
    assert len(wide.columns) == 39 and result["periods_before"] == 19


def test_gap_in_2000_is_about_26_packs_as_published(prop99):
    _, result = prop99
    series = result["series"]
    gap_2000 = series["gap"][series["periods"].index("2000")]
    assert -28.0 < gap_2000 < -24.0
    assert result["att"] < -15.0  # consumption fell relative to the synthetic California


def test_placebo_p_matches_an_independent_permutation(prop99):
    wide, result = prop99
    pre = np.asarray(wide.index < 1989)
    donors = [c for c in wide.columns if c != TREATED]

    def ratio(gap):
        return np.sqrt(np.mean(gap[~pre] ** 2)) / np.sqrt(np.mean(gap[pre] ** 2))

    ratios = {TREATED: ratio(_fit(wide, TREATED, donors, pre)[1])}
    for unit in donors:
        others = [d for d in donors if d != unit]
        ratios[unit] = ratio(_fit(wide, unit, others, pre)[1])
    expected = np.mean([r >= ratios[TREATED] * (1 - 1e-9) for r in ratios.values()])
    assert result["placebo_units"] == 39
    assert result["placebo_p"] == expected
    assert result["placebo_p"] == 3 / 39
