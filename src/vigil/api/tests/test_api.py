import pytest

from vigil.accounts.models import ApiToken
from vigil.accounts.roles import Role
from vigil.floor import actions as floor
from vigil.monitoring import actions
from vigil.monitoring.models import Reading
from vigil.monitoring.rules import Condition
from vigil.sites.models import PlaceKind
from vigil.testing import SiteFactory, StaffFactory, intake, participant

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    site = SiteFactory(places={PlaceKind.BOOTH: 2, PlaceKind.WASHROOM: 1})
    nurse = StaffFactory(role=Role.NURSE, sites=[site])
    floor.check_in(
        site=site,
        participant=participant(site, alias="Wren"),
        intake=intake(),
        by=nurse,
        place=site.places.get(label="B1"),
    )
    _, staff_token = ApiToken.issue(nurse, "nurse-station")
    _, device_token = actions.add_device(
        device_id="bridge-w1", place=site.places.get(label="W1"), kind="motion", with_token=True
    )
    return site, nurse, staff_token, device_token


def bearer(token):
    return {"HTTP_AUTHORIZATION": f"Bearer {token}"}


def test_a_bridge_posts_readings_with_its_token(client, world):
    site, nurse, staff_token, device_token = world
    response = client.post(
        "/api/ingest",
        {"spo2": 96, "pulse": 80, "motion": True},
        content_type="application/json",
        **bearer(device_token),
    )
    assert response.status_code == 200, response.content
    assert response.json()["place"] == "W1"
    reading = Reading.objects.get()
    assert (reading.spo2, reading.motion, reading.place.label) == (96, True, "W1")


def test_ingest_refuses_bad_tokens_and_unusable_readings(client, world):
    site, nurse, staff_token, device_token = world
    assert (
        client.post(
            "/api/ingest", {"spo2": 96}, content_type="application/json", **bearer("nope")
        ).status_code
        == 401
    )
    assert (
        client.post(
            "/api/ingest", {"spo2": 96}, content_type="application/json", **bearer(staff_token)
        ).status_code
        == 401
    )
    sentinel = client.post(
        "/api/ingest", {"spo2": 8388607}, content_type="application/json", **bearer(device_token)
    )
    assert sentinel.status_code == 422 and "no usable value" in sentinel.json()["detail"]
    wrong_type = client.post(
        "/api/ingest", {"spo2": "high"}, content_type="application/json", **bearer(device_token)
    )
    assert wrong_type.status_code == 422
    assert not Reading.objects.exists()


def test_places_and_alarms_for_an_integration(client, world):
    site, nurse, staff_token, device_token = world
    alarm, _ = actions.raise_alarm(
        place=site.places.get(label="B1"),
        kind=Condition.SPO2_CRITICAL,
        at=site.places.get(label="B1").occupancies.get().started_at,
    )
    places = client.get(f"/api/sites/{site.pk}/places", **bearer(staff_token)).json()
    b1 = next(p for p in places if p["place"] == "B1")
    assert b1["occupied"] and b1["alarm_priority"] == "high"
    assert "Wren" not in str(places)  # integrations see places, never participants
    alarms = client.get(f"/api/sites/{site.pk}/alarms", **bearer(staff_token)).json()
    assert [(a["place"], a["kind"], a["priority"], a["state"]) for a in alarms] == [
        ("B1", "spo2_critical", "high", "active")
    ]
    claimed = client.post(f"/api/alarms/{alarm.pk}/claim", **bearer(staff_token)).json()
    assert (claimed["state"], claimed["claimed_by"]) == ("claimed", nurse.username)
    again = client.post(f"/api/alarms/{alarm.pk}/claim", **bearer(staff_token))
    assert again.status_code == 409 and "already responding" in again.json()["detail"]


def test_a_token_sees_only_its_own_sites(client, world):
    site, nurse, staff_token, device_token = world
    other = SiteFactory()
    assert client.get(f"/api/sites/{other.pk}/alarms", **bearer(staff_token)).status_code == 404
    evaluator = StaffFactory(role=Role.EVALUATOR, sites=[site])
    _, evaluator_token = ApiToken.issue(evaluator, "report")
    assert client.get(f"/api/sites/{site.pk}/alarms", **bearer(evaluator_token)).status_code == 401


def test_schema_is_published(client):
    schema = client.get("/api/openapi.json").json()
    assert {"/api/ingest", "/api/sites/{site_id}/alarms", "/api/alarms/{alarm_id}/claim"} <= set(
        schema["paths"]
    )
