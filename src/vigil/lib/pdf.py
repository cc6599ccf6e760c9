"""HTML to PDF with WeasyPrint: the same server-rendered HTML (and its SVG charts) on screen and
on paper. Reports and the study both print through here."""

from pathlib import Path


def html_to_pdf(html: str, *, base_url: str | Path | None = None) -> bytes:
    """Render `html` to PDF bytes. `base_url` resolves relative links (stylesheets, images)."""
    from weasyprint import HTML  # imported late: Pango loads only when a PDF is made

    return HTML(string=html, base_url=str(base_url) if base_url else None).write_pdf()
