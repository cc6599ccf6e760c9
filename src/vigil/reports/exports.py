"""A report as a file: HTML (standalone), PDF (WeasyPrint, the same HTML), CSV (one long table)
and XLSX. Only protected reports are exported: everything here leaves the site manager."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.translation import gettext as _

from vigil.reports.report import Report, charts

CSV_COLUMNS = ("section", "indicator", "category", "value", "note")
FORMATS = {
    "html": "text/html; charset=utf-8",
    "pdf": "application/pdf",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
STYLESHEET = Path(__file__).parent / "static" / "reports" / "report.css"


class NotProtected(ValueError):
    """A report with raw small counts was about to leave the site manager's screen."""


def _check(report: Report) -> None:
    if not report.protected:
        raise NotProtected("only a protected report may be exported")


def filename(report: Report, fmt: str) -> str:
    scope = "".join(ch if ch.isalnum() else "-" for ch in report.scope).strip("-").lower()
    return f"vigil-{scope}-{report.period.start:%Y-%m}.{fmt}"


def extraction_text(report: Report) -> str:
    return timezone.localtime(
        report.extracted_at, report.sites[0].tz if report.sites else None
    ).strftime("%Y-%m-%d %H:%M %Z")


def period_text(report: Report) -> str:
    if report.period.is_month():
        return report.period.start.strftime("%B %Y")
    return f"{report.period.start:%Y-%m-%d} – {report.period.last_day:%Y-%m-%d}"


def small_count_text() -> str:
    return _(
        "Counts of 1 to 9 are hidden (shown as x, or hatched in a chart), and so is any other "
        "count from which a hidden one could be worked out from the totals printed."
    )


def long_rows(report: Report) -> list[tuple[str, str, str, str, str]]:
    """The report as `section, indicator, category, value, note` rows."""
    _check(report)
    rows: list[tuple[str, str, str, str, str]] = [
        (_("Report"), _("Scope"), "", "", report.scope),
        (_("Report"), _("Sites"), "", "", ", ".join(site.name for site in report.sites)),
        (
            _("Report"),
            _("Period"),
            "",
            "",
            f"{report.period.start:%Y-%m-%d} to {report.period.last_day:%Y-%m-%d}",
        ),
        (_("Report"), _("Extracted"), "", "", extraction_text(report)),
        (_("Report"), _("Small counts"), "", "", small_count_text()),
    ]
    several = len(report.sites) > 1
    for table in report.tables:
        rows.append((_("Definitions"), table.title, "", "", table.definition))
    for table in report.tables:
        for column_index, column in enumerate(table.columns):
            section = f"{table.title} — {column}" if several else table.title
            for row in table.rows:
                cell = row.cells[column_index]
                value = "" if cell.hidden or cell.value is None else str(cell.value)
                note = cell.reason if cell.hidden else ""
                rows.append((section, row.indicator, row.category, value, note))
    return rows


def to_csv(report: Report) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(CSV_COLUMNS)
    writer.writerows(long_rows(report))
    return buffer.getvalue().encode("utf-8")


def to_xlsx(report: Report) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill

    _check(report)
    book = Workbook()
    sheet = book.active
    sheet.title = _("Report")[:31]
    bold = Font(bold=True)
    hidden_fill = PatternFill("lightGray")
    sheet.append([f"{report.title}: {report.scope}"])
    sheet["A1"].font = Font(bold=True, size=14)
    sheet.append([_("Period"), period_text(report)])
    sheet.append([_("Extracted"), extraction_text(report)])
    sheet.append([_("Small counts"), small_count_text()])
    for table in report.tables:
        sheet.append([])
        sheet.append([table.title])
        sheet.cell(sheet.max_row, 1).font = bold
        sheet.append([table.definition])
        sheet.cell(sheet.max_row, 1).alignment = Alignment(wrap_text=False)
        sheet.append([_("Indicator"), _("Category"), *table.columns, _("Note")])
        for cell in sheet[sheet.max_row]:
            cell.font = bold
        for row in table.rows:
            values: list[object] = [row.indicator, row.category]
            notes = []
            for column, cell in zip(table.columns, row.cells, strict=True):
                if cell.hidden or cell.value is None:
                    values.append(None)
                    notes.append(f"{column}: {cell.reason}")
                else:
                    values.append(cell.value)
            values.append("; ".join(notes))
            sheet.append(values)
            for offset, cell in enumerate(row.cells):
                if cell.hidden:
                    sheet.cell(sheet.max_row, 3 + offset).fill = hidden_fill
        if table.note:
            sheet.append([table.note])
    sheet.column_dimensions["A"].width = 34
    sheet.column_dimensions["B"].width = 34
    for letter in "CDEFGH":
        sheet.column_dimensions[letter].width = 16
    long = book.create_sheet(_("Long table")[:31])
    long.append(list(CSV_COLUMNS))
    for section, indicator, category, value, note in long_rows(report):
        long.append([section, indicator, category, int(value) if value else None, note])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def to_html(report: Report) -> str:
    _check(report)
    return render_to_string(
        "reports/report.html",
        {
            "report": report,
            "charts": charts(report),
            "stylesheet": STYLESHEET.read_text(encoding="utf-8"),
            "period_text": period_text(report),
            "extracted": extraction_text(report),
            "small_counts": small_count_text(),
        },
    )


def to_pdf(report: Report) -> bytes:
    from vigil.lib.pdf import html_to_pdf

    return html_to_pdf(to_html(report))


def render(report: Report, fmt: str) -> bytes:
    if fmt == "csv":
        return to_csv(report)
    if fmt == "xlsx":
        return to_xlsx(report)
    if fmt == "pdf":
        return to_pdf(report)
    if fmt == "html":
        return to_html(report).encode("utf-8")
    raise ValueError(f"unknown format {fmt!r}: choose one of {', '.join(FORMATS)}")
