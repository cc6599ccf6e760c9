"""`vigil bench-audit`: what the audit log costs a check-in, and how fast `verify` walks.

In a throw-away database (floor.bench.throwaway_database; the configured database and its head
file are not touched), check-ins are timed in alternating rounds with the audit entry and with
it left out, so both see the same machine load; then `record()` alone and `verify` are timed.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from collections.abc import Callable
from datetime import time as time_of_day
from typing import Any
from unittest import mock

from django.db import connection

from vigil.accounts.models import Staff
from vigil.accounts.roles import Role
from vigil.audit import log
from vigil.floor import actions
from vigil.floor.actions import Intake
from vigil.floor.bench import throwaway_database
from vigil.floor.models import EndReason
from vigil.lib.codes import CodeItems
from vigil.participants import actions as registry
from vigil.sites.models import Jurisdiction, Place, PlaceKind, Site


def _ms(samples: list[float]) -> dict[str, float]:
    ordered = sorted(samples)
    return {
        "p10_ms": round(ordered[int(0.10 * (len(ordered) - 1))] * 1000, 3),
        "p50_ms": round(statistics.median(ordered) * 1000, 3),
        "p95_ms": round(ordered[int(0.95 * (len(ordered) - 1))] * 1000, 3),
        "mean_ms": round(statistics.fmean(ordered) * 1000, 3),
    }


def run(samples: int = 300, progress: Callable[[str], None] = lambda _m: None) -> dict[str, Any]:
    with throwaway_database():  # with its own audit head file
        return _measure(samples, progress)


def _measure(samples: int, progress: Callable[[str], None]) -> dict[str, Any]:
    site = Site.objects.create(
        jurisdiction=Jurisdiction.objects.create(name="Bench County"),
        name="Bench site",
        time_zone="America/Los_Angeles",
        opens_at=time_of_day(0, 0),
        closes_at=time_of_day(23, 59),
    )
    Place.objects.create(site=site, kind=PlaceKind.BOOTH, label="B1", position=1)
    nurse = Staff.objects.create_user(username="bench-nurse", role=Role.NURSE)
    people = [
        registry.register(
            jurisdiction=site.jurisdiction,
            items=CodeItems(
                mother_first_name="AB",
                birth_day=1 + n % 28,
                birth_year=1960 + n // 28,
                gender="MWX"[n % 3],
                birthplace="C",
            ),
            site=site,
        )
        for n in range(samples)
    ]
    intake = Intake(substances=["fentanyl"], route="inject", otherwise_location="public")
    timed: dict[str, list[float]] = {"with_audit": [], "without_audit": []}
    progress(f"timing {samples} check-ins with and {samples} without the audit entry")
    for round_number in range(2 * samples):
        audited = round_number % 2 == 0
        person = people[round_number // 2]
        with mock.patch.object(actions, "record", actions.record if audited else _skip):
            started = time.perf_counter()
            visit = actions.check_in(site=site, participant=person, intake=intake, by=nurse)
            timed["with_audit" if audited else "without_audit"].append(
                time.perf_counter() - started
            )
            actions.end_visit(visit=visit, reason=EndReason.LEFT_WAITING, by=nurse)
    progress(f"timing {samples} record() calls on their own")
    alone = []
    for _ in range(samples):
        started = time.perf_counter()
        log.record("participant.open", actor=nurse, subject=people[0])
        alone.append(time.perf_counter() - started)
    log.head_writer.flush()
    started = time.perf_counter()
    result = log.verify_database()
    walked = time.perf_counter() - started
    with_audit, without = _ms(timed["with_audit"]), _ms(timed["without_audit"])
    return {
        "database": connection.vendor,
        "machine": f"{platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}",
        "samples": samples,
        "check_in_with_audit": with_audit,
        "check_in_without_audit": without,
        # On a shared machine the median moves with other load; the 10th percentile shows the
        # cost on a quiet moment.
        "check_in_added_p10_ms": round(with_audit["p10_ms"] - without["p10_ms"], 3),
        "check_in_added_p50_ms": round(with_audit["p50_ms"] - without["p50_ms"], 3),
        "record_alone": _ms(alone),
        "verify": {
            "ok": result.ok,
            "entries": result.count,
            "seconds": round(walked, 3),
            "entries_per_second": round(result.count / walked) if walked else None,
        },
    }


def _skip(*args: Any, **kwargs: Any) -> None:
    return None
