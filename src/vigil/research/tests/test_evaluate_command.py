"""`vigil evaluate` end to end on the shipped B.C. demo study."""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
import sys

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from vigil.research.tests.studyfiles import DEMO_STUDY, write

ITS_KEYS = {
    "name",
    "method",
    "level_change_rr",
    "level_change_rr_ci",
    "slope_change_rr",
    "slope_change_rr_ci",
    "series",
}


@pytest.fixture(scope="module")
def outputs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("demo")
    html, results = folder / "report.html", folder / "results.json"
    call_command("evaluate", str(DEMO_STUDY), out=str(html), json_path=str(results))
    return html, results


def test_demo_writes_results_json_with_the_expected_keys(outputs):
    _, path = outputs
    results = json.loads(path.read_text(encoding="utf-8"))
    assert set(results) >= {"title", "inputs", "analyses"}
    assert "2016 public health emergency" in results["title"]
    data = DEMO_STUDY.parent / "monthly-deaths.csv"
    assert results["inputs"] == {
        "study.toml": hashlib.sha256(DEMO_STUDY.read_bytes()).hexdigest(),
        "monthly-deaths.csv": hashlib.sha256(data.read_bytes()).hexdigest(),
    }
    names = [a["name"] for a in results["analyses"]]
    assert len(names) == len(set(names)) >= 2
    for analysis in results["analyses"]:
        assert analysis["method"] == "its"
        assert ITS_KEYS <= set(analysis)
        low, high = analysis["level_change_rr_ci"]
        assert low < analysis["level_change_rr"] < high
    main = results["analyses"][0]
    assert (main["start"], main["first_period"]) == ("2016-12", "2012-01")


def test_demo_writes_a_self_contained_html_report(outputs):
    html_path, results_path = outputs
    html = html_path.read_text(encoding="utf-8")
    results = json.loads(results_path.read_text(encoding="utf-8"))
    assert html.startswith("<!doctype html>")
    assert html.count("<svg") == len(results["analyses"])
    for digest in results["inputs"].values():
        assert digest in html
    for heading in ("Definitions", "Summary", "Method", "Assumptions", "Software", "Inputs"):
        assert heading in html
    assert "statsmodels" in html
    # Self-contained: nothing is fetched when the file is opened.
    for external in ("<script", "<link", 'src="http', "url(http"):
        assert external not in html


def test_bad_study_exits_2_with_the_problem_on_stderr(tmp_path):
    study = write(tmp_path, "month,deaths\n2001-01,3\n2001-01,4\n", _single_series_toml())
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "vigil.settings"}
    run = subprocess.run(
        [sys.executable, "-m", "vigil", "evaluate", str(study), "--json", str(tmp_path / "r.json")],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
    )
    assert run.returncode == 2, run.stderr
    assert f"{tmp_path / 'deaths.csv'}, row 2 (line 3): month 2001-01 appears twice" in run.stderr
    assert not (tmp_path / "r.json").exists()


def test_pdf_report_has_pages_with_the_figures_in_them(tmp_path):
    pdf = tmp_path / "report.pdf"
    call_command("evaluate", str(DEMO_STUDY), out=str(pdf))
    assert pdf.read_bytes().startswith(b"%PDF-")
    pages = subprocess.run(
        ["pdftoppm", "-r", "20", "-png", str(pdf), str(tmp_path / "page")],
        capture_output=True,
        check=True,
    )
    assert not pages.stderr
    assert len(list(tmp_path.glob("page-*.png"))) >= 2
    # The figures are vector drawings whose labels stay text: the legend of the ITS figure
    # ("fitted model", drawn only in the figures) is in the PDF once per ITS analysis.
    text = subprocess.run(
        ["pdftotext", str(pdf), "-"], capture_output=True, check=True, text=True
    ).stdout
    html = tmp_path / "report.html"
    call_command("evaluate", str(DEMO_STUDY), out=str(html))
    words = re.sub(r"<svg.*?</svg>", "", html.read_text(encoding="utf-8"), flags=re.S)
    assert text.count("fitted model") == words.count("fitted model") + 4
    assert "level change at the start" in text


def test_other_report_suffixes_are_refused_clearly(tmp_path):
    with pytest.raises(CommandError) as caught:
        call_command("evaluate", str(DEMO_STUDY), out=str(tmp_path / "report.docx"))
    assert caught.value.returncode == 2
    assert "name it *.html or *.pdf" in str(caught.value)
    assert not (tmp_path / "report.docx").exists()


def test_without_outputs_the_figures_go_to_stdout(tmp_path, capsys):
    study = write(tmp_path, _series_csv(), _single_series_toml())
    call_command("evaluate", str(study))
    results = json.loads(capsys.readouterr().out)
    assert results["analyses"][0]["method"] == "its"


def _single_series_toml() -> str:
    return (
        'title = "one series"\n[data]\nfile = "deaths.csv"\ntime = "month"\nvalue = "deaths"\n'
        '[intervention]\nstart = "2002-01"\n[[analysis]]\nname = "main"\nmethod = "its"\n'
    )


def _series_csv() -> str:
    rows = [f"{2001 + i // 12}-{i % 12 + 1:02d},{10 + i % 5}" for i in range(24)]
    return "month,deaths\n" + "\n".join(rows) + "\n"
