"""A site manager on a tablet opens the dashboard, changes the period, and downloads last
month's report as PDF and XLSX; the PDF is turned into PNG pages (pdftoppm) and its pages are
checked, and the XLSX is read back with openpyxl."""

import re
import subprocess
from pathlib import Path

import pytest
from openpyxl import load_workbook
from playwright.sync_api import expect

from tests.e2e.conftest import PASSWORD, sign_in

pytestmark = pytest.mark.e2e
TABLET = {"width": 820, "height": 1180}

# Last month and this month so far at the site (bulk, as the demo does), ending today.
HISTORY = (
    "import random; from vigil.lib import clock; from vigil.sites.models import Site; "
    "from vigil.reports.demo_history import seed_history; "
    "print(seed_history(list(Site.objects.all()), clock.now(), 0, random.Random(5), months=1)"
    ".summary())"
)
FIGURES = (
    "from vigil.lib import clock; from vigil.sites.models import Site; "
    "from vigil.reports.views import last_full_month; "
    "from vigil.floor.models import Visit; s = Site.objects.get(); m = last_full_month(s); "
    "a, b = m.bounds(s); "
    "print(m.start.strftime('%Y-%m'), Visit.objects.filter(site=s, checked_in_at__gte=a, "
    "checked_in_at__lt=b).count())"
)


def pdf_pages(pdf: Path, folder: Path) -> list[Path]:
    subprocess.run(["pdftoppm", "-png", "-r", "40", str(pdf), str(folder / "page")], check=True)
    return sorted(folder.glob("page-*.png"))


def pdf_text(pdf: Path, page: int) -> str:
    result = subprocess.run(
        ["pdftotext", "-f", str(page), "-l", str(page), "-layout", str(pdf), "-"],
        check=True,
        capture_output=True,
        text=True,
    )
    return " ".join(result.stdout.split())  # one line: table cells wrap in the layout


def test_a_site_manager_reads_the_dashboard_and_downloads_the_monthly_report(
    browser, vigil_server, tmp_path
):
    vigil_server.vigil(
        "staff",
        "add",
        "morgan",
        "--role",
        "site_manager",
        "--site",
        "E2E CHEL",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    vigil_server.vigil("shell", "-c", HISTORY)
    month, visits = vigil_server.vigil("shell", "-c", FIGURES).strip().splitlines()[-1].split()
    assert int(visits) > 100

    page = sign_in(browser, vigil_server, "morgan", viewport=TABLET, accept_downloads=True)
    page.goto(vigil_server.url("/reports/"))
    page.click("text=E2E CHEL")
    expect(page.locator("h1")).to_have_text("Dashboard: E2E CHEL")
    # Last month by default, raw counts for the site manager.
    expect(page.locator(".presets a[aria-current=true]")).to_have_text("Last month")
    expect(page.locator("[data-kpi=visits] .kpi-value")).to_have_text(f"{int(visits):,}")
    expect(page.locator("[data-kpi=deaths] .kpi-value")).to_have_text("0")
    expect(page.locator("svg.chart-heat")).to_be_visible()
    expect(page.locator("svg.chart-columns")).to_have_count(2)

    # Another period: one week typed in the form, then a preset.
    page.fill("input[name=start]", f"{month}-08")
    page.fill("input[name=end]", f"{month}-14")
    page.click("#period-form button")
    expect(page).to_have_url(re.compile(r"start=\d{4}-\d{2}-08&end=\d{4}-\d{2}-14"))
    week = int(page.inner_text("[data-kpi=visits] .kpi-value").replace(",", ""))
    assert 0 < week < int(visits)
    page.click(".presets >> text=Last 90 days")
    expect(page.locator(".presets a[aria-current=true]")).to_have_text("Last 90 days")
    assert int(page.inner_text("[data-kpi=visits] .kpi-value").replace(",", "")) >= int(visits)
    page.click(".presets >> text=Last month")

    # The PDF: a cover page of tables, then the charts.
    with page.expect_download() as info:
        page.click(".downloads >> text=PDF")
    pdf = tmp_path / info.value.suggested_filename
    info.value.save_as(pdf)
    assert pdf.name == f"vigil-e2e-chel-{month}.pdf"
    pngs = pdf_pages(pdf, tmp_path)
    assert 2 <= len(pngs) <= 8
    assert all(png.stat().st_size > 2_000 for png in pngs)  # drawn pages, not blank ones
    first = pdf_text(pdf, 1)
    assert "Monthly report: E2E CHEL" in first and "extracted" in first
    assert "Health Canada" in first
    everything = "".join(pdf_text(pdf, n) for n in range(1, len(pngs) + 1))
    assert "Deaths on site" in everything
    assert "Booth uses by hour of day and day of week" in everything
    assert f"{int(visits):,}" in everything  # visits are not a small count here

    # The XLSX, read back.
    with page.expect_download() as info:
        page.click(".downloads >> text=XLSX")
    xlsx = tmp_path / info.value.suggested_filename
    info.value.save_as(xlsx)
    book = load_workbook(xlsx)
    rows = list(book["Report"].iter_rows(values_only=True))
    assert rows[0][0] == "Monthly report: E2E CHEL"
    visits_row = next(r for r in rows if r[0] == "Visits" and not r[1])  # empty: None
    assert visits_row[2] == int(visits)
    deaths = next(r for r in rows if r[0] == "Deaths on site")
    assert deaths[2] == 0
    long = list(book["Long table"].iter_rows(values_only=True))
    assert long[0] == ("section", "indicator", "category", "value", "note")
