"""A site's care lists: what the quick-add offers and which drug check results warn the floor."""

import pytest
from django.urls import reverse

from vigil.accounts.roles import Role
from vigil.care import engagement_actions as care
from vigil.care.engagement_actions import CareError
from vigil.care.lists import DEFAULT_SERVICES, services_for, supplies_for
from vigil.care.models import CareSettings
from vigil.testing import SiteFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def site():
    return SiteFactory()


@pytest.fixture
def manager(client, site):
    member = StaffFactory(role=Role.SITE_MANAGER, sites=[site])
    client.force_login(member)
    return member


def test_the_form_starts_from_the_default_lists(client, site, manager):
    page = client.get(reverse("care:settings", args=[site.pk])).content.decode()
    assert "wound_care: Wound care" in page and "syringe_1ml: Syringe 1 ml" in page
    assert "fentanyl" in page


def test_a_manager_changes_the_lists_and_the_quick_add_follows(client, site, manager):
    response = client.post(
        reverse("care:settings", args=[site.pk]),
        {
            "services": "wound_care: Wound care\nfoot_care: Foot care\n",
            "supplies": "pipe: Pipe\nsyringe_1ml: Syringe 1 ml\n\n",
            "potent": "Fentanyl\nbromazolam",
            "notify": "",
        },
    )
    assert response.status_code == 302
    site.refresh_from_db()
    assert services_for(site) == [("wound_care", "Wound care"), ("foot_care", "Foot care")]
    assert supplies_for(site) == [("pipe", "Pipe"), ("syringe_1ml", "Syringe 1 ml")]
    assert site.care_settings.potent_substances == ["fentanyl", "bromazolam"]
    assert site.care_settings.notify_unexpected is False
    quick_add = client.get(reverse("care:services", args=[site.pk])).content.decode()
    assert "Foot care" in quick_add and "Cooker" not in quick_add


@pytest.mark.parametrize(
    ("services", "supplies", "message"),
    [
        ("wound care", "pipe: Pipe", "write “code: Label”"),
        ("Wound Care: Wound care", "pipe: Pipe", "a code is lower-case letters"),
        ("a: A\na: Again", "pipe: Pipe", "listed twice"),
        ("a: A", "syringes: Syringes", "kept for syringes returned"),
        ("", "pipe: Pipe", "This field is required."),
        ("a:   ", "pipe: Pipe", "needs a label"),
    ],
)
def test_bad_lists_are_explained_and_nothing_changes(
    client, site, manager, services, supplies, message
):
    before = services_for(site)
    response = client.post(
        reverse("care:settings", args=[site.pk]),
        {"services": services, "supplies": supplies, "potent": "", "notify": "on"},
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not CareSettings.objects.exists()
    site.refresh_from_db()
    assert services_for(site) == before == [(c, str(label)) for c, label in DEFAULT_SERVICES]


def test_an_empty_list_is_refused_by_the_action_too(site, manager):
    with pytest.raises(CareError, match="at least one entry"):
        care.save_care_settings(
            site=site, services=[], supplies=[("pipe", "Pipe")], potent=[], notify=True, by=manager
        )
    assert not CareSettings.objects.exists()


def test_a_code_taken_off_the_list_still_reads_as_words(site, manager):
    from vigil.care.engagement_actions import label_for

    assert label_for("hep_c_testing", services_for(site)) == "Hep c testing"
