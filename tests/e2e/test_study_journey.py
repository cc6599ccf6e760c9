"""An evaluator on the demo jurisdiction: runs a study over the sites' records from the
studies page, reads the report inline (figures as images, nothing refused by the Content
Security Policy, no participant alias anywhere), downloads it as PDF, runs the shipped demo
study, and downloads the k-anonymous record-level export."""

import csv
import io
import subprocess

import pytest
from playwright.sync_api import expect

from tests.e2e.server import VigilServer

pytestmark = [pytest.mark.e2e, pytest.mark.db_any]  # db_any: kept on the PostgreSQL leg
DEMO_PASSWORD = "vigil-demo-2026"  # noqa: S105 - the demo's printed password (floor/demo.py)
QUASI = ["site", "first_visit", "age_band", "gender", "housing"]
ALIASES = (
    "from vigil.participants.models import Participant; "
    "print('\\n'.join(Participant.objects.values_list('alias', flat=True)))"
)


@pytest.fixture
def demo_server(tmp_path):
    server = VigilServer(tmp_path / "data")
    server.vigil("migrate", "--no-input", "-v", "0")
    server.vigil("seed-demo", "--days", "3")
    server.start()
    yield server
    server.stop()


def test_an_evaluator_runs_a_study_reads_it_and_downloads_it(browser, demo_server, tmp_path):
    aliases = [a for a in demo_server.vigil("shell", "-c", ALIASES).split() if len(a) > 3]
    assert aliases
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    page = context.new_page()
    refused = []
    page.on("console", lambda m: refused.append(m.text) if "Content Security" in m.text else None)
    page.goto(demo_server.url("/login/"))
    page.fill("#id_username", "evaluator")
    page.fill("#id_password", DEMO_PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)

    page.goto(demo_server.url("/studies/"))
    expect(page.locator("#demo-study")).to_contain_text("B.C. illicit drug toxicity deaths")
    page.select_option("#records-study #id_scope", label="Seattle & King County (all sites)")
    page.fill("#records-study #id_title", "Demo jurisdiction, all records")
    page.click("#run-records")
    page.wait_for_url("**/studies/runs/**")
    report = page.locator("article.study-report")
    expect(report.locator("h1")).to_have_text("Demo jurisdiction, all records")
    expect(report.locator("img.figure")).to_have_count(3)
    for figure in report.locator("img.figure").all():
        assert figure.evaluate("img => img.complete && img.naturalWidth > 0")
    expect(report).to_contain_text("Deaths averted: an estimate, with its assumptions")
    expect(report).to_contain_text("Milloy")
    text = report.inner_text()
    assert not [a for a in aliases if f" {a} " in f" {text} "]

    with page.expect_download() as download:
        page.click("#download-pdf")
    pdf = tmp_path / "report.pdf"
    download.value.save_as(pdf)
    assert pdf.read_bytes().startswith(b"%PDF-")
    subprocess.run(["pdftoppm", "-r", "15", "-png", str(pdf), str(tmp_path / "p")], check=True)
    assert len(list(tmp_path.glob("p-*.png"))) >= 3

    page.goto(demo_server.url("/studies/"))
    page.click("#run-demo")
    page.wait_for_url("**/studies/runs/**")
    expect(page.locator("article.study-report img.figure")).to_have_count(4)

    page.goto(demo_server.url("/studies/"))
    page.select_option("#export_scope", label="Seattle & King County (all sites)")
    page.select_option("#export_format", "csv")
    with page.expect_download() as download:
        page.click("#export-download")
    rows = list(csv.DictReader(io.StringIO(download.value.path().read_text(encoding="utf-8"))))
    assert rows and "study_id" in rows[0]
    classes: dict[tuple, int] = {}
    for row in rows:
        key = tuple(row[q] for q in QUASI)
        classes[key] = classes.get(key, 0) + 1
    assert min(classes.values()) >= 5
    exported = download.value.path().read_text(encoding="utf-8")
    assert not [a for a in aliases if a in exported.split(",")]
    assert refused == []
    context.close()
