"""An evaluator runs a community-mortality study of their own files from the studies page:
first the original B.C. file with its swapped dates (the error names the file and row, on the
page), then the corrected copy, whose report shows inline with nothing refused by the Content
Security Policy."""

from pathlib import Path

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, sign_in

pytestmark = [pytest.mark.e2e, pytest.mark.db_any]  # db_any: kept on the PostgreSQL leg
DATA = Path(__file__).resolve().parents[2] / "src" / "vigil" / "research" / "data"


def test_an_evaluator_uploads_a_study_fixes_the_data_and_reads_the_report(
    browser, vigil_server, tmp_path
):
    vigil_server.vigil(
        "staff",
        "add",
        "evaluator",
        "--role",
        "evaluator",
        "--site",
        "E2E CHEL",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    page = sign_in(browser, vigil_server, "evaluator")
    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    study = (DATA / "bc-demo" / "study.toml").read_text(encoding="utf-8")

    page.goto(vigil_server.url("/studies/"))
    page.set_input_files("#upload_deaths", str(DATA / "bc" / "monthly-deaths.csv"))
    page.fill("#upload_study_text", study)
    page.click("#run-upload")
    errors = page.locator("#upload-errors")
    expect(errors).to_contain_text("monthly-deaths.csv")
    # The three swapped dates, each with its row: 2023-01-02 is February 2023, day first.
    expect(errors.locator("li")).to_have_count(3)
    expect(errors).to_contain_text("monthly-deaths.csv, row 134 (line 135): date 2023-01-02")
    expect(page.locator("#upload_study_text")).to_have_value(study)  # kept for the next try

    page.set_input_files("#upload_deaths", str(DATA / "bc-demo" / "monthly-deaths.csv"))
    page.click("#run-upload")
    page.wait_for_url("**/studies/runs/**")
    report = page.locator("article.study-report")
    expect(report.locator("h1")).to_contain_text("B.C. illicit drug toxicity deaths")
    expect(report.locator("img.figure")).to_have_count(4)
    for figure in report.locator("img.figure").all():
        assert figure.evaluate("img => img.complete && img.naturalWidth > 0")
    expect(page.locator("#download-pdf")).to_be_visible()
    assert refused == []
    page.context.close()
