"""results.json and the HTML report of a study.

The report is one self-contained HTML file: figures are inline SVG drawn with matplotlib's SVG
backend (no pyplot, no display, no global state), so it can be archived or mailed as it is.
The same inputs give the same bytes (no time stamps; SVG ids are salted with a constant), so
a report can be checked by re-running the study and comparing hashes.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Callable, Sequence
from typing import Any

import matplotlib
import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from vigil.research.methods import METHODS
from vigil.research.periods import PANDAS_FREQ
from vigil.research.records.study import RecordsStudy
from vigil.research.study import Study

SVG_STYLE: dict[Any, Any] = {
    "svg.fonttype": "none",
    "svg.hashsalt": "vigil-research",
    "font.size": 9,
}
_BLUE, _ORANGE, _GREY = "#1f4e79", "#c55a11", "#9a9a9a"


def results_json(results: dict[str, Any]) -> str:
    return json.dumps(results, indent=2, ensure_ascii=False, allow_nan=False) + "\n"


# --- numbers -------------------------------------------------------------------------------


def num(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, int):
        return f"{value:,}"
    if isinstance(value, float):
        return f"{value:,.{digits}f}"
    return html.escape(str(value))


def ci(pair: Sequence[float | None] | None, digits: int = 2) -> str:
    if not pair:
        return "–"
    return f"{num(pair[0], digits)} to {num(pair[1], digits)}"


def pval(value: float | None) -> str:
    if value is None:
        return "–"
    return "< 0.001" if value < 0.001 else f"{value:.3f}"


def table(head: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    out = ["<table>", "<thead><tr>"]
    out += [f"<th>{h}</th>" for h in head]
    out.append("</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>" + "".join(f"<td>{cell}</td>" for cell in row) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


# --- figures -------------------------------------------------------------------------------


def _x(result: dict[str, Any]) -> pd.DatetimeIndex:
    series = result["series"]
    index = pd.PeriodIndex(series["periods"], freq=PANDAS_FREQ[result["frequency"]])
    return index.to_timestamp()


def _values(values: Sequence[float | None]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


def _mark_start(ax: Axes, x: pd.DatetimeIndex, result: dict[str, Any]) -> None:
    after = np.asarray(result["series"]["after"], dtype=bool)
    if after.any():
        ax.axvline(x[int(np.argmax(after))], color="#444444", linestyle=":", linewidth=1)


def svg(draw: Callable[[Figure], None], height: float = 3.4) -> str:
    with matplotlib.rc_context(SVG_STYLE):
        fig = Figure(figsize=(8.0, height), layout="constrained")
        draw(fig)
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", metadata={"Date": None})
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _ylabel(result: dict[str, Any], fallback: str) -> str:
    scale = result.get("scale") or result.get("rates_per")
    if result.get("rates_per"):
        return f"rate per {result['rates_per']}"
    return str(scale or fallback)


def figure(result: dict[str, Any]) -> str:
    method = result["method"]
    x = _x(result)
    s = result["series"]
    observed = _values(s["observed"])
    counterfactual = _values(s["counterfactual"])
    name = f"{result['unit']}: observed" if result.get("unit") else "observed"

    def its(fig: Figure) -> None:
        ax = fig.subplots()
        ax.plot(x, observed, "o", markersize=2.5, color=_BLUE, label=name)
        ax.plot(x, _values(s["fitted"]), color=_BLUE, linewidth=1.2, label="fitted model")
        ax.plot(x, counterfactual, "--", color=_ORANGE, linewidth=1.2, label="counterfactual")
        _mark_start(ax, x, result)
        ax.set_ylabel(_ylabel(result, "deaths per period"))
        ax.legend(loc="upper left", frameon=False)

    def did(fig: Figure) -> None:
        ax = fig.subplots()
        ax.plot(x, observed, color=_BLUE, linewidth=1.2, label=name)
        ax.plot(x, _values(s["comparison"]), color=_GREY, linewidth=1.2, label="comparison")
        ax.plot(x, counterfactual, "--", color=_ORANGE, linewidth=1.2, label="counterfactual")
        _mark_start(ax, x, result)
        ax.set_ylabel(str(result["scale"]))
        ax.legend(loc="upper left", frameon=False)

    def before_after(fig: Figure) -> None:
        axes = fig.subplots(1, 2)
        after = np.asarray(s["after"], dtype=bool)
        names = list(result["groups"])
        for ax, key, label in zip(axes, ("observed", "comparison"), names, strict=True):
            group = result["groups"][label]
            ax.plot(x, _values(s[key]), color=_BLUE if key == "observed" else _GREY, lw=1)
            ax.hlines(group["rate_before"], x[~after][0], x[~after][-1], color="black", lw=2)
            ax.hlines(group["rate_after"], x[after][0], x[after][-1], color="black", lw=2)
            if key == "observed":
                ax.plot(x, counterfactual, "--", color=_ORANGE, lw=1.5, label="counterfactual")
                ax.legend(loc="upper right", frameon=False)
            _mark_start(ax, x, result)
            ax.set_title(str(label))
            ax.set_ylabel("rate per 100,000 person-years")

    def synthetic_control(fig: Figure) -> None:
        top, bottom = fig.subplots(2, 1, sharex=True)
        top.plot(x, observed, color=_BLUE, linewidth=1.2, label=name)
        top.plot(x, counterfactual, "--", color=_ORANGE, linewidth=1.2, label="synthetic control")
        top.set_ylabel(str(result["scale"]))
        top.legend(loc="upper left", frameon=False)
        for gaps in s["placebo_gaps"].values():
            bottom.plot(x, _values(gaps), color=_GREY, linewidth=0.5, alpha=0.6)
        bottom.plot(x, _values(s["gap"]), color=_BLUE, linewidth=1.4)
        bottom.axhline(0, color="black", linewidth=0.6)
        bottom.set_ylabel("gap (grey: placebos)")
        for ax in (top, bottom):
            _mark_start(ax, x, result)

    draw = {
        "its": its,
        "did": did,
        "before_after": before_after,
        "synthetic_control": synthetic_control,
    }[method]
    return svg(draw, height=5.0 if method == "synthetic_control" else 3.4)


# --- tables --------------------------------------------------------------------------------


def _figures_table(result: dict[str, Any]) -> str:
    method = result["method"]
    if method == "before_after":
        rows = []
        for name, g in result["groups"].items():
            rows.append(
                [
                    html.escape(name),
                    num(g["deaths_before"], 0),
                    num(g["person_years_before"], 0),
                    num(g["rate_before"], 1),
                    num(g["deaths_after"], 0),
                    num(g["person_years_after"], 0),
                    num(g["rate_after"], 1),
                    num(g["percent_change"], 1) + "%",
                    f"{num(g['rate_ratio'], 3)} ({ci(g['rate_ratio_ci'], 3)})",
                    pval(g["p_change"]),
                ]
            )
        groups = table(
            [
                "area",
                "deaths before",
                "person-years before",
                "rate before",
                "deaths after",
                "person-years after",
                "rate after",
                "change",
                "rate ratio (95% CI)",
                "p",
            ],
            rows,
        )
        overall = table(
            ["figure", "estimate", "95% CI", "p"],
            [
                [
                    "ratio of rate ratios (intervention / comparison)",
                    num(result["rate_ratio"], 3),
                    ci(result["rate_ratio_ci"], 3),
                    pval(result["p_difference"]),
                ],
                [
                    "difference of rate differences, per 100,000 person-years",
                    num(result["rate_difference_change"], 1),
                    ci(result["rate_difference_change_ci"], 1),
                    pval(result["p_rate_difference"]),
                ],
            ],
        )
        return groups + overall
    if method == "its":
        per = result["slope_per"]
        rows = [
            [
                "level change at the start (rate ratio)",
                num(result["level_change_rr"], 3),
                ci(result["level_change_rr_ci"], 3),
                pval(result["p_level_change"]),
            ],
            [
                f"slope change (ratio of per-{per} rate ratios)",
                num(result["slope_change_rr"], 4),
                ci(result["slope_change_rr_ci"], 4),
                pval(result["p_slope_change"]),
            ],
            [
                f"trend before the start (rate ratio per {per})",
                num(result["trend_before_rr"], 4),
                ci(result["trend_before_rr_ci"], 4),
                "",
            ],
            ["deaths observed from the start on", num(result["observed_after"], 0), "", ""],
            ["deaths expected without the change", num(result["counterfactual_after"], 0), "", ""],
        ]
        figures = table(["figure", "estimate", "95% CI", "p"], rows)
        model = (
            f"<p>Model: {result['family'].replace('_', ' ')}; seasonality: "
            f"{result['seasonality']}; standard errors: {result['standard_errors']} "
            f"(Newey-West lags: {result['maxlags']})"
        )
        if result.get("pearson_dispersion") is not None:
            model += f"; Pearson dispersion {num(result['pearson_dispersion'], 2)}"
        if result.get("nb_alpha") is not None:
            model += f"; negative-binomial alpha {num(result['nb_alpha'], 4)}"
        return figures + model + ".</p>"
    if method == "did":
        rows = [
            [
                f"difference-in-differences ({html.escape(result['scale'])})",
                num(result["estimate"], 2),
                ci(result["ci"], 2),
                pval(result["p"]),
            ],
            ["intervention area, mean before", num(result["intervention_before"], 2), "", ""],
            ["intervention area, mean after", num(result["intervention_after"], 2), "", ""],
            ["comparison, mean before", num(result["comparison_before"], 2), "", ""],
            ["comparison, mean after", num(result["comparison_after"], 2), "", ""],
            ["counterfactual, mean after", num(result["counterfactual_after"], 2), "", ""],
        ]
        return table(["figure", "estimate", "95% CI", "p"], rows) + (
            f"<p>Standard errors: {result['standard_errors']} (Newey-West lags: "
            f"{result['maxlags']}).</p>"
        )
    rows = [
        [f"ATT, mean gap after the start ({html.escape(result['scale'])})", num(result["att"])],
        ["pre-period RMSPE", num(result["pre_rmspe"])],
        ["post-period RMSPE", num(result["post_rmspe"])],
        ["post/pre RMSPE ratio", num(result["rmspe_ratio"])],
        [
            "placebo p-value (share of units with a ratio at least as large)",
            pval(result["placebo_p"]),
        ],
    ]
    weights = sorted(result["weights"].items(), key=lambda kv: -kv[1])
    shown = [[html.escape(u), num(w, 3)] for u, w in weights if w >= 0.001]
    return (
        table(["figure", "value"], rows)
        + "<h5>Weights of the synthetic control (units with at least 0.001)</h5>"
        + table(["unit", "weight"], shown)
    )


def _headline(result: dict[str, Any]) -> tuple[str, str, str, str]:
    method = result["method"]
    if method == "before_after":
        return (
            "ratio of rate ratios",
            num(result["rate_ratio"], 3),
            ci(result["rate_ratio_ci"], 3),
            pval(result["p_difference"]),
        )
    if method == "its":
        return (
            "level change (rate ratio)",
            num(result["level_change_rr"], 3),
            ci(result["level_change_rr_ci"], 3),
            pval(result["p_level_change"]),
        )
    if method == "did":
        return (
            f"difference ({html.escape(result['scale'])})",
            num(result["estimate"]),
            ci(result["ci"]),
            pval(result["p"]),
        )
    return ("ATT (mean gap after)", num(result["att"]), "–", pval(result.get("placebo_p")))


# --- the page ------------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Roboto,sans-serif;max-width:60rem;
margin:2rem auto;padding:0 1rem;color:#1b1b1b;line-height:1.45}
h1{font-size:1.6rem}h2{border-bottom:1px solid #ccc;padding-bottom:.2rem;margin-top:2rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.9rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}
th{background:#f1f3f5}dt{font-weight:600}dd{margin:0 0 .5rem 1rem}
figure{margin:1rem 0}figure svg{max-width:100%;height:auto}
.note{color:#555;font-size:.9rem}code{font-size:.85rem}
"""


def svg_inline(svg: str) -> str:
    return svg


def svg_img(svg: str) -> str:
    """A figure as an image (for pages under a Content Security Policy without inline styles:
    an SVG image keeps its own styles to itself)."""
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return f'<img class="figure" alt="figure" src="data:image/svg+xml;base64,{data}">'


def render_html(study: Study | RecordsStudy, results: dict[str, Any]) -> str:
    """The whole report: one self-contained HTML file (also what the PDF is printed from)."""
    e = html.escape
    return (
        "\n".join(
            [
                "<!doctype html>",
                '<html lang="en"><head><meta charset="utf-8">',
                f"<title>{e(study.title)}</title><style>{CSS}</style></head><body>",
                render_body(study, results, svg_inline),
                "</body></html>",
            ]
        )
        + "\n"
    )


def render_body(
    study: Study | RecordsStudy,
    results: dict[str, Any],
    show: Callable[[str], str] = svg_inline,
) -> str:
    """The report's content, its figures passed through `show`."""
    if not isinstance(study, Study):
        from vigil.research.records.report import render_records

        return render_records(study, results, show)
    e = html.escape
    panel = study.panel
    parts = [
        f"<h1>{e(study.title)}</h1>",
        '<p class="note">Evaluation report written by Vigil from the study file '
        f"<code>{e(study.path.name)}</code>. Every interval is a 95% interval. The period that "
        "contains the intervention start counts as after.</p>",
        "<h2>Definitions</h2><dl>",
    ]
    definitions = [
        ("Area", study.area_definition),
        ("Deaths", study.death_definition),
        ("Description", study.description),
    ]
    for label, text in definitions:
        if text:
            parts.append(f"<dt>{label}</dt><dd>{e(text)}</dd>")
    units = "a single series" if panel.single_series else ", ".join(panel.units)
    parts += [
        f"<dt>Data</dt><dd><code>{e(study.data_file)}</code>: {e(panel.value_name)} per "
        f"{panel.frequency}, {panel.periods[0]} to {panel.periods[-1]} "
        f"({len(panel.periods)} {panel.frequency}s); units: {e(units)}; "
        + (
            "population given: rates are per 100,000 person-years (person-years = population x "
            "period length, a month being 1/12 year)."
            if panel.population is not None
            else "no population column: counts are modelled without an offset."
        )
        + "</dd>",
        f"<dt>Intervention</dt><dd>start {e(study.start_text)}"
        + ("" if panel.single_series else f" in <strong>{e(study.treated)}</strong>")
        + f"; the first period counted as after is {e(str(study.start))} unless an analysis "
        "sets its own start.</dd></dl>",
        "<h2>Summary</h2>",
        table(
            ["analysis", "method", "figure", "estimate", "95% CI", "p"],
            [
                [e(r["name"]), METHODS[r["method"]].label, *_headline(r)]
                for r in results["analyses"]
            ],
        ),
        "<h2>Analyses</h2>",
    ]
    for result in results["analyses"]:
        spec = METHODS[result["method"]]
        window = (
            f"{result['first_period']} to {result['last_period']}: "
            f"{result['periods_before']} {result['frequency']}s before the start "
            f"({result['start']}) and {result['periods_after']} from it on"
        )
        comparison = result.get("comparison") or []
        if comparison:
            window += f"; comparison units: {e(', '.join(comparison))}"
        parts += [
            f'<section id="{e(result["name"])}"><h3>{e(result["name"])}: {spec.label}</h3>',
            f'<p class="note">{window}.</p>',
            f"<h4>Method</h4><p>{e(spec.description)}</p>",
            "<h4>Assumptions</h4><ul>",
            *[f"<li>{e(a)}</li>" for a in spec.assumptions],
            "</ul><h4>Results</h4>",
            _figures_table(result),
            f"<figure>{show(figure(result))}<figcaption class='note'>Observed against the "
            "counterfactual; the dotted line marks the start.</figcaption></figure>",
            "</section>",
        ]
    parts += [
        "<h2>Software</h2>",
        table(["package", "version"], [[e(k), e(v)] for k, v in results["software"].items()]),
        "<h2>Inputs</h2>",
        table(
            ["file", "SHA-256"],
            [[f"<code>{e(f)}</code>", f"<code>{h}</code>"] for f, h in results["inputs"].items()],
        ),
    ]
    return "\n".join(parts)
