from datetime import timedelta

import pytest
from django.urls import reverse

from vigil.accounts.roles import Role
from vigil.floor import actions
from vigil.lib import clock
from vigil.monitoring import actions as alarm_actions
from vigil.sites.models import PlaceKind
from vigil.testing import SiteFactory, StaffFactory, intake, participant

pytestmark = pytest.mark.django_db


def tile_html(client, site) -> str:
    html = client.get(reverse("floor:board-fragment", args=[site.pk])).content.decode()
    start = html.index('id="tile-B1"')
    return html[start : html.index("</article>", start)]


def test_an_overdue_check_shows_once_whether_or_not_the_engine_raised_its_alarm(client):
    site = SiteFactory(places={PlaceKind.BOOTH: 1})
    nurse = StaffFactory(role=Role.NURSE, sites=[site])
    client.force_login(nurse)
    with clock.frozen(clock.now() - timedelta(minutes=10)):
        actions.check_in(
            site=site,
            participant=participant(site),
            intake=intake(),
            by=nurse,
            place=site.places.get(),
        )
    assert tile_html(client, site).count("Check overdue") == 1  # the timer's badge
    alarm_actions.raise_alarm(place=site.places.get(), kind="check_overdue", at=clock.now())
    tile = tile_html(client, site)
    assert tile.count("Check overdue") == 1  # now the alarm's badge, not both
    assert 'data-colour="medium"' in tile
