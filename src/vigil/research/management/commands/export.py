"""`vigil export deidentified --site NAME --format csv -o FILE [--k 5]`: the k-anonymous
record-level export for evaluators (see docs/research.md)."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from vigil.research import export
from vigil.research.errors import StudyError
from vigil.research.records.study import resolve_scope

BAD_INPUT = 2


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise CommandError(f"not a date (YYYY-MM-DD): {text!r}", returncode=BAD_INPUT) from exc


class Command(BaseCommand):
    help = "Export data for evaluators: 'deidentified' writes the k-anonymous record-level file."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="what", required=True)
        de = sub.add_parser(
            "deidentified",
            help=(
                "one row per person seen in the period, k-anonymous over site, month of first "
                "visit, age band, gender and housing; no codes, aliases, free text or times"
            ),
        )
        where = de.add_mutually_exclusive_group(required=True)
        where.add_argument("--site", help="one site, by name")
        where.add_argument("--jurisdiction", help="every site of a jurisdiction, by name")
        de.add_argument("--format", choices=export.FORMATS, default="csv")
        de.add_argument("-o", "--output", required=True, help="the file to write")
        de.add_argument("--k", type=int, default=5, help="smallest class size (default 5)")
        de.add_argument(
            "--max-suppression",
            type=float,
            default=0.05,
            help="largest share of people that may be left out instead of generalising further "
            "(default 0.05)",
        )
        de.add_argument("--from", dest="first", help="first day (YYYY-MM-DD; default: the start)")
        de.add_argument("--to", dest="last", help="last day (YYYY-MM-DD; default: today)")

    def handle(self, *args: Any, **options: Any) -> None:
        if options["k"] < 2:
            raise CommandError("--k must be at least 2", returncode=BAD_INPUT)
        if not 0 <= options["max_suppression"] < 1:
            raise CommandError(
                "--max-suppression is a share from 0 to below 1", returncode=BAD_INPUT
            )
        out = Path(options["output"])
        try:
            scope = resolve_scope(
                "export",
                site=options.get("site"),
                jurisdiction=options.get("jurisdiction"),
                first_day=_date(options["first"]) if options.get("first") else None,
                last_day=_date(options["last"]) if options.get("last") else None,
            )
        except StudyError as exc:
            raise CommandError(str(exc), returncode=BAD_INPUT) from exc
        frame, choice = export.deidentified(
            scope, k=options["k"], max_suppression=options["max_suppression"]
        )
        meta = export.metadata(scope, choice)
        data = export.write(frame, options["format"], meta)
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(data)
        except OSError as exc:
            raise CommandError(
                f"{out}: cannot be written ({exc.strerror})", returncode=BAD_INPUT
            ) from exc
        export.record_export(None, scope, options["format"], meta)
        self.stdout.write(json.dumps(meta, indent=2))
