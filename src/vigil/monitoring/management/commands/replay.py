"""`vigil replay FILE [--json] [--rules JSON]`: recorded vitals through the detection rules.

The rule settings option is `--rules`, not `--settings`: every Django command already owns
`--settings` (the Django settings module), and `vigil` reads it before the command runs.
"""

from __future__ import annotations

import argparse
import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.core.management.base import (
    BaseCommand,
    CommandError,
    CommandParser,
    DjangoHelpFormatter,
)
from django.utils.translation import gettext as _

from vigil.monitoring.replay import CSV_FORMAT, Replay, ReplayError, replay_file
from vigil.monitoring.rules import DEFAULT_SETTINGS, RuleSettings


class _HelpFormatter(DjangoHelpFormatter, argparse.RawDescriptionHelpFormatter):
    """Keeps the CSV format's layout in --help instead of reflowing it into one paragraph."""


class Command(BaseCommand):
    help = (
        "Feed a recording of vital signs through the detection rules on the recording's own "
        "clock (observation time), as fast as the computer goes, and print the alarms they "
        "raise: a table, or JSON with --json. Every place counts as occupied and its device "
        "as bound for the whole recording. Silence becomes data loss after the rules' "
        "data-loss delay or 1.5 reporting intervals, whichever is longer."
    )
    requires_system_checks: list[str] = []

    def create_parser(self, prog_name: str, subcommand: str, **kwargs: Any) -> CommandParser:
        parser = super().create_parser(prog_name, subcommand, **kwargs)
        parser.formatter_class = _HelpFormatter
        parser.epilog = CSV_FORMAT + "\n\nSee docs/detection-rules.md for the rules."
        return parser

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", help="the recording, a CSV file (format below)")
        parser.add_argument(
            "--json", action="store_true", help="print one JSON object instead of a table"
        )
        parser.add_argument(
            "--rules",
            metavar="JSON",
            help=(
                "rule settings to use instead of the defaults: a JSON object such as "
                "'{\"spo2_low\": 88}', or the path of a file holding one; fields left out "
                "keep their defaults"
            ),
        )

    def handle(self, *args: Any, **options: Any) -> None:
        settings = _settings(options.get("rules"))
        try:
            result = replay_file(options["file"], settings)
        except ReplayError as error:
            raise CommandError(str(error)) from None
        if options["json"]:
            self.stdout.write(json.dumps(as_json(result), indent=2))
        else:
            self.stdout.write(as_table(result))


def _settings(raw: str | None) -> RuleSettings:
    if raw is None:
        return DEFAULT_SETTINGS
    text = raw.strip()
    source = _("--rules")
    if not text.startswith(("{", "[")):
        path = Path(text)
        try:
            text = path.read_text(encoding="utf-8")
        except OSError as error:
            raise CommandError(
                _("--rules: %(path)s cannot be read (%(error)s); give a JSON object or a file")
                % {"path": path, "error": error.strerror}
            ) from None
        source = str(path)
    try:
        data = json.loads(text)
    except json.JSONDecodeError as error:
        raise CommandError(
            _("%(source)s: not valid JSON (%(error)s)") % {"source": source, "error": error}
        ) from None
    try:
        return RuleSettings.from_dict(data)
    except (TypeError, ValueError) as error:
        raise CommandError(
            _("%(source)s: %(error)s") % {"source": source, "error": error}
        ) from None


def _seconds(delta: timedelta | None) -> float | None:
    return None if delta is None else delta.total_seconds()


def _minutes(delta: timedelta) -> str:
    return f"{delta.total_seconds() / 60:g}"


def _when(moment: datetime, first: datetime) -> str:
    # A recording of hours spans days; show the date only when it is not the first day's.
    if moment.date() == first.date():
        return moment.strftime("%H:%M:%S")
    return moment.strftime("%Y-%m-%d %H:%M:%S")


def as_table(result: Replay) -> str:
    lines = [
        _("Replay of %(file)s: %(rows)d readings, %(first)s to %(last)s; rules version %(v)d.")
        % {
            "file": result.source,
            "rows": result.rows,
            "first": result.first.isoformat(),
            "last": result.last.isoformat(),
            "v": result.settings.version,
        }
    ]
    for place in result.places:
        cadence = _seconds(place.cadence)
        lines.append(
            _(
                "%(place)s: %(rows)d readings, one every %(cadence)s s; "
                "silence is data loss after %(window)g s."
            )
            % {
                "place": place.place,
                "rows": place.rows,
                "cadence": "?" if cadence is None else f"{cadence:g}",
                "window": place.window.total_seconds(),
            }
        )
    lines.append("")
    if not result.episodes:
        lines.append(_("No alarms."))
        return "\n".join(lines)
    header = (
        _("place"),
        _("condition"),
        _("priority"),
        _("started"),
        _("ended"),
        _("minutes"),
        _("alarm"),
    )
    table = [header]
    for e in result.episodes:
        table.append(
            (
                e.place,
                str(e.condition),
                str(e.priority) + (" " + _("(technical)") if e.technical else ""),
                _when(e.started_at, result.first),
                _when(e.ended_at, result.first) if e.ended_at else _("(still on at end)"),
                _minutes(e.duration(result.last)),
                e.label,
            )
        )
    widths = [max(len(row[i]) for row in table) for i in range(len(header))]
    for row in table:
        lines.append("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    lines.append("")
    counts: dict[str, int] = {}
    for e in result.episodes:
        counts[str(e.condition)] = counts.get(str(e.condition), 0) + 1
    lines.append(
        _("%(n)d alarms: %(counts)s")
        % {
            "n": len(result.episodes),
            "counts": ", ".join(f"{name} {count}" for name, count in sorted(counts.items())),
        }
    )
    return "\n".join(line.rstrip() for line in lines)


def as_json(result: Replay) -> dict[str, Any]:
    return {
        "file": result.source,
        "rows": result.rows,
        "first": result.first.isoformat(),
        "last": result.last.isoformat(),
        "settings": result.settings.to_dict(),
        "places": [
            {
                "place": p.place,
                "rows": p.rows,
                "cadence_s": _seconds(p.cadence),
                "data_loss_window_s": p.window.total_seconds(),
            }
            for p in result.places
        ],
        "alarms": [
            {
                "place": e.place,
                "condition": str(e.condition),
                "label": e.label,
                "priority": str(e.priority),
                "technical": e.technical,
                "started_at": e.started_at.isoformat(),
                "ended_at": e.ended_at.isoformat() if e.ended_at else None,
                "minutes": e.duration(result.last).total_seconds() / 60,
            }
            for e in result.episodes
        ],
    }
