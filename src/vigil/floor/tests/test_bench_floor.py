"""`vigil bench-floor`, run tiny: the figures are there and queries do not grow with history.

Times are never asserted; query counts are exact, so a page that starts asking the database
once per past visit fails here.
"""

import io
import json

import pytest
from django.core.management import call_command
from django.db import connection

from vigil.sites.models import Site

PAGES = {"board", "check_in", "lookup_alias", "lookup_code"}

# The command makes and drops its own database, which needs a real transaction.
pytestmark = pytest.mark.django_db(transaction=True)


def _bench(**options) -> tuple[dict, str]:
    out, err = io.StringIO(), io.StringIO()
    args = {"days": 3, "visits_per_day": 20, "participants": 150, "samples": 5, **options}
    call_command(
        "bench-floor",
        *[f"--{k.replace('_', '-')}={v}" for k, v in args.items()],
        stdout=out,
        stderr=err,
    )
    return json.loads(out.getvalue()), err.getvalue()


def test_prints_figures_for_every_page_and_queries_do_not_grow_with_history():
    configured = connection.settings_dict["NAME"]
    figures, progress = _bench()

    assert figures["database"] == connection.vendor
    assert figures["history_visits"] == 60
    # The current floor and the timed check-ins add visits of their own beyond the history.
    assert figures["rows"]["visits"] > 60 and figures["rows"]["participants"] == 150
    for run in ("empty", "history"):
        assert set(figures[run]) == PAGES
        for page in PAGES:
            assert {"p50_ms", "p95_ms", "queries"} <= set(figures[run][page])
            assert 0 < figures[run][page]["p50_ms"] <= figures[run][page]["p95_ms"]
            assert figures[run][page]["queries"] > 0
        # Every look-up is for someone in the registry, so it finds at least them.
        assert figures[run]["lookup_alias"]["found"] >= 1
        assert figures[run]["lookup_code"]["found"] >= 1
    assert {p: figures["history"][p]["queries"] for p in PAGES} == {
        p: figures["empty"][p]["queries"] for p in PAGES
    }
    assert figures["queries_grow"] is False
    assert set(figures["ratio_p95"]) == PAGES and set(figures["aims"]["met"]) == PAGES
    assert figures["machine"]["cpus"] >= 1
    assert "seeding 3 days x 20 visits" in progress

    # Its database is thrown away; the configured one is back and was never written.
    assert connection.settings_dict["NAME"] == configured
    assert not Site.objects.exists()


def test_refuses_nonsense_options():
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="--samples"):
        _bench(samples=0)
    with pytest.raises(CommandError, match="--days"):
        _bench(days=-1)
