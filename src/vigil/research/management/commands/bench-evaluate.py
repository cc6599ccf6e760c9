"""`vigil bench-evaluate`: time `vigil evaluate` on a seeded panel of monthly deaths by area."""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from vigil.research.bench import write_study
from vigil.research.evaluate import run_files


class Command(BaseCommand):
    help = (
        "Build a seeded panel (default: 50 areas, 10 years of months), run every method on it "
        "(synthetic control with placebo inference included) through the same code as "
        "`vigil evaluate`, and print one JSON object with the timings in seconds."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--areas", type=int, default=50)
        parser.add_argument("--years", type=int, default=10)
        parser.add_argument("--seed", type=int, default=2016)
        parser.add_argument("--keep", help="write the study, report and results into this folder")

    def handle(self, *args: Any, **options: Any) -> None:
        if options.get("keep"):
            self._bench(Path(options["keep"]), options)
            return
        with tempfile.TemporaryDirectory(prefix="vigil-bench-") as folder:
            self._bench(Path(folder), options)

    def _bench(self, folder: Path, options: dict[str, Any]) -> None:
        began = time.perf_counter()
        study_path = write_study(folder, options["areas"], options["years"], options["seed"])
        build = time.perf_counter() - began
        steps: dict[str, float] = {}

        def step(name: str, seconds: float) -> None:
            steps[name] = round(seconds, 4)

        began = time.perf_counter()
        _, results = run_files(
            study_path, folder / "report.html", folder / "results.json", step=step
        )
        total = time.perf_counter() - began
        sc = next(a for a in results["analyses"] if a["method"] == "synthetic_control")
        out = {
            "areas": options["areas"],
            "months": 12 * options["years"],
            "seed": options["seed"],
            "cpus": os.cpu_count(),
            "build_panel_s": round(build, 4),
            "evaluate_s": round(total, 4),
            "steps_s": steps,
            "placebo_units": sc["placebo_units"],
            "synthetic_control_att": round(sc["att"], 4),
            "synthetic_control_placebo_p": sc["placebo_p"],
            "report_bytes": (folder / "report.html").stat().st_size,
        }
        self.stdout.write(json.dumps(out))
