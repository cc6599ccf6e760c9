"""A study over Vigil's records ([vigil]) through `vigil evaluate`: results.json, the HTML
report with its figures, and the PDF."""

import json
import subprocess

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from vigil.lib import clock
from vigil.research.tests.records_world import NOW, build_busy

pytestmark = [pytest.mark.django_db, pytest.mark.db_any]

STUDY = """\
title = "Busy site, first half of 2026"
description = "A synthetic site for the tests."
[vigil]
site = "{site}"
from = 2026-01-01
to = 2026-06-30
[[analysis]]
name = "reach"
method = "reach"
[[analysis]]
name = "outcomes"
method = "onsite_outcomes"
fatal_share = 0.04
[[analysis]]
name = "treatment"
method = "treatment_entry"
"""


@pytest.fixture
def study(tmp_path):
    world = build_busy()
    path = tmp_path / "study.toml"
    path.write_text(STUDY.format(site=world.site.name), encoding="utf-8")
    return path


def test_results_json_and_html_report(study, tmp_path):
    with clock.frozen(NOW):
        call_command(
            "evaluate", str(study), out=str(tmp_path / "r.html"), json_path=str(tmp_path / "r.json")
        )
    results = json.loads((tmp_path / "r.json").read_text())
    assert [a["method"] for a in results["analyses"]] == [
        "reach",
        "onsite_outcomes",
        "treatment_entry",
    ]
    reach, outcomes, treatment = results["analyses"]
    assert reach["people"] == 60 and reach["months"][0] == "2026-01"
    assert outcomes["deaths_averted"]["fatal_share"] == 0.04
    assert treatment["km"] is not None and treatment["entered_treatment"] >= 10
    assert set(results["inputs"]) == {"study.toml"}
    page = (tmp_path / "r.html").read_text()
    assert page.count("<svg") == 3  # reach, overdoses by month, Kaplan-Meier
    assert "Milloy" in page and "Boston" in page and "Vancouver" in page
    assert "Busy0" not in page and "Busy0" not in json.dumps(results)  # no alias anywhere


def test_pdf_of_a_records_study(study, tmp_path):
    pdf = tmp_path / "r.pdf"
    with clock.frozen(NOW):
        call_command("evaluate", str(study), out=str(pdf))
    subprocess.run(["pdftoppm", "-r", "15", "-png", str(pdf), str(tmp_path / "p")], check=True)
    assert len(list(tmp_path.glob("p-*.png"))) >= 2
    text = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True).stdout
    assert "cumulative unique" in text  # the reach figure's legend
    assert "days since first visit" in text  # the Kaplan-Meier figure's axis


def test_unknown_site_names_the_line(tmp_path):
    path = tmp_path / "study.toml"
    path.write_text(STUDY.format(site="Nowhere"), encoding="utf-8")
    with pytest.raises(CommandError) as caught:
        call_command("evaluate", str(path))
    assert f"{path}, line 3: [vigil] site: no site named 'Nowhere'" in str(caught.value)
