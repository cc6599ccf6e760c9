"""Before/after rates near the site and farther away: the design of Marshall et al., Lancet 2011.

Deaths and person-years are pooled over the periods before and after the start in two groups:
the intervention unit ("within 500 m") and the comparison units ("rest of the city"). A
saturated Poisson model, log(rate) = a + b near + c after + d near x after with a log
person-years offset, gives each group's rate ratio and the ratio of the two rate ratios, exp(d),
with Wald intervals; its test of d = 0 is the test of the difference between areas on the
ratio scale. Marshall et al. reported the interaction of rate differences (the additive
scale); the same saturated model with an identity link gives that one too.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import numpy as np
import statsmodels.api as sm
from statsmodels.tools.sm_exceptions import DomainWarning, PerfectSeparationWarning

from vigil.research.design import PER, Design
from vigil.research.errors import Problem, StudyError
from vigil.research.methods import MethodSpec
from vigil.research.methods.common import floats, interval


def _fail(design: Design, what: str) -> StudyError:
    return StudyError(Problem(design.file, f"analysis '{design.analysis}' (before_after): {what}"))


def _comparison_name(design: Design) -> str:
    if len(design.comparison) == 1:
        return design.comparison[0]
    name = "comparison areas"
    return name if name != design.treated else "comparison"


def run(design: Design, options: Mapping[str, Any]) -> dict[str, Any]:
    person_years = design.person_years()
    after = design.after
    groups = [
        (design.treated, "intervention", [design.treated]),
        (_comparison_name(design), "comparison", list(design.comparison)),
    ]
    deaths = np.zeros(4)
    years = np.zeros(4)
    for g, (_, _, units) in enumerate(groups):
        for a, mask in enumerate((~after, after)):
            deaths[2 * g + a] = design.values.loc[mask, units].to_numpy().sum()
            years[2 * g + a] = person_years.loc[mask, units].to_numpy().sum()
    for g, (name, _, _) in enumerate(groups):
        for a, when in enumerate(("before", "after")):
            if deaths[2 * g + a] == 0:
                raise _fail(
                    design,
                    f"no deaths in '{name}' {when} the start, so its rate ratio is undefined",
                )

    near = np.array([1.0, 1.0, 0.0, 0.0])
    later = np.array([0.0, 1.0, 0.0, 1.0])
    exog = np.column_stack([np.ones(4), near, later, near * later])
    rates = deaths / years
    # Start the identity-link fit at its closed-form optimum (the model is saturated), which
    # keeps the iterations away from negative rates.
    start = np.array(
        [
            rates[2],
            rates[0] - rates[2],
            rates[3] - rates[2],
            (rates[1] - rates[0]) - (rates[3] - rates[2]),
        ]
    )
    with warnings.catch_warnings():
        # A saturated model fits every cell exactly, which statsmodels flags as "perfect
        # prediction" and a zero residual degree of freedom; neither matters here, since the
        # Poisson scale is fixed at 1 and the Wald intervals come from the information matrix.
        warnings.simplefilter("ignore", PerfectSeparationWarning)
        warnings.simplefilter("ignore", DomainWarning)
        warnings.simplefilter("ignore", RuntimeWarning)
        ratio_fit = sm.GLM(deaths, exog, family=sm.families.Poisson(), offset=np.log(years)).fit(
            tol=1e-12
        )
        difference_fit = sm.GLM(
            deaths,
            exog * years[:, None],
            family=sm.families.Poisson(link=sm.families.links.Identity()),
        ).fit(start_params=start, tol=1e-12)

    result: dict[str, Any] = design.header()
    result["groups"] = {}
    contrasts = {"intervention": [0.0, 0.0, 1.0, 1.0], "comparison": [0.0, 0.0, 1.0, 0.0]}
    for g, (name, role, units) in enumerate(groups):
        before_rate = rates[2 * g] * PER
        after_rate = rates[2 * g + 1] * PER
        test = ratio_fit.t_test(np.array([contrasts[role]]))
        low, high = np.exp(np.asarray(test.conf_int())[0])
        result["groups"][name] = {
            "role": role,
            "units": units,
            "deaths_before": float(deaths[2 * g]),
            "deaths_after": float(deaths[2 * g + 1]),
            "person_years_before": float(years[2 * g]),
            "person_years_after": float(years[2 * g + 1]),
            "rate_before": float(before_rate),
            "rate_after": float(after_rate),
            "percent_change": float((after_rate / before_rate - 1.0) * 100.0),
            "rate_ratio": float(after_rate / before_rate),
            "rate_ratio_ci": interval(low, high),
            "p_change": float(np.asarray(test.pvalue).item()),
        }
    low, high = np.exp(ratio_fit.conf_int()[3])
    result["rate_ratio"] = float(np.exp(ratio_fit.params[3]))
    result["rate_ratio_ci"] = interval(low, high)
    result["p_difference"] = float(ratio_fit.pvalues[3])
    low, high = difference_fit.conf_int()[3] * PER
    result["rate_difference_change"] = float(difference_fit.params[3] * PER)
    result["rate_difference_change_ci"] = interval(low, high)
    result["p_rate_difference"] = float(difference_fit.pvalues[3])
    result["rates_per"] = "100,000 person-years"

    # Per-period rates for the figure; the counterfactual is the intervention area's earlier
    # rate carried forward with the comparison areas' change.
    series_rates = {}
    for name, _, units in groups:
        d = design.values[units].sum(axis=1).to_numpy()
        y = person_years[units].sum(axis=1).to_numpy()
        series_rates[name] = d / y * PER
    treated_name, comparison_name = groups[0][0], groups[1][0]
    counterfactual = np.where(
        after,
        result["groups"][treated_name]["rate_before"]
        * result["groups"][comparison_name]["rate_ratio"],
        np.nan,
    )
    result["series"] = {
        "periods": design.labels(),
        "after": [bool(a) for a in after],
        "observed": floats(series_rates[treated_name]),
        "comparison": floats(series_rates[comparison_name]),
        "counterfactual": floats(counterfactual),
    }
    return result


SPEC = MethodSpec(
    name="before_after",
    label="Before and after, near versus far",
    run=run,
    options={},
    min_before=1,
    min_after=1,
    needs_comparison=True,
    needs_population=True,
    needs_counts=True,
    description=(
        "Deaths and person-years are pooled before and after the start, in the intervention "
        "area and in the comparison areas, giving rates per 100,000 person-years and their "
        "percent change (Marshall et al., Lancet 2011). A saturated Poisson model with a "
        "log person-years offset gives each area's rate ratio (after / before) and the ratio "
        "of the two rate ratios with its 95% Wald interval; the test of the area x period "
        "interaction is the test of the difference between areas. The same model on the "
        "additive scale (identity link) gives the difference of the rate differences, the "
        "scale of Marshall et al.'s interaction test."
    ),
    assumptions=(
        "Without the intervention the intervention area's rate would have changed by the same "
        "factor as the comparison areas' rate.",
        "Deaths are independent Poisson events given the rate; over-dispersion or clustering "
        "would make the intervals too narrow.",
        "Population estimates are right in both periods; person-years are population x "
        "period length (a month is 1/12 year).",
        "Nothing else that changed at the same time affected one area and not the other "
        "(policing, drug supply, displacement of use between areas).",
    ),
)
