"""The per-second `vitals` event: every occupied place's latest figures and trend from the
engine's memory, without a whole board."""

import asyncio
import json
from datetime import timedelta

import pytest
from asgiref.sync import sync_to_async

from vigil.accounts.roles import Role
from vigil.floor import actions as floor
from vigil.floor import views
from vigil.floor.board import live_vitals
from vigil.lib import clock
from vigil.monitoring import actions
from vigil.monitoring.engine import set_engine
from vigil.monitoring.models import Reading
from vigil.monitoring.tests.test_engine import run_engine
from vigil.sites.models import PlaceKind
from vigil.testing import SiteFactory, StaffFactory, intake, participant

pytestmark = pytest.mark.django_db(transaction=True)


def test_occupied_places_get_their_vitals_and_the_rest_are_said_to_have_none():
    site = SiteFactory(places={PlaceKind.BOOTH: 3})
    nurse = StaffFactory(role=Role.NURSE, sites=[site])
    b1, b2 = site.places.get(label="B1"), site.places.get(label="B2")
    device, _ = actions.add_device(device_id="00-09-fb-ff-ff-9b-42-b3", place=b1)
    for booth in (b1, b2):  # B3 stays free
        floor.check_in(
            site=site, participant=participant(site), intake=intake(), by=nurse, place=booth
        )
    now = clock.now()
    for n, (spo2, resp) in enumerate(((97, 14), (93, 11), (88.4, 8))):
        Reading.objects.create(
            device=device,
            place=b1,
            received_at=now - timedelta(seconds=3 - n),
            spo2=spo2,
            pulse=80,
            resp=resp,
        )

    async def scenario(engine):
        set_engine(engine)
        try:
            return await sync_to_async(
                lambda: (live_vitals(site, now), views.SharedVitals().get(site))
            )()
        finally:
            set_engine(None)

    payload, event = asyncio.run(run_engine(scenario))
    assert set(payload) == {"B1", "B2"}  # free places are not sent
    assert payload["B2"] == {"none": True}  # occupied, no monitor: the screen hides old figures
    b1_vitals = payload["B1"]
    assert (b1_vitals["spo2"], b1_vitals["resp"], b1_vitals["pulse"]) == ("88", "8", "80")
    assert b1_vitals["stale"] is False
    assert b1_vitals["spo2_path"].startswith("M") and b1_vitals["spo2_path"].count("L") == 2
    assert json.loads(event) == json.loads(json.dumps(payload))  # the event is that JSON


def test_without_an_engine_every_occupied_place_has_none():
    site = SiteFactory(places={PlaceKind.BOOTH: 1})
    nurse = StaffFactory(role=Role.NURSE, sites=[site])
    floor.check_in(
        site=site,
        participant=participant(site),
        intake=intake(),
        by=nurse,
        place=site.places.get(),
    )
    assert live_vitals(site, clock.now()) == {"B1": {"none": True}}
