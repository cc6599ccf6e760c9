"""`vigil report monthly`: every format to a file, and clear errors that write nothing."""

import csv
import io

import pytest
from django.core.management import CommandError, call_command
from openpyxl import load_workbook

from vigil.lib import clock

from .conftest import local

pytestmark = pytest.mark.db_any


@pytest.fixture
def in_november():
    with clock.frozen(local(2026, 11, 3, 10)):
        yield


@pytest.mark.parametrize("fmt", ["csv", "xlsx", "html", "pdf"])
def test_each_format_is_written(october, in_november, tmp_path, fmt):
    target = tmp_path / f"october.{fmt}"
    call_command(
        "report",
        "monthly",
        "--site",
        "Harbour",
        "--month",
        "2026-10",
        "--format",
        fmt,
        "-o",
        str(target),
    )
    body = target.read_bytes()
    if fmt == "csv":
        rows = list(csv.reader(io.StringIO(body.decode())))
        assert rows[0] == ["section", "indicator", "category", "value", "note"]
        assert next(r for r in rows if r[1] == "Scope")[4] == "Harbour"
    elif fmt == "xlsx":
        assert load_workbook(io.BytesIO(body))["Report"]["A1"].value == "Monthly report: Harbour"
    elif fmt == "html":
        assert b"Monthly report: Harbour" in body and b"<svg" in body
    else:
        assert body.startswith(b"%PDF")


def test_a_jurisdiction_report_covers_all_its_sites(october, in_november, tmp_path):
    target = tmp_path / "county.csv"
    call_command(
        "report",
        "monthly",
        "--jurisdiction",
        "Test County",
        "--month",
        "2026-10",
        "--format",
        "csv",
        "-o",
        str(target),
    )
    rows = list(csv.reader(io.StringIO(target.read_text())))
    assert next(r for r in rows if r[1] == "Sites")[4] == "Harbour, Hillside"
    assert any(r[0] == "Visits and clients — All sites" for r in rows)


@pytest.mark.parametrize(
    "args, message",
    [
        (["--site", "Nowhere", "--month", "2026-10"], "No site named 'Nowhere'"),
        (["--jurisdiction", "Nowhere", "--month", "2026-10"], "No jurisdiction named 'Nowhere'"),
        (["--site", "Harbour", "--month", "2026-13"], "YYYY-MM"),
        (["--site", "Harbour", "--month", "2027-01"], "has not started yet"),
    ],
)
def test_bad_input_is_explained_and_nothing_written(october, in_november, tmp_path, args, message):
    target = tmp_path / "out.csv"
    with pytest.raises(CommandError, match=message):
        call_command("report", "monthly", *args, "--format", "csv", "-o", str(target))
    assert not target.exists()


def test_a_missing_folder_is_explained(october, in_november, tmp_path):
    with pytest.raises(CommandError, match="No folder"):
        call_command(
            "report",
            "monthly",
            "--site",
            "Harbour",
            "--month",
            "2026-10",
            "--format",
            "csv",
            "-o",
            str(tmp_path / "missing" / "out.csv"),
        )
