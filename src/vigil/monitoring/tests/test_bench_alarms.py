"""`vigil bench-alarms` at toy size, as a user runs it: a real `vigil serve`, real SSE clients and
a separate load-generator process. Checks the figures are all there and that nothing was lost;
never how fast anything was (CI machines differ and are busy)."""

import json
import os
import subprocess
import sys

import pytest

pytestmark = pytest.mark.db_any

KEYS = {
    "booths": int,
    "messages_per_second": float,
    "latency_ms_p50": float,
    "latency_ms_p99": float,
    "lost_messages": int,
    "rss_mb": float,
    "max_messages_per_second": float,
    "transport_limit_messages_per_second": float,
    "ratio": float,
}


def test_a_tiny_run_reports_every_figure_and_loses_nothing(tmp_path):
    env = {**os.environ, "VIGIL_DATA_DIR": str(tmp_path / "data")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    result = subprocess.run(
        [sys.executable, "-m", "vigil", "bench-alarms"]
        + ["--booths", "5", "--seconds", "3", "--saturation-seconds", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    for key, kind in KEYS.items():
        assert isinstance(figures[key], kind), (key, figures[key])
    assert figures["booths"] == 5
    assert figures["lost_messages"] == 0
    assert figures["latency_samples"] >= 3, "every screen saw the planned alarm"
    assert figures["alarms_not_shown"] == 0
    assert figures["messages_refused"] == 0 and figures["messages_without_ack"] == 0
    assert figures["places_alarming_unplanned"] == 0
    assert figures["latency_ms_p50"] <= figures["latency_ms_p99"]
    assert (
        figures["max_messages_per_second"] > 0
        and figures["transport_limit_messages_per_second"] > 0
    )
    assert figures["database"] == ("postgresql" if os.environ.get("DATABASE_URL") else "sqlite")
    assert "seeding 5 booths" in result.stderr
    assert not list((tmp_path / "data").glob("*.sqlite3")), "the configured database is untouched"
