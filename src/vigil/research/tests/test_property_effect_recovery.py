"""An effect injected into synthetic data is recovered within its interval (ITS and DiD).

Each example draws an effect and a series length; 20 seeded replicates are simulated for it
and the true effect must lie inside the 95% interval in at least 16 of them (the chance of
fewer under correct 95% coverage is about 1.6%; examples are derandomised, so the test is
reproducible). A biased estimator or a far too narrow interval fails it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.research.methods import did, its
from vigil.research.tests.studyfiles import design, months

REPLICATES = 20
NEEDED = 16


@settings(max_examples=8, deadline=None, derandomize=True)
@given(
    level=st.floats(min_value=0.5, max_value=2.0),
    slope=st.floats(min_value=-0.02, max_value=0.02),
    length=st.integers(min_value=48, max_value=96),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_its_recovers_level_and_slope_changes(level, slope, length, seed):
    rng = np.random.default_rng(seed)
    periods = months(length)
    t = np.arange(length)
    t0 = length // 2
    after = t >= t0
    season = 0.15 * np.cos(2 * np.pi * (np.asarray(periods.month) - 1) / 12)
    mu = 40 * np.exp(0.004 * t + season + np.log(level) * after + slope * (t - t0) * after)
    covered_level = covered_slope = 0
    for _ in range(REPLICATES):
        values = pd.DataFrame({"area": rng.poisson(mu)}, index=periods)
        result = its.run(design(values, str(periods[t0]), "area"), {})
        low, high = result["level_change_rr_ci"]
        covered_level += low <= level <= high
        low, high = result["slope_change_rr_ci"]
        covered_slope += low <= np.exp(slope) <= high
    assert covered_level >= NEEDED
    assert covered_slope >= NEEDED


@settings(max_examples=8, deadline=None, derandomize=True)
@given(
    effect=st.floats(min_value=-15.0, max_value=15.0),
    length=st.integers(min_value=24, max_value=96),
    comparisons=st.integers(min_value=1, max_value=6),
    seed=st.integers(min_value=0, max_value=2**16),
)
def test_did_recovers_an_added_rate_change(effect, length, comparisons, seed):
    rng = np.random.default_rng(seed)
    periods = months(length)
    t = np.arange(length)
    after = t >= length // 2
    population = 100_000.0
    common = 30 + 5 * np.sin(2 * np.pi * t / 12) + 0.05 * t  # per 100,000 person-years
    covered = 0
    for _ in range(REPLICATES):
        columns = {}
        for j in range(comparisons + 1):
            rate = common + (effect * after if j == 0 else 0) + 3 * j
            columns["near" if j == 0 else f"far{j}"] = rng.poisson(rate * population / 12 / 1e5)
        values = pd.DataFrame(columns, index=periods)
        people = pd.DataFrame(population, index=periods, columns=values.columns)
        result = did.run(design(values, str(periods[length // 2]), "near", people), {})
        low, high = result["ci"]
        covered += low <= effect <= high
    assert covered >= NEEDED
