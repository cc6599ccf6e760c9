"""`vigil bench-audit`: what an audit entry adds to a check-in, and how fast verify walks."""

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from vigil.audit import bench


class Command(BaseCommand):
    help = (
        "In a throw-away database (the configured database and its audit head file are not "
        "touched), time check-ins in alternating rounds with and without their audit entry, "
        "record() on its own, and `audit verify` over what was written. Prints one JSON "
        "object; progress goes to stderr."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--samples", type=int, default=300, help="check-ins timed each way (default 300)"
        )

    def handle(self, *args: Any, samples: int, **options: Any) -> None:
        if samples < 2:
            raise CommandError("--samples must be at least 2.")

        def progress(message: str) -> None:
            self.stderr.write(message)
            self.stderr.flush()

        self.stdout.write(json.dumps(bench.run(samples, progress), indent=2))
