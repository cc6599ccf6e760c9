"""Who may open the engagement pages beyond the URL × role table: staff of another site, the
front desk's view without clinical detail, and the links each role is shown."""

import pytest
from django.urls import reverse

from vigil.accounts.roles import Role
from vigil.care import engagement_actions as care
from vigil.care.models import CheckMethod, FloorNotice, ReferralKind, ReferralWhere
from vigil.floor import actions as floor
from vigil.testing import SiteFactory, StaffFactory, intake, participant

pytestmark = pytest.mark.django_db


def engagement_args(site, staff) -> dict:
    """URL arguments and POST data for the engagement rows of the URL × role table
    (accounts/tests/test_url_roles.py): a person with a visit, a referral, a pending lab
    sample, and a floor notice to take down."""
    nurse = staff[Role.NURSE]
    person = participant(site, alias="Engaged")
    visit = floor.check_in(site=site, participant=person, intake=intake(), by=nurse)
    referral = care.make_referral(
        site=site,
        participant=person,
        by=nurse,
        kind=ReferralKind.DETOX,
        where=ReferralWhere.OFF_SITE,
    )
    pending = care.record_drug_check(
        site=site,
        by=nurse,
        sample_code="LAB-1",
        method=CheckMethod.LAB,
        expected=["heroin"],
        result_pending=True,
    )
    alert = care.record_drug_check(
        site=site,
        by=nurse,
        sample_code="S-1",
        method=CheckMethod.TEST_STRIP,
        expected=["heroin"],
        found=["fentanyl"],
    )
    notice = FloorNotice.objects.get(drug_check=alert)
    site_only = {"site_id": site.pk}
    return {
        "care:services": (site_only, {}),
        "care:drug-checks": (site_only, {}),
        "care:drug-check-new": (site_only, {}),
        "care:drug-check-result": ({"site_id": site.pk, "pk": pending.pk}, {}),
        "care:notice-dismiss": ({"site_id": site.pk, "pk": notice.pk}, {}),
        "care:settings": (site_only, {}),
        "care:referrals": ({"pk": person.pk}, {}),
        "care:referral-new": ({"pk": person.pk}, {}),
        "care:direct-to-treatment": (
            {"pk": person.pk},
            {"site": site.pk, "visit": visit.pk, "kind": "detox", "where": "partner_on_site"},
        ),
        "care:timeline": ({"pk": person.pk}, {}),
        "care:referral-detail": ({"pk": referral.pk}, {}),
        "care:referral-advance": ({"pk": referral.pk}, {"to": "accepted"}),
        "care:follow-ups": ({}, {}),
    }


@pytest.fixture
def world():
    site = SiteFactory()
    staff = {role: StaffFactory(role=role, sites=[site]) for role in Role}
    return site, staff, engagement_args(site, staff)


SITE_PAGES = [
    "care:services",
    "care:drug-checks",
    "care:drug-check-new",
    "care:drug-check-result",
    "care:settings",
]
PERSON_PAGES = ["care:referrals", "care:referral-new", "care:timeline", "care:referral-detail"]


def test_staff_of_another_site_get_404_for_this_sites_pages(client, world):
    site, staff, args = world
    elsewhere = SiteFactory(jurisdiction__name="Elsewhere")
    for role in (Role.NURSE, Role.SITE_MANAGER, Role.CASE_MANAGER):
        client.force_login(StaffFactory(role=role, sites=[elsewhere]))
        for name in SITE_PAGES + PERSON_PAGES:
            kwargs, _ = args[name]
            status = client.get(reverse(name, kwargs=kwargs)).status_code
            # Role-refused pages say 403 before the site is looked up; the rest never say
            # whether the site or the person exists.
            assert status in (403, 404), (role, name, status)
            if name != "care:settings" or role == Role.SITE_MANAGER:
                assert status == 404, (role, name, status)


def test_a_neighbouring_sites_case_manager_sees_no_referral_of_this_site(client, world):
    site, staff, args = world
    neighbour = SiteFactory()  # same jurisdiction: the person is in their registry too
    client.force_login(StaffFactory(role=Role.CASE_MANAGER, sites=[neighbour]))
    page = client.get(reverse("care:referrals", kwargs=args["care:referrals"][0]))
    assert page.status_code == 200
    assert b'data-kind="detox"' not in page.content and b"No referrals yet" in page.content
    detail = client.get(reverse("care:referral-detail", kwargs=args["care:referral-detail"][0]))
    assert detail.status_code == 404
    follow_ups = client.get(reverse("care:follow-ups"))
    assert b"Engaged" not in follow_ups.content


def test_the_front_desk_is_not_offered_referrals(client, world):
    site, staff, args = world
    client.force_login(staff[Role.FRONT_DESK])
    person_pk = args["care:timeline"][0]["pk"]
    page = client.get(reverse("participants:detail", args=[person_pk])).content.decode()
    assert reverse("care:timeline", args=[person_pk]) in page
    assert reverse("care:referrals", args=[person_pk]) not in page
    quick_add = client.get(reverse("care:services", args=[site.pk]), {"participant": person_pk})
    assert b"Went directly from the room into treatment" not in quick_add.content
    client.force_login(staff[Role.NURSE])
    page = client.get(reverse("participants:detail", args=[person_pk])).content.decode()
    assert reverse("care:referrals", args=[person_pk]) in page


def test_only_a_site_manager_is_shown_the_care_lists(client, world):
    site, staff, _ = world
    url = reverse("care:settings", args=[site.pk])
    for role in (Role.FRONT_DESK, Role.NURSE, Role.CASE_MANAGER, Role.SITE_MANAGER):
        client.force_login(staff[role])
        page = client.get(reverse("care:drug-checks", args=[site.pk])).content.decode()
        assert (url in page) == (role == Role.SITE_MANAGER), role
