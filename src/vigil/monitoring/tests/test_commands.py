import json

import pytest
from django.core.management import CommandError, call_command

from vigil.monitoring import actions
from vigil.monitoring.models import Device
from vigil.monitoring.rules import Condition
from vigil.sites.models import PlaceKind
from vigil.testing import SiteFactory

pytestmark = pytest.mark.django_db


def test_devices_add_bind_and_list(capsys):
    SiteFactory(name="Seattle CHEL", places={PlaceKind.BOOTH: 3})
    call_command(
        "devices",
        "add",
        "--booth",
        "Seattle CHEL/B3",
        "--device-id",
        "00-09-fb-FF-FF-9b-42-b3",
        "--token",
    )
    out = capsys.readouterr().out
    assert (
        "0009FBFFFF9B42B3 bound to Seattle CHEL/B3" in out and "Bridge token (shown once): " in out
    )
    device = Device.objects.get()
    assert device.token_hash and device.place.label == "B3"
    actions.note_unknown_device("ABCDEF", device.created_at)
    call_command("devices", "list", "--unbound")
    assert "ABCDEF\tmonitor\tUNBOUND" in capsys.readouterr().out
    call_command("devices", "bind", "--device-id", "ab-cd-ef", "--place", "Seattle CHEL/B1")
    assert Device.objects.get(device_id="ABCDEF").place.label == "B1"


def test_devices_errors_are_clear():
    SiteFactory(name="Seattle CHEL", places={PlaceKind.BOOTH: 1})
    with pytest.raises(CommandError, match="SITE/LABEL"):
        call_command("devices", "add", "--booth", "B3", "--device-id", "X1")
    with pytest.raises(CommandError, match="No place 'B9'"):
        call_command("devices", "add", "--booth", "Seattle CHEL/B9", "--device-id", "X1")
    call_command("devices", "add", "--booth", "Seattle CHEL/B1", "--device-id", "X1")
    SiteFactory(name="Other", places={PlaceKind.BOOTH: 1})
    with pytest.raises(CommandError, match="already bound"):
        call_command("devices", "add", "--booth", "Other/B1", "--device-id", "x-1")


def test_alarms_json_has_the_documented_keys(capsys):
    site = SiteFactory(name="Seattle CHEL", places={PlaceKind.BOOTH: 1})
    place = site.places.get()
    from vigil.lib import clock

    actions.raise_alarm(place=place, kind=Condition.NO_BREATH, at=clock.now())
    call_command("alarms", "--json")
    rows = json.loads(capsys.readouterr().out)
    assert set(rows[0]) == {
        "id",
        "site",
        "place",
        "kind",
        "priority",
        "state",
        "raised_at",
        "acknowledged_at",
        "acknowledged_by",
        "claimed_at",
        "claimed_by",
        "escalation_level",
    }
    assert (rows[0]["site"], rows[0]["place"], rows[0]["priority"], rows[0]["state"]) == (
        "Seattle CHEL",
        "B1",
        "high",
        "active",
    )
    assert rows[0]["raised_at"].endswith("+00:00")
