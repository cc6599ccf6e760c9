import io

import pytest
from django.core.management import CommandError, call_command

from vigil.accounts.models import Staff
from vigil.testing import SiteFactory

pytestmark = pytest.mark.django_db


def test_staff_are_added_with_role_and_sites(monkeypatch):
    site = SiteFactory(name="Harbour CHEL")
    monkeypatch.setattr("sys.stdin", io.StringIO("a long enough pass phrase\n"))
    call_command(
        "staff", "add", "noor", "--role", "nurse", "--site", "Harbour CHEL", "--password-stdin"
    )
    noor = Staff.objects.get(username="noor")
    assert noor.role == "nurse" and list(noor.sites.all()) == [site]
    assert noor.check_password("a long enough pass phrase")
    assert not noor.is_superuser


def test_weak_password_or_unknown_site_is_refused(monkeypatch):
    SiteFactory(name="Harbour CHEL")
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    with pytest.raises(CommandError, match="too short"):
        call_command("staff", "add", "noor", "--role", "nurse", "--password-stdin")
    with pytest.raises(CommandError, match="No site named"):
        call_command(
            "staff", "add", "noor", "--role", "nurse", "--site", "Nowhere", "--password-stdin"
        )
    assert not Staff.objects.exists()
