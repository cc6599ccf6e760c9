"""Each method returns the known answer on data built to have it."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from vigil.research.errors import StudyError
from vigil.research.methods import before_after, did, its, synthetic_control
from vigil.research.tests.studyfiles import design, months


# Noise-free data fit perfectly, which statsmodels flags; here that is the point.
@pytest.mark.filterwarnings("ignore::statsmodels.tools.sm_exceptions.PerfectSeparationWarning")
def test_its_recovers_an_exact_level_and_slope_change_with_an_offset():
    periods = months(96)
    t = np.arange(96)
    after = t >= 48
    people = 200_000 * np.exp(0.002 * t)
    season = 0.2 * np.sin(2 * np.pi * (np.asarray(periods.month)) / 12)
    rate = (
        20
        / 100_000
        / 12
        * np.exp(0.005 * t + season + np.log(0.7) * after - 0.01 * (t - 48) * after)
    )
    values = pd.DataFrame({"a": people * rate}, index=periods)
    population = pd.DataFrame({"a": people}, index=periods)
    result = its.run(design(values, "2014-01", "a", population), {})
    assert result["level_change_rr"] == pytest.approx(0.7, rel=1e-6)
    assert result["slope_change_rr"] == pytest.approx(np.exp(-0.01), rel=1e-6)
    assert result["trend_before_rr"] == pytest.approx(np.exp(0.005), rel=1e-6)
    # Without the change the series would have continued its trend: 1/0.7 more at the start.
    cf, fitted = result["series"]["counterfactual"], result["series"]["fitted"]
    assert cf[48] / fitted[48] == pytest.approx(1 / 0.7, rel=1e-6)
    assert result["rates_per"] == "100,000 person-years"


def test_its_negative_binomial_fits_over_dispersed_counts():
    rng = np.random.default_rng(3)
    periods = months(84)
    t = np.arange(84)
    mu = 60 * np.exp(0.004 * t + np.log(1.5) * (t >= 42))
    counts = rng.negative_binomial(20, 20 / (20 + mu))
    result = its.run(
        design(pd.DataFrame({"a": counts}, index=periods), str(periods[42]), "a"),
        {"family": "negative_binomial", "seasonality": "dummies"},
    )
    assert result["nb_alpha"] > 0
    low, high = result["level_change_rr_ci"]
    assert low < 1.5 < high


def test_did_estimate_is_the_difference_of_mean_changes():
    periods = months(10)
    values = pd.DataFrame(
        {
            "near": [5, 6, 5, 6, 5, 2, 3, 2, 3, 2],
            "far1": [4, 4, 4, 4, 4, 5, 5, 5, 5, 5],
            "far2": [6, 6, 6, 6, 6, 7, 7, 7, 7, 7],
        },
        index=periods,
    )
    result = did.run(design(values, str(periods[5]), "near"), {})
    # near: 5.4 -> 2.4 (-3); comparison average: 5 -> 6 (+1); difference -4.
    assert result["estimate"] == pytest.approx(-4.0)
    assert result["scale"] == "deaths per period"
    low, high = result["ci"]
    assert low < -4.0 < high


def test_did_pools_comparison_rates_when_populations_are_given():
    periods = months(4)
    values = pd.DataFrame({"near": [10, 10, 5, 5], "a": [1, 1, 1, 1], "b": [9, 9, 9, 9]}, periods)
    population = pd.DataFrame({"near": 12e4, "a": 12e4, "b": 108e4}, index=periods)
    result = did.run(design(values, str(periods[2]), "near", population), {})
    # Rates per 100,000 person-years: near 100 -> 50; a and b pooled: (1+9)/(1.2e6/12) = 10.
    assert result["intervention_before"] == pytest.approx(100.0)
    assert result["comparison_before"] == pytest.approx(10.0)
    assert result["estimate"] == pytest.approx(-50.0)


def test_synthetic_control_finds_an_exact_convex_combination():
    rng = np.random.default_rng(5)
    periods = months(30)
    donors = pd.DataFrame(rng.uniform(10, 50, (30, 3)), index=periods, columns=["a", "b", "c"])
    treated = 0.3 * donors["a"] + 0.7 * donors["b"]
    treated = treated - 4.0 * (np.arange(30) >= 20)
    values = pd.concat([treated.rename("t"), donors], axis=1)
    result = synthetic_control.run(design(values, str(periods[20]), "t"), {})
    assert result["weights"] == pytest.approx({"a": 0.3, "b": 0.7, "c": 0.0}, abs=1e-6)
    assert result["pre_rmspe"] == pytest.approx(0.0, abs=1e-5)
    assert result["att"] == pytest.approx(-4.0, abs=1e-4)


def test_synthetic_control_weights_do_not_depend_on_units():
    rng = np.random.default_rng(11)
    periods = months(24)
    values = pd.DataFrame(rng.uniform(1, 9, (24, 6)), index=periods, columns=list("tabcde"))
    small = synthetic_control.run(design(values / 1000, str(periods[18]), "t"), {"placebo": False})
    large = synthetic_control.run(design(values * 1000, str(periods[18]), "t"), {"placebo": False})
    assert small["weights"] == pytest.approx(large["weights"], abs=1e-6)
    assert small["placebo_p"] is None


def test_before_after_pools_several_comparison_areas():
    periods = months(4)
    values = pd.DataFrame({"near": [4, 4, 2, 2], "a": [1, 1, 1, 1], "b": [3, 3, 3, 3]}, periods)
    population = pd.DataFrame({"near": 12e3, "a": 12e4, "b": 12e4}, index=periods)
    result = before_after.run(design(values, str(periods[2]), "near", population), {})
    far = result["groups"]["comparison areas"]
    assert far["units"] == ["a", "b"]
    # (1 + 3) deaths a month over 240,000 people: 20 per 100,000 person-years, before and after.
    assert far["rate_before"] == pytest.approx(20.0)
    assert far["percent_change"] == pytest.approx(0.0)
    assert result["groups"]["near"]["percent_change"] == pytest.approx(-50.0)
    assert result["rate_ratio"] == pytest.approx(0.5)


def test_before_after_refuses_an_empty_cell():
    periods = months(4)
    values = pd.DataFrame({"near": [4, 4, 0, 0], "far": [1, 1, 1, 1]}, periods)
    population = pd.DataFrame(1e4, index=periods, columns=values.columns)
    with pytest.raises(StudyError, match="no deaths in 'near' after the start"):
        before_after.run(design(values, str(periods[2]), "near", population), {})
