import pytest
from django.core.management import CommandError, call_command

from vigil.sites.actions import SiteError, parse_labels
from vigil.sites.models import Site


def test_labels_are_read_from_ranges():
    assert parse_labels("B1-B3,W1, A9") == ["B1", "B2", "B3", "W1", "A9"]
    assert parse_labels("B8-10") == ["B8", "B9", "B10"]
    for bad in ("B3-B1", "1-3", "B1-C3"):
        with pytest.raises(SiteError):
            parse_labels(bad)


@pytest.mark.django_db
def test_a_site_is_set_up_from_the_command_line(capsys):
    call_command(
        "site",
        "add",
        "Harbour CHEL",
        "--jurisdiction",
        "Port County",
        "--time-zone",
        "America/New_York",
    )
    call_command(
        "site",
        "places",
        "Harbour CHEL",
        "--booth",
        "B1-B4",
        "--inhalation",
        "S1-S2",
        "--aftercare",
        "A1-A3",
    )
    call_command("site", "set", "Harbour CHEL", "--check-interval", "3", "--occupancy-limit", "30")
    site = Site.objects.get(name="Harbour CHEL")
    assert site.jurisdiction.name == "Port County"
    assert (site.check_interval_place_minutes, site.occupancy_limit_minutes) == (3, 30)
    assert site.check_interval_aftercare_minutes == 15  # default kept
    assert [p.label for p in site.places.all()] == [
        "B1",
        "B2",
        "B3",
        "B4",
        "S1",
        "S2",
        "A1",
        "A2",
        "A3",
    ]
    call_command("site", "list")
    assert "Harbour CHEL" in capsys.readouterr().out


@pytest.mark.django_db
def test_bad_input_is_refused_clearly_and_changes_nothing():
    call_command("site", "add", "Harbour CHEL", "--jurisdiction", "Port County")
    with pytest.raises(CommandError, match="not a known time zone"):
        call_command(
            "site", "add", "Other", "--jurisdiction", "Port County", "--time-zone", "Mars/Base"
        )
    call_command("site", "places", "Harbour CHEL", "--booth", "B1-B2")
    with pytest.raises(CommandError, match="already has B2"):
        call_command("site", "places", "Harbour CHEL", "--booth", "B2-B3")
    with pytest.raises(CommandError, match="No site named"):
        call_command("site", "places", "Nowhere", "--booth", "B1")
    with pytest.raises(CommandError, match="at least one minute"):
        call_command("site", "set", "Harbour CHEL", "--check-interval", "0")
    assert Site.objects.count() == 1
    assert Site.objects.get().places.count() == 2
    assert Site.objects.get().check_interval_place_minutes == 5
