"""Every API operation × every kind of caller, with the expected status written by hand.

The API takes bearer tokens only (a browser session gets 401, see accounts/tests/
test_url_roles.py). A device token may post readings and nothing else; a staff token acts as its
person, for the floor roles only: the evaluator and the administrator get no floor data through
the API, whatever their token. An operation missing from TABLE fails
`test_every_operation_is_in_the_table`.
"""

import pytest

from vigil.accounts.models import ApiToken
from vigil.accounts.roles import Role
from vigil.api.api import api
from vigil.floor import actions as floor
from vigil.monitoring import actions
from vigil.monitoring.models import Alarm
from vigil.monitoring.rules import Condition
from vigil.sites.models import PlaceKind
from vigil.testing import SiteFactory, StaffFactory, intake, participant

pytestmark = pytest.mark.django_db

CALLERS = ["none", "bad", "revoked", "device", "front_desk", "nurse", "case_manager",
           "site_manager", "evaluator", "administrator"]  # fmt: skip

#                                           none bad  rev  dev  FD   NU   CM   SM   EV   AD
TABLE = {
    "POST /api/ingest":                      [401, 401, 401, 200, 401, 401, 401, 401, 401, 401],
    "GET /api/sites/{site_id}/places":       [401, 401, 401, 401, 200, 200, 200, 200, 401, 401],
    "GET /api/sites/{site_id}/alarms":       [401, 401, 401, 401, 200, 200, 200, 200, 401, 401],
    "POST /api/alarms/{alarm_id}/acknowledge": [401, 401, 401, 401, 200, 200, 200, 200, 401, 401],
    "POST /api/alarms/{alarm_id}/claim":     [401, 401, 401, 401, 200, 200, 200, 200, 401, 401],
    # The schema and its documentation page are public: they describe, they hold no data.
    "GET /api/openapi.json":                 [200] * 10,
    "GET /api/docs":                         [200] * 10,
}  # fmt: skip


def operations() -> set[str]:
    schema = api.get_openapi_schema()
    found = {
        f"{method.upper()} {path}" for path, item in schema["paths"].items() for method in item
    }
    return found | {"GET /api/openapi.json", "GET /api/docs"}


def test_every_operation_is_in_the_table():
    assert operations() == set(TABLE)


@pytest.fixture
def floor_world():
    site = SiteFactory(places={PlaceKind.BOOTH: 2, PlaceKind.WASHROOM: 1})
    booth = site.places.get(label="B1")
    people = {role: StaffFactory(role=role, sites=[site]) for role in Role}
    floor.check_in(
        site=site,
        participant=participant(site, alias="Wren"),
        intake=intake(),
        by=people[Role.NURSE],
        place=booth,
    )
    tokens = {role.value: ApiToken.issue(person, "roles")[1] for role, person in people.items()}
    revoked, tokens["revoked"] = ApiToken.issue(people[Role.NURSE], "old")
    revoked.revoked_at = revoked.created_at
    revoked.save()
    tokens["bad"] = "vgl_not-a-token"
    _, tokens["device"] = actions.add_device(
        device_id="bridge-w1", place=site.places.get(label="W1"), with_token=True
    )
    return site, booth, tokens


@pytest.mark.parametrize("operation", sorted(TABLE))
def test_operation_answers_each_caller_as_the_table_says(client, floor_world, operation):
    site, booth, tokens = floor_world
    method, path = operation.split(" ", 1)
    seen = []
    for caller in CALLERS:
        # A fresh alarm for each caller, so an acknowledgement by the previous one does not
        # turn this one's answer into 409.
        Alarm.objects.filter(place=booth).delete()
        alarm, _ = actions.raise_alarm(
            place=booth, kind=Condition.SPO2_CRITICAL, at=booth.occupancies.get().started_at
        )
        url = path.format(site_id=site.pk, alarm_id=alarm.pk)
        headers = {} if caller == "none" else {"HTTP_AUTHORIZATION": f"Bearer {tokens[caller]}"}
        if method == "POST":
            response = client.post(url, {"spo2": 97}, content_type="application/json", **headers)
        else:
            response = client.get(url, **headers)
        seen.append(response.status_code)
        if response.status_code == 200 and response["Content-Type"].startswith("application/json"):
            assert "Wren" not in response.content.decode(), (operation, caller)
    assert dict(zip(CALLERS, seen, strict=True)) == dict(
        zip(CALLERS, TABLE[operation], strict=True)
    )


def test_a_token_is_refused_at_another_sites_floor_and_alarms(client, floor_world):
    site, booth, tokens = floor_world
    other = SiteFactory(places={PlaceKind.BOOTH: 1})
    alarm, _ = actions.raise_alarm(
        place=other.places.get(),
        kind=Condition.SPO2_CRITICAL,
        at=booth.occupancies.get().started_at,
    )
    nurse = {"HTTP_AUTHORIZATION": f"Bearer {tokens['nurse']}"}
    assert client.get(f"/api/sites/{other.pk}/places", **nurse).status_code == 404
    assert client.get(f"/api/sites/{other.pk}/alarms", **nurse).status_code == 404
    assert client.post(f"/api/alarms/{alarm.pk}/claim", **nurse).status_code == 404
    alarm.refresh_from_db()
    assert alarm.claimed_at is None


def test_a_session_cookie_is_not_a_token(client, floor_world):
    """A signed-in browser cannot use the API, so a cross-site form cannot ride its cookie."""
    site, booth, tokens = floor_world
    from vigil.accounts.models import Staff

    client.force_login(Staff.objects.get(role=Role.NURSE))
    assert client.get(f"/api/sites/{site.pk}/alarms").status_code == 401
