import pytest
from django.core.management import call_command

from vigil.floor.board import build_board
from vigil.floor.models import Visit
from vigil.lib import clock
from vigil.sites.models import Site


@pytest.mark.django_db
def test_demo_has_both_sites_a_history_and_a_busy_floor(capsys):
    call_command("seed-demo", "--days", "2")
    out = capsys.readouterr().out
    assert "nurse" in out and "vigil-demo-2026" in out
    seattle = Site.objects.get(name="Seattle CHEL")
    labels = [p.label for p in seattle.places.all()]
    assert (
        labels[:10] == [f"B{n}" for n in range(1, 11)]
        and "S4" in labels
        and "W1" in labels
        and "A6" in labels
    )
    county = Site.objects.get(name="King County CHEL")
    assert [p.label for p in county.places.all()] == [f"B{n}" for n in range(1, 7)] + [
        f"A{n}" for n in range(1, 5)
    ]
    assert Visit.objects.filter(status="ended").count() > 20
    board = build_board(seattle, clock.now())
    colours = {t.colour for g in board.groups for t in g.tiles}
    assert {"medium", "low", "free", "none"} <= colours
    assert len(board.waiting) == 2
    call_command("seed-demo")  # a second run leaves the data alone
    assert "already there" in capsys.readouterr().out


@pytest.mark.django_db
def test_a_later_demo_run_closes_stale_visits_and_sets_up_a_fresh_floor():
    from datetime import timedelta

    from vigil.floor import demo
    from vigil.floor.models import VisitStatus

    then = clock.now() - timedelta(days=1)
    demo.seed(days=2, now=then)
    stale = set(Visit.objects.exclude(status=VisitStatus.ENDED).values_list("pk", flat=True))
    assert stale
    closed = demo.refresh_floor()
    assert closed == len(stale)
    assert set(Visit.objects.filter(pk__in=stale).values_list("end_reason", flat=True)) == {
        "site_closed"
    }
    fresh = Visit.objects.exclude(status=VisitStatus.ENDED)
    assert fresh.count() == len(stale) and not fresh.filter(pk__in=stale).exists()
    assert demo.refresh_floor() == 0  # fresh now: nothing to do
