"""results.json and the HTML report: plain JSON, every method drawn, the same bytes each run."""

from __future__ import annotations

import json

import pytest

from vigil.research.bench import write_study
from vigil.research.evaluate import run_files

FIGURES = {
    "synthetic_control": {"weights", "att", "pre_rmspe", "placebo_p"},
    "before_after": {"groups", "rate_ratio", "rate_ratio_ci", "p_difference"},
    "its": {"level_change_rr", "level_change_rr_ci", "slope_change_rr", "slope_change_rr_ci"},
    "did": {"estimate", "ci"},
}


@pytest.fixture(scope="module")
def panel_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("panel")
    study = write_study(folder, areas=6, years=4, seed=7)
    run_files(study, folder / "report.html", folder / "results.json")
    return folder, study


def test_results_json_has_each_methods_figures_under_plain_names(panel_run):
    folder, _ = panel_run
    text = (folder / "results.json").read_text(encoding="utf-8")
    results = json.loads(text, parse_constant=lambda c: pytest.fail(f"invalid JSON {c}"))
    assert set(results) == {"title", "inputs", "analyses", "software"}
    assert set(results["inputs"]) == {"study.toml", "panel.csv"}
    for analysis in results["analyses"]:
        assert FIGURES[analysis["method"]] <= set(analysis), analysis["method"]
    sc = next(a for a in results["analyses"] if a["method"] == "synthetic_control")
    assert set(sc["weights"]) == {f"area-{i:02d}" for i in range(2, 7)}
    assert abs(sum(sc["weights"].values()) - 1) < 1e-9
    ba = next(a for a in results["analyses"] if a["method"] == "before_after")
    for group in ba["groups"].values():
        assert {"rate_before", "rate_after", "percent_change"} <= set(group)


def test_report_draws_every_analysis(panel_run):
    folder, _ = panel_run
    html = (folder / "report.html").read_text(encoding="utf-8")
    assert html.count("<svg") == 4
    for label in ("Synthetic control", "Interrupted time series", "Difference-in-differences"):
        assert label in html
    assert "Before and after, near versus far" in html


def test_the_same_study_gives_the_same_bytes(panel_run, tmp_path):
    folder, study = panel_run
    run_files(study, tmp_path / "again.html", tmp_path / "again.json")
    assert (tmp_path / "again.json").read_bytes() == (folder / "results.json").read_bytes()
    assert (tmp_path / "again.html").read_bytes() == (folder / "report.html").read_bytes()
