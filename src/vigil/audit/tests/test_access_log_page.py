"""Managers see who opened a participant's record; the page is itself recorded."""

import pytest
from django.urls import reverse

from vigil.accounts.roles import Role
from vigil.audit.models import AuditEntry
from vigil.testing import SiteFactory, StaffFactory, participant

pytestmark = [pytest.mark.django_db, pytest.mark.db_any]


def audit_args(site, staff) -> dict:
    """URL arguments for the audit rows of the URL × role table (accounts/tests/
    test_url_roles.py)."""
    person = participant(site, alias="Logged")
    return {"audit:participant": ({"pk": person.pk}, {})}


@pytest.fixture
def world():
    site = SiteFactory()
    staff = {role: StaffFactory(role=role, sites=[site]) for role in Role}
    person = participant(site, alias="Kestrel")
    return site, staff, person


def test_the_manager_sees_who_opened_the_record(client, world):
    site, staff, person = world
    nurse, manager = staff[Role.NURSE], staff[Role.SITE_MANAGER]
    client.force_login(nurse)
    client.get(reverse("participants:detail", args=[person.pk]))
    client.force_login(manager)
    page = client.get(reverse("participants:detail", args=[person.pk]))
    assert reverse("audit:participant", args=[person.pk]) in page.content.decode()
    response = client.get(reverse("audit:participant", args=[person.pk]))
    assert response.status_code == 200
    assert "no-store" in response["Cache-Control"]
    text = response.content.decode()
    assert nurse.username in text and "opened the participant&#x27;s page" in text
    assert "registered the participant" in text
    opened = AuditEntry.objects.filter(action="participant.audit_open").get()
    assert (opened.actor_id, opened.participant_id) == (manager.pk, person.pk)


def test_only_openings_can_be_shown(client, world):
    site, staff, person = world
    client.force_login(staff[Role.SITE_MANAGER])
    text = client.get(
        reverse("audit:participant", args=[person.pk]), {"only": "openings"}
    ).content.decode()
    assert "registered the participant" not in text
    assert "opened this access log" in text


def test_other_roles_are_refused(client, world):
    site, staff, person = world
    for role in (
        Role.FRONT_DESK,
        Role.NURSE,
        Role.CASE_MANAGER,
        Role.EVALUATOR,
        Role.ADMINISTRATOR,
    ):
        client.force_login(staff[role])
        assert client.get(reverse("audit:participant", args=[person.pk])).status_code == 403
    assert not AuditEntry.objects.filter(action="participant.audit_open").exists()


def test_a_manager_of_another_jurisdiction_gets_404(client, world):
    site, staff, person = world
    stranger = StaffFactory(
        role=Role.SITE_MANAGER, sites=[SiteFactory(jurisdiction__name="Elsewhere")]
    )
    client.force_login(stranger)
    assert client.get(reverse("audit:participant", args=[person.pk])).status_code == 404


def test_entries_of_a_merged_record_are_shown_with_the_survivor(client, world):
    from vigil.participants import actions as registry

    site, staff, person = world
    other = participant(site, alias="Duplicate")
    client.force_login(staff[Role.NURSE])
    client.get(reverse("participants:detail", args=[other.pk]))
    registry.merge(survivor=person, merged=other, by=staff[Role.SITE_MANAGER])
    client.force_login(staff[Role.SITE_MANAGER])
    text = client.get(reverse("audit:participant", args=[person.pk])).content.decode()
    assert text.count("opened the participant&#x27;s page") == 1
    assert "merged a duplicate record into this one" in text
