"""Synthetic-control weights are non-negative, sum to 1, and fit at least as well as any
single donor or the plain average of the donors (both are feasible weightings)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from vigil.research.methods.synthetic_control import weights

values = st.floats(min_value=0.0, max_value=500.0, allow_nan=False, allow_infinity=False)


@st.composite
def problems(draw):
    periods = draw(st.integers(min_value=2, max_value=15))
    donors = draw(st.integers(min_value=1, max_value=8))
    x = draw(arrays(np.float64, (periods, donors), elements=values))
    y = draw(arrays(np.float64, periods, elements=values))
    return x, y


@settings(max_examples=60, deadline=None, derandomize=True)
@given(problems())
def test_weights_are_a_convex_combination_that_fits_best(problem):
    x, y = problem
    w = weights(x, y)
    assert w.shape == (x.shape[1],)
    assert np.all(w >= 0)
    assert abs(w.sum() - 1) < 1e-9

    def sse(v):
        return float(np.sum((y - x @ v) ** 2))

    # Never worse than the best vertex or the centre of the simplex, up to solver rounding.
    slack = 1e-7 * (1 + float(np.sum(y**2)))
    best_single = min(sse(np.eye(x.shape[1])[j]) for j in range(x.shape[1]))
    assert sse(w) <= best_single + slack
    assert sse(w) <= sse(np.full(x.shape[1], 1 / x.shape[1])) + slack
