"""Interrupted time series: a segmented Poisson or negative-binomial regression.

log E[deaths_t] = log(person-years_t) + b0 + b1 t + b2 after_t + b3 (t - t0) after_t + season_t

exp(b2) is the change in level at the start (a rate ratio) and exp(b3) the change in the trend
per period (a ratio of per-period rate ratios). Standard errors are heteroskedasticity- and
autocorrelation-consistent (Newey-West), since monthly deaths are rarely independent, but never
narrower than the model-based ones (see common.wider_t_inference), and intervals use Student's t
with the residual degrees of freedom.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from statsmodels.discrete.discrete_model import NegativeBinomial

from vigil.research.design import PER, Design
from vigil.research.errors import Problem, StudyError
from vigil.research.methods import MethodSpec
from vigil.research.methods.common import (
    floats,
    int_between,
    interval,
    newey_west_lags,
    one_of,
    wider_t_inference,
)


def _seasonal_terms(periods: pd.PeriodIndex, kind: str, harmonics: int) -> np.ndarray:
    # Calendar months, not positions in the series, so the terms mean the same thing whatever
    # month the data start in.
    month = np.asarray(periods.month)
    if kind == "fourier":
        angle = 2 * np.pi * month / 12.0
        columns = []
        for k in range(1, harmonics + 1):
            columns += [np.sin(k * angle), np.cos(k * angle)]
        return np.column_stack(columns)
    if kind == "dummies":
        return np.column_stack([(month == m).astype(float) for m in range(2, 13)])
    return np.empty((len(periods), 0))


def design_matrix(design: Design, seasonality: str, harmonics: int) -> tuple[np.ndarray, list]:
    n = len(design.periods)
    t = np.arange(n, dtype=float)
    after = design.after.astype(float)
    t0 = float(np.argmax(design.after))
    columns = [np.ones(n), t, after, (t - t0) * after]
    names = ["intercept", "trend", "level_change", "slope_change"]
    if design.frequency == "month" and seasonality != "none":
        season = _seasonal_terms(design.periods, seasonality, harmonics)
        columns += list(season.T)
        names += [f"season_{i + 1}" for i in range(season.shape[1])]
    return np.column_stack(columns), names


def run(design: Design, options: Mapping[str, Any]) -> dict[str, Any]:
    family = options.get("family", "poisson")
    seasonality = options.get("seasonality", "fourier")
    harmonics = options.get("harmonics", 2)
    y = design.values[design.treated].to_numpy(dtype=float)
    n = len(y)
    maxlags = options.get("maxlags", newey_west_lags(n))
    exog, names = design_matrix(design, seasonality, harmonics)
    if n - exog.shape[1] < 3:
        raise StudyError(
            Problem(
                design.file,
                f"analysis '{design.analysis}' (its): {n} periods are too few for "
                f"{exog.shape[1]} parameters; use a longer window or fewer seasonal terms",
            )
        )
    offset = None
    if design.population is not None:
        offset = np.log(design.person_years()[design.treated].to_numpy(dtype=float))
    hac = {"cov_type": "HAC", "cov_kwds": {"maxlags": maxlags}}
    # The optimisers need columns of similar size: time counts up to n, so the two time columns
    # are fitted per n periods and their coefficients divided back by n.
    scale = np.ones(exog.shape[1])
    scale[[1, 3]] = n
    scaled = exog / scale
    k = exog.shape[1]
    glm = sm.GLM(y, scaled, family=sm.families.Poisson(), offset=offset)
    poisson = glm.fit(**hac)
    if family == "poisson":
        converged = bool(poisson.converged)
        estimates = np.asarray(poisson.params)
        errors = [np.asarray(poisson.bse), np.asarray(glm.fit(scale="X2").bse)]
        dispersion = float(poisson.pearson_chi2 / poisson.df_resid)
        alpha = None
    else:
        model = NegativeBinomial(y, scaled, offset=offset)
        start = np.append(np.asarray(poisson.params), 0.1)
        options = {"start_params": start, "method": "bfgs", "maxiter": 2000, "disp": 0}
        robust = model.fit(**options, **hac)
        likelihood = model.fit(**options)
        converged = bool(robust.mle_retvals.get("converged", False))
        estimates = np.asarray(robust.params)[:k]
        errors = [np.asarray(robust.bse)[:k], np.asarray(likelihood.bse)[:k]]
        alpha = float(np.asarray(robust.params)[-1])
        dispersion = None
    params = estimates / scale
    _, conf, pvalues = wider_t_inference(params, [e / scale for e in errors], n - k)
    if not converged or not np.all(np.isfinite(conf)):
        raise StudyError(
            Problem(
                design.file,
                f"analysis '{design.analysis}' (its): the {family} model did not converge",
            )
        )
    base = offset if offset is not None else np.zeros(n)
    fitted = np.exp(exog @ params + base)
    no_change = exog.copy()
    no_change[:, 2:4] = 0.0
    counterfactual = np.exp(no_change @ params + base)
    after = design.after

    result: dict[str, Any] = design.header()
    result.update(
        {
            "family": family,
            "seasonality": seasonality if design.frequency == "month" else "none",
            "harmonics": harmonics if seasonality == "fourier" else None,
            "maxlags": maxlags,
            "standard_errors": "wider of Newey-West and model-based",
            "level_change_rr": float(np.exp(params[2])),
            "level_change_rr_ci": interval(*np.exp(conf[2])),
            "p_level_change": float(pvalues[2]),
            "slope_change_rr": float(np.exp(params[3])),
            "slope_change_rr_ci": interval(*np.exp(conf[3])),
            "p_slope_change": float(pvalues[3]),
            "trend_before_rr": float(np.exp(params[1])),
            "trend_before_rr_ci": interval(*np.exp(conf[1])),
            "slope_per": design.frequency,
            "observed_after": float(y[after].sum()),
            "counterfactual_after": float(counterfactual[after].sum()),
            "pearson_dispersion": dispersion,
            "nb_alpha": alpha,
        }
    )
    per = np.ones(n)
    if offset is not None:
        # Plot rates when there is a population, so areas of different size read alike.
        per = PER / np.exp(offset)
        result["rates_per"] = "100,000 person-years"
    result["series"] = {
        "periods": design.labels(),
        "after": [bool(a) for a in after],
        "observed": floats(y * per),
        "fitted": floats(fitted * per),
        "counterfactual": floats(np.where(after, counterfactual * per, np.nan)),
    }
    return result


SPEC = MethodSpec(
    name="its",
    label="Interrupted time series",
    run=run,
    options={
        "family": one_of("poisson", "negative_binomial"),
        "seasonality": one_of("fourier", "dummies", "none"),
        "harmonics": int_between(1, 6),
        "maxlags": int_between(0, 60),
    },
    min_before=8,
    min_after=3,
    needs_comparison=False,
    needs_population=False,
    needs_counts=True,
    description=(
        "A segmented regression of the intervention area's deaths per period: a log-linear "
        "trend before the start, a change in level at the start and a change in trend after "
        "it, with seasonal terms for monthly data (Fourier terms by default, or month "
        "indicators) and a log person-years offset when a population is given. The model is "
        "Poisson (default) or negative binomial. Standard errors are the wider of the Newey-West "
        "(autocorrelation-consistent) and the model-based ones (quasi-Poisson, or the "
        "negative-binomial likelihood), since Newey-West errors alone are too small in series "
        "of a few years; intervals use Student's t. The "
        "level change is a rate ratio at the start; the slope change is the ratio of the "
        "per-period rate ratios after and before. The counterfactual is the fitted model "
        "with the level and slope changes removed."
    ),
    assumptions=(
        "Without the intervention the pre-start trend (log-linear) and seasonal pattern "
        "would have continued.",
        "Nothing else changed at the start: any co-occurring event (a new drug supply, a "
        "policy, a pandemic) is attributed to the intervention.",
        "The start date is right and there is no anticipation or lag; a gradual roll-out "
        "shows as a slope change, not a level change.",
        "Autocorrelation is short-range enough for the Newey-West lag used.",
    ),
)
