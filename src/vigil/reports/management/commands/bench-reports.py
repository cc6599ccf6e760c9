"""`vigil bench-reports`: see vigil.reports.bench and docs/performance.md, "Reports"."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from vigil.reports import bench


class Command(BaseCommand):
    help = (
        "In a throw-away database (a new SQLite file in the data dir, or a new database on the "
        "PostgreSQL server of DATABASE_URL; the configured database is not touched), seed DAYS "
        "days of a busy site (VISITS-PER-DAY visits with their events, services, supplies and "
        "referrals), then time last month's report (HTML, PDF, CSV) and the dashboard, and a "
        "careful analyst's pandas script computing the same indicators from a CSV export of "
        "the same rows. Prints JSON; progress goes to stderr. For PostgreSQL: pg_virtualenv sh "
        "-c 'DATABASE_URL=postgres:///postgres vigil bench-reports'."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days", type=int, default=1826, help="days of history (default 1826, five years)"
        )
        parser.add_argument(
            "--visits-per-day", type=int, default=600, help="visits a day (default 600)"
        )
        parser.add_argument("--repeat", type=int, default=5, help="timed runs of each (default 5)")
        parser.add_argument("--seed", type=int, default=2026, help="random seed (default 2026)")

    def handle(
        self, *args: Any, days: int, visits_per_day: int, repeat: int, seed: int, **options: Any
    ) -> None:
        if days < 31:
            raise CommandError("--days must be at least 31, so last month is in the history.")
        if visits_per_day < 1:
            raise CommandError("--visits-per-day must be at least 1.")
        if repeat < 1:
            raise CommandError("--repeat must be at least 1.")

        def progress(message: str) -> None:
            self.stderr.write(message)
            self.stderr.flush()

        figures = bench.run(
            days=days, visits_per_day=visits_per_day, repeat=repeat, seed=seed, progress=progress
        )
        self.stdout.write(json.dumps(figures, indent=2))
