"""Synthetic control with placebo-in-space inference (Abadie, Diamond and Hainmueller 2010).

By default the predictors are the pre-intervention outcomes themselves, so the weights are the
convex combination of comparison units that minimises the pre-period squared error: a
constrained least-squares problem with a deterministic answer, solved as a quadratic programme
with scipy. Inference permutes the treated unit: each comparison unit in turn is
treated as if it had received the intervention (with the other comparison units as donors), and
the p-value is the share of all units, the real one included, whose post/pre RMSPE ratio is at
least the real one's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import minimize, nnls

from vigil.research.design import PER, Design
from vigil.research.errors import Problem, StudyError
from vigil.research.methods import MethodSpec
from vigil.research.methods.common import boolean, floats

# Post/pre RMSPE ratios this close count as ties: they differ only by solver rounding.
_TIE = 1e-9


def outcomes(design: Design) -> tuple[pd.DataFrame, str]:
    """The outcome matrix (periods x units) and its scale: rates when a population is given."""
    if design.population is not None:
        return design.values / design.person_years() * PER, "per 100,000 person-years"
    return design.values.astype(float), f"{design.value_name} per period"


def weights(donors_before: np.ndarray, treated_before: np.ndarray) -> np.ndarray:
    """Non-negative weights summing to 1 that minimise the pre-period squared error.

    A convex quadratic programme on a problem scaled to entries of at most 1 (solvers stop on
    absolute tolerances, so unscaled their answer depends on the units of the outcome:
    pysyncon's solver, which works on the unscaled problem with a numerical gradient, gives
    visibly different weights when the same data are multiplied by 100). Lawson-Hanson
    non-negative least squares, with the sum-to-one constraint as a heavily weighted row, finds
    the solution's support in a few exact steps; scipy's SLSQP with the exact gradient then
    polishes it from there (started cold it needs a hundred iterations, each slow when the
    machine is busy). The best of these and of each single donor is returned, so a stalled
    solver on a degenerate problem (equal or all-zero donors) cannot give a worse fit.
    """
    a = np.asarray(donors_before, dtype=float)
    b = np.asarray(treated_before, dtype=float)
    n = a.shape[1]
    if n == 1:
        return np.ones(1)
    size = max(float(np.abs(a).max()), float(np.abs(b).max())) or 1.0
    a, b = a / size, b / size
    gram, cross = a.T @ a, a.T @ b

    def loss(w: np.ndarray) -> float:
        r = a @ w - b
        return float(r @ r)

    def gradient(w: np.ndarray) -> np.ndarray:
        return 2.0 * (gram @ w - cross)

    def feasible(w: np.ndarray) -> np.ndarray | None:
        w = np.clip(np.nan_to_num(w, nan=0.0), 0.0, None)
        return w / w.sum() if w.sum() > 0 else None

    heavy = 1e4
    support, _ = nnls(np.vstack([a, np.full(n, heavy)]), np.append(b, heavy), maxiter=50 * n)
    start = feasible(support)
    candidates = [np.eye(n)[j] for j in range(n)]
    if start is not None:
        candidates.append(start)
    polished = minimize(
        loss,
        start if start is not None else np.full(n, 1.0 / n),
        jac=gradient,
        method="SLSQP",
        bounds=[(0.0, 1.0)] * n,
        constraints=[{"type": "eq", "fun": lambda w: w.sum() - 1.0, "jac": lambda w: np.ones(n)}],
        options={"ftol": 1e-14, "maxiter": 1000},
    )
    if (w := feasible(polished.x)) is not None:
        candidates.append(w)
    return min(candidates, key=loss)


def _fit(outcome: pd.DataFrame, unit: str, donors: list[str], after: np.ndarray) -> dict:
    y = outcome[unit].to_numpy(float)
    x = outcome[donors].to_numpy(float)
    w = weights(x[~after], y[~after])
    synthetic = x @ w
    gap = y - synthetic
    pre = float(np.sqrt(np.mean(gap[~after] ** 2)))
    post = float(np.sqrt(np.mean(gap[after] ** 2)))
    ratio = post / pre if pre > 0 else np.inf
    return {"w": w, "synthetic": synthetic, "gap": gap, "pre": pre, "post": post, "ratio": ratio}


def run(design: Design, options: Mapping[str, Any]) -> dict[str, Any]:
    outcome, scale = outcomes(design)
    after = design.after
    donors = list(design.comparison)
    if len(donors) < 2:
        raise StudyError(
            Problem(
                design.file,
                f"analysis '{design.analysis}' (synthetic_control) needs at least 2 comparison "
                "units",
            )
        )
    main = _fit(outcome, design.treated, donors, after)

    result: dict[str, Any] = design.header()
    result.update(
        {
            "scale": scale,
            "predictors": "pre-intervention outcomes",
            "weights": {unit: float(w) for unit, w in zip(donors, main["w"], strict=True)},
            "att": float(main["gap"][after].mean()),
            "pre_rmspe": main["pre"],
            "post_rmspe": main["post"],
            "rmspe_ratio": float(main["ratio"]) if np.isfinite(main["ratio"]) else None,
        }
    )
    placebo_gaps: dict[str, list[float | None]] = {}
    if options.get("placebo", True):
        ratios = {design.treated: main["ratio"]}
        for unit in donors:
            others = [d for d in donors if d != unit]
            fit = _fit(outcome, unit, others, after)
            ratios[unit] = fit["ratio"]
            placebo_gaps[unit] = floats(fit["gap"])
        treated_ratio = main["ratio"]
        at_least = sum(1 for r in ratios.values() if r >= treated_ratio * (1 - _TIE))
        result["placebo_p"] = at_least / len(ratios)
        result["placebo_units"] = len(ratios)
        result["placebo_ratios"] = {
            u: (float(r) if np.isfinite(r) else None) for u, r in ratios.items()
        }
    else:
        result["placebo_p"] = None
    result["series"] = {
        "periods": design.labels(),
        "after": [bool(a) for a in after],
        "observed": floats(outcome[design.treated]),
        "counterfactual": floats(main["synthetic"]),
        "gap": floats(main["gap"]),
        "placebo_gaps": placebo_gaps,
    }
    return result


SPEC = MethodSpec(
    name="synthetic_control",
    label="Synthetic control",
    run=run,
    options={"placebo": boolean},
    min_before=5,
    min_after=1,
    needs_comparison=True,
    needs_population=False,
    needs_counts=False,
    description=(
        "A weighted average of the comparison units (weights non-negative, summing to 1) "
        "chosen to reproduce the intervention unit's outcome before the start as closely as "
        "possible: the predictors are the pre-intervention outcomes themselves and the weights "
        "minimise the pre-period squared error (rates per 100,000 person-years when a "
        "population is given). The effect (ATT) is the mean gap between the unit and its "
        "synthetic control after the start; pre-RMSPE measures the fit before. Placebo-in-space "
        "inference re-runs the method with each comparison unit as the treated one; the "
        "p-value is the share of all units, the real one included, whose post/pre RMSPE ratio "
        "is at least the real one's (Abadie, Diamond and Hainmueller 2010)."
    ),
    assumptions=(
        "The unit's outcome without the intervention is the same weighted average of the "
        "comparison units after the start as before (a good pre-period fit makes this "
        "plausible; a poor fit, a large pre-RMSPE, makes the estimate unreliable).",
        "Comparison units are not affected by the intervention (no spill-over or displacement) "
        "and have no comparable intervention of their own.",
        "The placebo p-value treats the units as exchangeable; with N units it cannot be "
        "smaller than 1/N.",
    ),
)
