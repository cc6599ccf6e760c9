"""`vigil evaluate study.toml --out report.html --json results.json`."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from vigil.research.errors import StudyError
from vigil.research.evaluate import OutputError, run_files
from vigil.research.report import results_json

# Exit status of a study that cannot be evaluated as written (as for a usage error), so
# scripts can tell bad input from a crash (1).
BAD_STUDY = 2


class Command(BaseCommand):
    help = (
        "Evaluate a study file (TOML) over its CSV data ([data]) or over Vigil's own records "
        "([vigil]): write the report (--out report.html or report.pdf) and the figures "
        "(--json); with neither, print the figures as JSON."
    )
    # A study over CSV files reads files only; it must run even where the database is not set
    # up (a [vigil] study needs it, and says so if it is missing).
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("study", help="the study file (TOML)")
        parser.add_argument(
            "--out", help="the report to write: report.html, or report.pdf (WeasyPrint)"
        )
        parser.add_argument("--json", dest="json_path", help="results.json to write")

    def handle(self, *args: Any, **options: Any) -> None:
        html = Path(options["out"]) if options.get("out") else None
        json_path = Path(options["json_path"]) if options.get("json_path") else None
        try:
            study, results = run_files(Path(options["study"]), html, json_path)
        except (StudyError, OutputError) as exc:
            raise CommandError(str(exc), returncode=BAD_STUDY) from exc
        if html is None and json_path is None:
            self.stdout.write(results_json(results), ending="")
            return
        written = [str(p) for p in (html, json_path) if p is not None]
        self.stdout.write(
            f"{study.title}: {len(results['analyses'])} analyses; wrote {', '.join(written)}"
        )
