"""Difference-in-differences of the intervention area against the comparison areas.

The outcome is the rate per 100,000 person-years when a population is given (comparison areas
pooled: their deaths over their person-years) and otherwise the count per period (comparison
areas averaged). The per-period gap, intervention minus comparison, is regressed on an "after"
indicator; its coefficient is exactly the difference-in-differences of the period means.
Newey-West standard errors allow for the serial correlation that makes naive
difference-in-differences intervals far too narrow (Bertrand, Duflo and Mullainathan 2004); as
they are themselves too small in short series, the wider of them and the ordinary least-squares
errors is used, with Student-t intervals.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import statsmodels.api as sm

from vigil.research.design import PER, Design
from vigil.research.methods import MethodSpec
from vigil.research.methods.common import (
    floats,
    int_between,
    interval,
    newey_west_lags,
    wider_t_inference,
)


def outcome(design: Design) -> tuple[np.ndarray, np.ndarray, str]:
    """(intervention series, comparison series, scale), on the scale the method works in."""
    comparison = list(design.comparison)
    if design.population is not None:
        years = design.person_years()
        treated = design.values[design.treated] / years[design.treated] * PER
        pooled = design.values[comparison].sum(axis=1) / years[comparison].sum(axis=1) * PER
        return treated.to_numpy(float), pooled.to_numpy(float), "per 100,000 person-years"
    treated = design.values[design.treated]
    averaged = design.values[comparison].mean(axis=1)
    return treated.to_numpy(float), averaged.to_numpy(float), f"{design.value_name} per period"


def run(design: Design, options: Mapping[str, Any]) -> dict[str, Any]:
    treated, comparison, scale = outcome(design)
    after = design.after
    gap = treated - comparison
    maxlags = options.get("maxlags", newey_west_lags(len(gap)))
    exog = np.column_stack([np.ones(len(gap)), after.astype(float)])
    model = sm.OLS(gap, exog)
    robust = model.fit(cov_type="HAC", cov_kwds={"maxlags": maxlags})
    params = np.asarray(robust.params)
    errors = [np.asarray(robust.bse), np.asarray(model.fit().bse)]
    _, conf, pvalues = wider_t_inference(params, errors, len(gap) - 2)
    low, high = conf[1]
    estimate = float(params[1])
    before_gap = float(gap[~after].mean())
    counterfactual = comparison + before_gap
    counterfactual_after = float(counterfactual[after].mean())

    result: dict[str, Any] = design.header()
    result.update(
        {
            "scale": scale,
            "estimate": estimate,
            "ci": interval(low, high),
            "p": float(pvalues[1]),
            "maxlags": maxlags,
            "standard_errors": "wider of Newey-West and ordinary least squares",
            "intervention_before": float(treated[~after].mean()),
            "intervention_after": float(treated[after].mean()),
            "comparison_before": float(comparison[~after].mean()),
            "comparison_after": float(comparison[after].mean()),
            "counterfactual_after": counterfactual_after,
            "percent_of_counterfactual": (
                float(estimate / counterfactual_after * 100.0) if counterfactual_after else None
            ),
        }
    )
    result["series"] = {
        "periods": design.labels(),
        "after": [bool(a) for a in after],
        "observed": floats(treated),
        "comparison": floats(comparison),
        "counterfactual": floats(np.where(after, counterfactual, np.nan)),
    }
    return result


SPEC = MethodSpec(
    name="did",
    label="Difference-in-differences",
    run=run,
    options={"maxlags": int_between(0, 60)},
    min_before=2,
    min_after=1,
    needs_comparison=True,
    needs_population=False,
    needs_counts=False,
    description=(
        "The change in the intervention area's mean outcome from before to after the start, "
        "minus the same change in the comparison areas (rates per 100,000 person-years with "
        "the comparison areas pooled when a population is given, otherwise counts per period "
        "with the comparison areas averaged). The estimate is the coefficient of an 'after' "
        "indicator in a regression of the per-period gap between the two; its standard error is "
        "the wider of the Newey-West and the ordinary least-squares ones, with a Student-t 95% "
        "interval. The counterfactual is the comparison "
        "series shifted by the mean gap before the start."
    ),
    assumptions=(
        "Parallel trends: without the intervention the gap between the intervention area and "
        "the comparison areas would have stayed at its mean before the start.",
        "No spill-over: the intervention does not change deaths in the comparison areas "
        "(displacement of drug use or of deaths between areas breaks this).",
        "The comparison areas are not exposed to the intervention or to another change at the "
        "same time.",
        "The effect is additive on the scale used (rates or counts).",
    ),
)
