"""`vigil bench-floor`: server time and SQL queries of the floor's busiest pages, without and
with years of history. See vigil.floor.bench for what is seeded and measured, and
docs/performance.md for the figures."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from vigil.floor import bench


class Command(BaseCommand):
    help = (
        "In a throw-away database (a new SQLite file in the data dir, or a new database on the "
        "PostgreSQL server of DATABASE_URL; the configured database is not touched), set up one "
        "Insite-sized site with people on the floor, time the floor board, the check-in POST "
        "and the participant look-up by alias and by code, seed DAYS days of VISITS-PER-DAY "
        "visits and time them again. Prints one JSON object with p50 and p95 server time and "
        "SQL queries per request for both; progress goes to stderr."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=int, default=730, help="days of history to seed (default 730)"
        )
        parser.add_argument(
            "--visits-per-day",
            type=int,
            default=500,
            help="visits on each day of history (default 500)",
        )
        parser.add_argument(
            "--participants",
            type=int,
            default=8000,
            help="people in the registry once the history is seeded (default 8000)",
        )
        parser.add_argument(
            "--samples",
            type=int,
            default=200,
            help="timed requests per page and per history (default 200)",
        )
        parser.add_argument(
            "--seed", type=int, default=2026, help="random seed for the data (default 2026)"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        for name in ("days", "visits_per_day", "participants"):
            if options[name] < 0:
                raise CommandError(f"--{name.replace('_', '-')} cannot be negative.")
        if options["samples"] < 1:
            raise CommandError("--samples must be at least 1.")

        def progress(message: str) -> None:
            self.stderr.write(message)
            self.stderr.flush()

        try:
            figures = bench.run(
                days=options["days"],
                visits_per_day=options["visits_per_day"],
                participants=options["participants"],
                samples=options["samples"],
                seed=options["seed"],
                progress=progress,
            )
        except bench.BenchError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps(figures, indent=2))
