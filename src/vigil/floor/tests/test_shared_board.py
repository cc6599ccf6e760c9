import re
import time

import pytest
from django.middleware.csrf import _unmask_cipher_token
from django.test import RequestFactory

from vigil.accounts.roles import Role
from vigil.floor import actions, views
from vigil.lib import clock
from vigil.sites.models import PlaceKind
from vigil.testing import SiteFactory, StaffFactory, intake, participant

pytestmark = pytest.mark.django_db


def request_for(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


def test_screens_of_one_role_share_a_render_until_something_changes(django_assert_num_queries):
    site = SiteFactory(places={PlaceKind.BOOTH: 2})
    nurse_a, nurse_b = (StaffFactory(role=Role.NURSE, sites=[site]) for _ in range(2))
    desk = StaffFactory(role=Role.FRONT_DESK, sites=[site])
    boards = views.SharedBoards()
    first = boards.get(request_for(nurse_a), site, 0.0)
    with django_assert_num_queries(0):
        assert boards.get(request_for(nurse_b), site, 0.0) == first  # the same render, no queries
    assert "Wren" not in first

    changed_at = time.monotonic()
    actions.check_in(
        site=site,
        participant=participant(site, alias="Wren"),
        intake=intake(),
        by=desk,
        place=site.places.get(label="B1"),
    )
    assert "Wren" in boards.get(request_for(nurse_b), site, changed_at)  # newer than the change
    assert "Wren" in boards.get(request_for(desk), site, 0.0)  # another role renders its own


def test_each_screen_gets_its_own_csrf_token_in_the_shared_render():
    site = SiteFactory(places={PlaceKind.BOOTH: 1})
    nurse_a, nurse_b = (StaffFactory(role=Role.NURSE, sites=[site]) for _ in range(2))
    actions.check_in(
        site=site,
        participant=participant(site),
        intake=intake(),
        by=nurse_a,
        place=site.places.get(),
    )
    boards = views.SharedBoards()
    a, b = request_for(nurse_a), request_for(nurse_b)
    html_a, html_b = boards.get(a, site, 0.0), boards.get(b, site, 0.0)
    assert views.CSRF_PLACEHOLDER not in html_a + html_b
    token_a = set(re.findall(r'name="csrfmiddlewaretoken" value="(\w{64})"', html_a))
    token_b = set(re.findall(r'name="csrfmiddlewaretoken" value="(\w{64})"', html_b))
    assert len(token_a) == len(token_b) == 1 and token_a != token_b
    # Each is a valid token for its own session (the masked form of that session's secret).
    assert _unmask_cipher_token(token_a.pop()) == a.META["CSRF_COOKIE"]


def test_an_alarm_change_sends_only_its_tile_marked_to_replace_the_old_one():
    from vigil.monitoring import actions as alarm_actions
    from vigil.monitoring.rules import Condition

    site = SiteFactory(places={PlaceKind.BOOTH: 3})
    nurse = StaffFactory(role=Role.NURSE, sites=[site])
    for label in ("B1", "B2"):
        actions.check_in(
            site=site,
            participant=participant(site),
            intake=intake(),
            by=nurse,
            place=site.places.get(label=label),
        )
    b1 = site.places.get(label="B1")
    alarm_actions.raise_alarm(place=b1, kind=Condition.SPO2_CRITICAL, at=clock.now())
    html = views.SharedBoards().tiles(request_for(nurse), site, frozenset({b1.pk}), 0.0)
    assert html.count("<article") == 1
    assert 'id="tile-B1"' in html and 'hx-swap-oob="true"' in html
    assert 'data-colour="high"' in html
    assert views.CSRF_PLACEHOLDER not in html and "csrfmiddlewaretoken" in html
    # The whole board carries no out-of-band marks (it replaces the board as it is).
    assert "hx-swap-oob" not in views.SharedBoards().get(request_for(nurse), site, 0.0)


def test_a_tile_sent_alone_is_the_same_tile_as_on_the_whole_board():
    """Tiles re-sent after an alarm come from a partial board (their places only, the first
    waiting visit and the free aftercare seats); each must match its tile on the whole board."""
    from vigil.monitoring import actions as alarm_actions
    from vigil.monitoring.rules import Condition

    site = SiteFactory(places={PlaceKind.BOOTH: 3, PlaceKind.AFTERCARE: 3})
    nurse = StaffFactory(role=Role.NURSE, sites=[site])

    def arrive(place=None):
        return actions.check_in(
            site=site, participant=participant(site), intake=intake(), by=nurse, place=place
        )

    b1, b2 = site.places.get(label="B1"), site.places.get(label="B2")
    arrive(b1)
    in_aftercare = arrive(b2)
    seats = list(site.places.filter(kind=PlaceKind.AFTERCARE).order_by("position", "label"))
    actions.move_to_aftercare(visit=in_aftercare, seat=seats[1], by=nurse)
    arrive(b2)
    first_waiting = arrive()  # waits (B3 is free: its tile offers the next waiting person)
    arrive()
    alarm_actions.raise_alarm(place=b1, kind=Condition.SPO2_CRITICAL, at=clock.now())
    seats[2].in_service = False
    seats[2].save()

    request = request_for(nurse)
    whole = views.SharedBoards().get(request, site, 0.0)
    for place in site.places.all():
        alone = views.SharedBoards().tiles(request, site, frozenset({place.pk}), 0.0)
        assert alone.count("<article") == 1, place.label
        assert alone.count(' hx-swap-oob="true"') == 1
        start = whole.rindex("<article", 0, whole.index(f'id="tile-{place.label}"'))
        end = whole.index("</article>", start) + len("</article>")
        assert _same_markup(alone.replace(' hx-swap-oob="true"', ""), whole[start:end]), place.label
    # Free aftercare seats offered on a booth's tile: the free, in-service one only.
    tile = views.SharedBoards().tiles(request, site, frozenset({b1.pk}), 0.0)
    assert f">{seats[0].label}</option>" in tile
    assert f">{seats[1].label}</option>" not in tile and f">{seats[2].label}</option>" not in tile
    b3 = site.places.get(label="B3")
    tile = views.SharedBoards().tiles(request, site, frozenset({b3.pk}), 0.0)
    assert first_waiting.participant.alias in tile


def _same_markup(a: str, b: str) -> bool:
    def squash(html: str) -> str:
        html = re.sub(r'value="\w{64}"', 'value="TOKEN"', html)  # each render masks anew
        return re.sub(r"\s+", " ", html).strip()

    return squash(a) == squash(b)
