"""A placebo with no effect is not "significant" more often than the nominal rate.

Seeded simulations of data with no intervention effect. For each method the count of
"significant" results must not exceed the 99th percentile of Binomial(runs, nominal rate), so
the test fails only if the real rejection rate is above nominal (or with 1% chance for this
fixed seed, which was not tuned).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from vigil.research.methods import did, its, synthetic_control
from vigil.research.tests.studyfiles import design, months

SEED = 20110418  # the day Marshall et al. was published online


def _allowed(runs: int, rate: float) -> int:
    return int(stats.binom.ppf(0.99, runs, rate))


def test_its_level_change_is_significant_at_the_nominal_rate():
    rng = np.random.default_rng(SEED)
    runs, length = 200, 72
    periods = months(length)
    t = np.arange(length)
    mu = 25 * np.exp(0.003 * t + 0.1 * np.sin(2 * np.pi * t / 12))
    significant = 0
    for _ in range(runs):
        values = pd.DataFrame({"area": rng.poisson(mu)}, index=periods)
        result = its.run(design(values, str(periods[length // 2]), "area"), {})
        significant += result["p_level_change"] < 0.05
    assert significant <= _allowed(runs, 0.05)


def test_did_is_significant_at_the_nominal_rate():
    rng = np.random.default_rng(SEED)
    runs, length = 200, 60
    periods = months(length)
    significant = 0
    for _ in range(runs):
        values = pd.DataFrame(
            {unit: rng.poisson(20, length) for unit in ("near", "far1", "far2")}, index=periods
        )
        result = did.run(design(values, str(periods[length // 2]), "near"), {})
        significant += result["p"] < 0.05
    assert significant <= _allowed(runs, 0.05)


def test_synthetic_control_placebo_p_is_at_the_nominal_rate():
    rng = np.random.default_rng(SEED)
    runs, units, length = 60, 10, 36
    periods = months(length)
    significant = 0
    for _ in range(runs):
        base = rng.uniform(10, 40, units)
        counts = rng.poisson(np.outer(np.ones(length), base))
        values = pd.DataFrame(counts, index=periods, columns=[f"u{i}" for i in range(units)])
        result = synthetic_control.run(design(values, str(periods[24]), "u0"), {})
        # With 10 units the smallest attainable p-value is 0.1: "significant" means p <= 0.1.
        significant += result["placebo_p"] <= 0.1
    assert significant <= _allowed(runs, 0.1)
