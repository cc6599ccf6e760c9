"""`vigil bench-evaluate` prints one JSON object with its timings."""

from __future__ import annotations

import json

from django.core.management import call_command


def test_bench_prints_timings_of_every_stage(capsys):
    call_command("bench-evaluate", areas=5, years=3, seed=1)
    out = json.loads(capsys.readouterr().out)
    assert out["areas"] == 5 and out["months"] == 36
    assert out["placebo_units"] == 5
    assert out["evaluate_s"] > 0
    stages = {"load", "json", "html"} | {
        f"analysis:{n}" for n in ("synthetic-control", "its", "did", "before-after")
    }
    assert set(out["steps_s"]) == stages
