"""The report of a study over Vigil's records: the same page as the CSV studies (tables, SVG
figures, assumptions, software, inputs), with what each records method found."""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from vigil.reports.suppression import MARKER
from vigil.research import report as R
from vigil.research.records import RECORD_METHODS
from vigil.research.records import small_counts as sc
from vigil.research.records.study import RecordsStudy

e = html.escape
HIDDEN = MARKER


def cnt(value: int | None) -> str:
    """A protected count: None is a hidden small count."""
    return HIDDEN if value is None else R.num(value)


def pct(value: float | None) -> str:
    return "–" if value is None else f"{value * 100:.1f}%"


def _months(result: dict[str, Any]) -> pd.DatetimeIndex:
    return pd.PeriodIndex(result["months"], freq="M").to_timestamp()


def _series(values: list[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else v for v in values], dtype=float)


# --- reach ---------------------------------------------------------------------------------


def _reach_figure(result: dict[str, Any]) -> str:
    x = _months(result)
    m = result["monthly"]

    def draw(fig: Figure) -> None:
        ax = fig.subplots()
        new, returning = _series(m["new"]), _series(m["returning"])
        width = 20
        ax.bar(x, np.nan_to_num(returning), width=width, color=R._GREY, label="returning")
        ax.bar(
            x,
            np.nan_to_num(new),
            width=width,
            bottom=np.nan_to_num(returning),
            color=R._BLUE,
            label="new",
        )
        ax.set_ylabel("unique participants per month")
        twin = ax.twinx()
        twin.plot(
            x,
            _series(m["cumulative_unique"]),
            color=R._ORANGE,
            marker="o",
            markersize=3,
            label="cumulative unique",
        )
        twin.set_ylabel("cumulative unique participants")
        handles = ax.get_legend_handles_labels()
        extra = twin.get_legend_handles_labels()
        ax.legend(handles[0] + extra[0], handles[1] + extra[1], loc="upper left", frameon=False)

    return R.svg(draw)


def _reach(result: dict[str, Any], show: Callable[[str], str]) -> list[str]:
    m = result["monthly"]
    rows = [
        [e(month), cnt(v), cnt(u), cnt(n), cnt(r), cnt(c)]
        for month, v, u, n, r, c in zip(
            result["months"],
            m["visits"],
            m["unique_participants"],
            m["new"],
            m["returning"],
            m["cumulative_unique"],
            strict=True,
        )
    ]
    retention = [
        [f"back within {w} days", cnt(r["eligible"]), cnt(r["returned"]), pct(r["share"])]
        for w, r in result["retention"].items()
    ]
    vpp = result["visits_per_participant"]
    parts = [
        R.table(
            ["figure", "value"],
            [
                ["visits in the period", cnt(result["visits"])],
                ["unique participants in the period", cnt(result["people"])],
                ["of whom first seen in the period (new)", cnt(result["new_people"])],
                ["visits per participant, mean", R.num(vpp["mean"], 1)],
                ["visits per participant, median", R.num(vpp["median"], 1)],
            ],
        ),
        "<h5>By month</h5>",
        R.table(
            ["month", "visits", "unique participants", "new", "returning", "cumulative unique"],
            rows,
        ),
        f"<figure>{show(_reach_figure(result))}<figcaption class='note'>Unique participants "
        "per month, new and returning, and the cumulative number of people seen since the "
        "start of the period. A month with a hidden count is drawn as zero in the bars and "
        "left out of the line.</figcaption></figure>",
        "<h5>Retention of people first seen in the period</h5>",
        R.table(["window", "people whose window has passed", "came back", "share"], retention),
        "<h5>Visits per participant in the period</h5>",
        R.table(["visits", "participants"], [[e(k), cnt(v)] for k, v in vpp["bands"].items()]),
    ]
    for field, label in (("age_band", "Age band"), ("gender", "Gender"), ("housing", "Housing")):
        cells = result["demographics"][field]
        parts += [
            f"<h5>{label} of the participants seen</h5>",
            R.table([label.lower(), "participants"], [[e(k), cnt(v)] for k, v in cells.items()]),
        ]
    return parts


# --- on-site outcomes ----------------------------------------------------------------------


def _seconds(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:.0f} s" if value < 120 else f"{value / 60:.1f} min"


def _outcomes_figure(result: dict[str, Any]) -> str:
    x = _months(result)

    def draw(fig: Figure) -> None:
        ax = fig.subplots()
        ax.bar(
            x,
            _series(result["monthly"]["overdoses_per_1000_visits"]),
            width=20,
            color=R._BLUE,
            label="overdoses per 1,000 visits",
        )
        overall = result["overdoses_per_1000_visits"]
        if overall is not None:
            ax.axhline(overall, color=R._ORANGE, linestyle="--", linewidth=1, label="whole period")
        ax.set_ylabel("overdoses per 1,000 visits")
        ax.legend(loc="upper left", frameon=False)

    return R.svg(draw)


def _outcomes(result: dict[str, Any], show: Callable[[str], str]) -> list[str]:
    a = result["deaths_averted"]
    rate = R.num(result["overdoses_per_1000_visits"], 2)
    parts = [
        R.table(
            ["figure", "value", "95% CI"],
            [
                ["visits", cnt(result["visits"]), ""],
                ["overdoses", cnt(result["overdoses"]), ""],
                ["overdoses per 1,000 visits", rate, R.ci(result["overdoses_per_1000_visits_ci"])],
                ["EMS called", cnt(result["ems_called"]), ""],
                ["naloxone doses", cnt(result["naloxone_doses"]), ""],
                ["overdoses given naloxone", cnt(result["overdoses_with_naloxone"]), ""],
                ["naloxone doses per overdose", R.num(result["naloxone_doses_per_overdose"]), ""],
                [
                    "naloxone doses per overdose given naloxone",
                    R.num(result["naloxone_doses_per_naloxone_overdose"]),
                    "",
                ],
            ],
        ),
        "<h5>Outcomes of the overdoses</h5>",
        R.table(
            ["outcome", "overdoses"],
            [[e(k.replace("_", " ")), cnt(v)] for k, v in result["outcomes"].items()],
        ),
        f"<figure>{show(_outcomes_figure(result))}<figcaption class='note'>Overdoses per "
        "1,000 visits by month; a month with a hidden count is left blank.</figcaption>"
        "</figure>",
        "<h5>Time from alarm to response</h5>",
        R.table(
            [
                "priority",
                "alarms",
                "never acknowledged",
                "to acknowledge: median",
                "90th percentile",
                "to claim: median",
                "90th percentile",
            ],
            [
                [
                    e(priority),
                    cnt(r["alarms"]),
                    cnt(r["never_acknowledged"]),
                    _seconds((r["to_acknowledge_seconds"] or {}).get("median")),
                    _seconds((r["to_acknowledge_seconds"] or {}).get("p90")),
                    _seconds((r["to_claim_seconds"] or {}).get("median")),
                    _seconds((r["to_claim_seconds"] or {}).get("p90")),
                ]
                for priority, r in result["alarm_response"].items()
            ],
        ),
        "<h5>Deaths averted: an estimate, with its assumptions</h5>",
        f"<p>Definition: {e(a['definition'])}.</p>",
        R.table(
            ["figure", "central", "sensitivity range"],
            [
                ["potentially fatal overdoses", cnt(a["potentially_fatal_overdoses"]), ""],
                [
                    "share assumed fatal without the site",
                    pct(a["fatal_share"]),
                    f"{pct(a['fatal_share_range'][0])} to {pct(a['fatal_share_range'][1])}",
                ],
                [
                    "expected deaths without the site",
                    R.num(a["expected_deaths_without_site"], 1),
                    R.ci(a["expected_deaths_range"], 1),
                ],
                ["deaths on site", cnt(a["deaths_on_site"]), ""],
                [
                    "deaths averted (expected minus on site)",
                    R.num(a["deaths_averted"], 1),
                    R.ci(a["deaths_averted_range"], 1),
                ],
            ],
        ),
        "<ul>" + "".join(f"<li>{e(text)}</li>" for text in a["assumptions"]) + "</ul>",
        f"<p class='note'>Method: {e(a['source'])}.</p>",
    ]
    return parts


# --- entry into treatment ------------------------------------------------------------------


def _km_figure(result: dict[str, Any]) -> str:
    km = result["km"]

    def draw(fig: Figure) -> None:
        ax = fig.subplots()
        days = [0.0, *km["days"]]
        entered = [0.0, *km["entered"]]
        ax.step(
            days,
            np.array(entered) * 100,
            where="post",
            color=R._BLUE,
            label="entered treatment (Kaplan-Meier)",
        )
        ax.fill_between(
            days,
            np.array([0.0, *km["ci_low"]]) * 100,
            np.array([0.0, *km["ci_high"]]) * 100,
            step="post",
            color=R._BLUE,
            alpha=0.15,
            label="95% interval",
        )
        for ref in result["published"]:
            ax.axhline(ref["share"] * 100, color=R._GREY, linestyle=":", linewidth=1)
            ax.annotate(
                ref["where"].split(" (")[0],
                (0, ref["share"] * 100),
                fontsize=7,
                color="#555555",
                xytext=(2, 2),
                textcoords="offset points",
            )
        ax.set_xlabel("days since first visit")
        ax.set_ylabel("% entered treatment")
        ax.legend(loc="lower right", frameon=False)

    return R.svg(draw)


def _treatment(result: dict[str, Any], show: Callable[[str], str]) -> list[str]:
    within = [
        [
            f"within {w} days",
            cnt(r["eligible"]),
            cnt(r["entered"]),
            pct(r["share"]),
            pct(result["km_entered_by"].get(w)),
        ]
        for w, r in result["within"].items()
    ]
    parts = [
        R.table(
            ["figure", "value"],
            [
                ["people first seen in the period (the cohort)", cnt(result["cohort"])],
                [
                    "of whom entered treatment by the end of the data",
                    cnt(result["entered_treatment"]),
                ],
                ["went directly from the room into treatment", cnt(result["direct_from_room"])],
                ["  share of the cohort", pct(result["direct_from_room_share"])],
                ["began detox", cnt(result["detox"])],
                ["  share of the cohort", pct(result["detox_share"])],
            ],
        ),
        "<h5>Entry into treatment after the first visit</h5>",
        R.table(
            ["window", "people whose window has passed", "entered", "share", "Kaplan-Meier"],
            within,
        ),
    ]
    if result["km"]:
        parts.append(
            f"<figure>{show(_km_figure(result))}<figcaption class='note'>Share of the cohort "
            "that entered treatment by each day after the first visit (one minus the "
            "Kaplan-Meier survival), people censored at the end of the data; dotted lines: "
            "the published figures below, for reference only.</figcaption></figure>"
        )
    else:
        parts.append(
            "<p class='note'>The Kaplan-Meier curve is shown once at least ten people of the "
            "cohort have entered treatment: each step of the curve is one person.</p>"
        )
    funnel = result["funnel"]
    parts += [
        "<h5>Treatment referral funnel (referrals made in the period)</h5>",
        R.table(
            ["step reached", "referrals"],
            [[e(k.replace("_", " ")), cnt(v)] for k, v in funnel.items()],
        ),
        f"<p>{cnt(result['treatment_referrals'])} treatment referrals for "
        f"{cnt(result['people_referred'])} people.</p>",
        "<h5>Published figures, for comparison</h5>",
        R.table(
            ["where", "figure", "here", "source"],
            [
                [
                    e(p["where"]),
                    e(p["figure"]),
                    pct(result[f"{p['compare_with']}_share"]),
                    e(p["source"]),
                ]
                for p in result["published"]
            ],
        ),
    ]
    return parts


SECTIONS = {"reach": _reach, "onsite_outcomes": _outcomes, "treatment_entry": _treatment}


def render_records(study: RecordsStudy, results: dict[str, Any], show: Callable[[str], str]) -> str:
    scope = study.scope
    parts = [
        f"<h1>{e(study.title)}</h1>",
        '<p class="note">Evaluation report written by Vigil from its own records. '
        f"{e(sc.NOTE)}</p>",
        "<h2>Definitions</h2><dl>",
        f"<dt>Records</dt><dd>{e(scope.kind)} <strong>{e(scope.label)}</strong>: "
        f"{e(', '.join(scope.site_names))}</dd>",
        f"<dt>Period</dt><dd>{scope.first_day} to {scope.last_day} (local days, "
        f"{e(scope.time_zone)}); records read up to {e(scope.end.isoformat(timespec='minutes'))}"
        "; people are followed up to then and no further.</dd>",
    ]
    if study.description:
        parts.append(f"<dt>Description</dt><dd>{e(study.description)}</dd>")
    parts += ["</dl>", "<h2>Analyses</h2>"]
    for result in results["analyses"]:
        spec = RECORD_METHODS[result["method"]]
        parts += [
            f'<section id="{e(result["name"])}"><h3>{e(result["name"])}: {e(spec.label)}</h3>',
            f"<h4>Method</h4><p>{e(spec.description)}</p>",
            "<h4>Assumptions</h4><ul>",
            *[f"<li>{e(a)}</li>" for a in spec.assumptions],
            "</ul><h4>Results</h4>",
            *SECTIONS[result["method"]](result, show),
            "</section>",
        ]
    parts += [
        "<h2>Software</h2>",
        R.table(["package", "version"], [[e(k), e(v)] for k, v in results["software"].items()]),
        "<h2>Inputs</h2>",
        R.table(
            ["file", "SHA-256"],
            [[f"<code>{e(f)}</code>", f"<code>{h}</code>"] for f, h in results["inputs"].items()],
        ),
    ]
    return "\n".join(parts)
