"""Referrals: made, moved along their path with dates, the one-tap "directly into treatment",
and the case manager's follow-up list."""

from datetime import timedelta

import pytest
from django.urls import reverse

from vigil.accounts.roles import Role
from vigil.care import engagement_actions as care
from vigil.care.engagement_actions import CareError
from vigil.care.models import Referral, ReferralStatus, ReferralStep
from vigil.floor import actions as floor
from vigil.lib import clock
from vigil.testing import SiteFactory, StaffFactory, intake, participant

pytestmark = pytest.mark.django_db
S = ReferralStatus


@pytest.fixture
def site():
    return SiteFactory()


@pytest.fixture
def manager(site):
    return StaffFactory(role=Role.CASE_MANAGER, sites=[site], first_name="Casey")


@pytest.fixture
def person(site):
    return participant(site, alias="Heron")


def refer(site, person, by, kind="detox", **kw):
    return care.make_referral(
        site=site, participant=person, by=by, kind=kind, where=kw.pop("where", "off_site"), **kw
    )


def test_a_referral_goes_referred_accepted_entered_treatment_with_its_dates(site, person, manager):
    start = clock.now() - timedelta(days=3)
    referral = refer(site, person, manager, partner="Harbour detox", at=start)
    care.advance_referral(
        referral=referral, to=S.ACCEPTED, by=manager, at=start + timedelta(days=1)
    )
    referral.refresh_from_db()
    care.advance_referral(referral=referral, to=S.ENTERED_TREATMENT, by=manager, note="bed 4")
    referral.refresh_from_db()
    assert referral.status == S.ENTERED_TREATMENT
    assert referral.referred_at == start and referral.accepted_at == start + timedelta(days=1)
    assert referral.entered_treatment_at is not None and referral.follow_up_due is None
    assert list(referral.steps.values_list("status", flat=True)) == [
        S.REFERRED,
        S.ACCEPTED,
        S.ENTERED_TREATMENT,
    ]
    assert referral.steps.last().note == "bed 4"


def test_a_referral_made_during_a_visit_is_linked_to_it(site, person, manager):
    visit = floor.check_in(site=site, participant=person, intake=intake(), by=manager)
    assert refer(site, person, manager).visit == visit


def test_attending_straight_away_also_counts_as_accepted(site, person, manager):
    referral = refer(site, person, manager, kind="primary_care")
    referral = care.advance_referral(referral=referral, to=S.ATTENDED, by=manager)
    assert referral.accepted_at == referral.attended_at
    assert referral.follow_up_due is None  # primary care attended: nothing left to follow up


@pytest.mark.parametrize(
    ("to", "at_offset", "message"),
    [
        (S.ENTERED_TREATMENT, None, "cannot become"),  # housing has no treatment to enter
        (S.REFERRED, None, "cannot become"),
        ("bogus", None, "cannot become"),
        (S.ACCEPTED, timedelta(days=-2), "before the referral's last step"),
        (S.ACCEPTED, timedelta(days=2), "in the future"),
    ],
)
def test_wrong_moves_are_refused_and_change_nothing(site, person, manager, to, at_offset, message):
    referral = refer(site, person, manager, kind="housing", at=clock.now() - timedelta(days=1))
    at = clock.now() + at_offset if at_offset else None
    with pytest.raises(CareError, match=message):
        care.advance_referral(referral=referral, to=to, by=manager, at=at)
    referral.refresh_from_db()
    assert referral.status == S.REFERRED and referral.accepted_at is None
    assert referral.steps.count() == 1


def test_two_people_moving_one_referral_at_once_the_second_is_told(site, person, manager):
    referral = refer(site, person, manager)
    stale = Referral.objects.get(pk=referral.pk)
    care.advance_referral(referral=referral, to=S.DECLINED, by=manager)
    with pytest.raises(CareError, match="just moved to “Declined”"):
        care.advance_referral(referral=stale, to=S.ACCEPTED, by=manager)
    assert Referral.objects.get(pk=referral.pk).status == S.DECLINED
    assert ReferralStep.objects.count() == 2


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": "rehab"}, "what the referral is to"),
        ({"where": "moon"}, "where the service is"),
        ({"partner": "x" * 121}, "at most 120"),
        ({"follow_up_due": (clock.now() - timedelta(days=3)).date()}, "before the referral"),
    ],
)
def test_bad_referrals_are_refused_and_change_nothing(site, person, manager, kwargs, message):
    with pytest.raises(CareError, match=message):
        refer(site, person, manager, **kwargs)
    assert not Referral.objects.exists() and not ReferralStep.objects.exists()


def test_someone_of_another_jurisdiction_cannot_be_referred_here(site, manager):
    stranger = participant(SiteFactory(jurisdiction__name="Elsewhere"))
    with pytest.raises(CareError, match="another jurisdiction"):
        refer(site, stranger, manager)


def test_directly_from_the_room_into_treatment_is_one_step(site, person, manager):
    visit = floor.check_in(site=site, participant=person, intake=intake(), by=manager)
    referral = care.direct_to_treatment(
        site=site, participant=person, by=manager, kind="buprenorphine", visit=visit
    )
    assert referral.direct_from_room and referral.status == S.ENTERED_TREATMENT
    assert referral.referred_at == referral.accepted_at == referral.entered_treatment_at
    assert referral.visit == visit
    with pytest.raises(CareError, match="Already recorded"):
        care.direct_to_treatment(site=site, participant=person, by=manager, kind="buprenorphine")
    assert Referral.objects.count() == 1
    with pytest.raises(CareError, match="Choose a treatment"):
        care.direct_to_treatment(site=site, participant=person, by=manager, kind="housing")


def test_the_follow_up_list_puts_overdue_first_and_closed_ones_away(client, site, manager):
    today = clock.now().astimezone(site.tz).date()
    people = {alias: participant(site, alias=alias) for alias in ("Ash", "Birch", "Cedar", "Dun")}
    late = refer(site, people["Ash"], manager, at=clock.now() - timedelta(days=10))
    Referral.objects.filter(pk=late.pk).update(follow_up_due=today - timedelta(days=2))
    refer(site, people["Birch"], manager, kind="housing", follow_up_due=today + timedelta(days=5))
    refer(site, people["Cedar"], manager, kind="methadone", follow_up_due=today)
    done = refer(site, people["Dun"], manager, kind="primary_care", follow_up_due=today)
    care.advance_referral(referral=done, to=S.ATTENDED, by=manager)
    other_nurse = StaffFactory(role=Role.NURSE, sites=[site])
    refer(site, participant(site, alias="Elm"), other_nurse)  # no date
    client.force_login(manager)
    page = client.get(reverse("care:follow-ups")).content.decode()
    order = [page.index(a) for a in ("Ash", "Cedar", "Birch", "Elm")]
    assert order == sorted(order) and "Dun" not in page
    assert "1 overdue" in page and "4 open referrals" in page
    mine = client.get(reverse("care:follow-ups"), {"mine": "1"}).content.decode()
    assert "Elm" not in mine and "Ash" in mine


def test_a_case_manager_records_a_referral_and_its_entry_into_treatment(
    client, site, person, manager
):
    client.force_login(manager)
    new = reverse("care:referral-new", args=[person.pk])
    assert b"Refer Heron" in client.get(new).content
    due = (clock.now().astimezone(site.tz).date() + timedelta(days=2)).isoformat()
    response = client.post(
        new,
        {
            "site": site.pk,
            "kind": "methadone",
            "where": "partner_on_site",
            "partner": "Opioid treatment programme",
            "follow_up_due": due,
        },
    )
    referral = Referral.objects.get()
    assert response["Location"] == reverse("care:referral-detail", args=[referral.pk])
    detail = client.get(response["Location"]).content.decode()
    assert (
        "Referral to Methadone (MOUD)" in detail
        and "for Heron" in detail
        and 'value="accepted"' in detail
    )
    advance = reverse("care:referral-advance", args=[referral.pk])
    assert client.post(advance, {"to": "accepted", "follow_up_due": due}).status_code == 302
    assert client.post(advance, {"to": "entered_treatment"}).status_code == 302
    referral.refresh_from_db()
    assert referral.status == S.ENTERED_TREATMENT and referral.accepted_at
    page = client.get(reverse("care:referrals", args=[person.pk])).content.decode()
    assert 'data-status="entered_treatment"' in page


def test_a_typed_time_is_the_sites_local_time(client, site, person, manager):
    referral = refer(site, person, manager, at=clock.now() - timedelta(days=2))
    client.force_login(manager)
    local = (clock.now() - timedelta(days=1)).astimezone(site.tz).replace(second=0, microsecond=0)
    client.post(
        reverse("care:referral-advance", args=[referral.pk]),
        {"to": "accepted", "at": local.strftime("%Y-%m-%dT%H:%M")},
    )
    referral.refresh_from_db()
    assert referral.accepted_at == local


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({}, "Choose the next step."),
        ({"to": "entered_treatment"}, "Select a valid choice"),
        ({"to": "accepted", "at": "yesterday-ish"}, "Enter a date and time."),
        ({"to": "accepted", "follow_up_due": "2001-01-01"}, "The follow-up date is in the past."),
    ],
)
def test_the_advance_form_explains_and_changes_nothing(
    client, site, person, manager, data, message
):
    referral = refer(site, person, manager, kind="housing")
    client.force_login(manager)
    response = client.post(reverse("care:referral-advance", args=[referral.pk]), data)
    assert response.status_code == 400
    assert message in response.content.decode()
    referral.refresh_from_db()
    assert referral.status == S.REFERRED and referral.steps.count() == 1


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"where": "off_site"}, "Choose what the referral is to."),
        ({"kind": "detox"}, "Choose where the service is."),
        ({"kind": "detox", "where": "off_site", "follow_up_due": "2001-01-01"}, "in the past"),
        ({"kind": "detox", "where": "off_site", "follow_up_due": "soon"}, "Enter a date."),
    ],
)
def test_the_referral_form_explains_and_records_nothing(
    client, site, person, manager, data, message
):
    client.force_login(manager)
    response = client.post(
        reverse("care:referral-new", args=[person.pk]), {"site": site.pk, **data}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not Referral.objects.exists()


def test_the_one_tap_from_the_quick_add_page(client, site, person, manager):
    visit = floor.check_in(site=site, participant=person, intake=intake(), by=manager)
    client.force_login(manager)
    board = reverse("floor:board", args=[site.pk])
    page = client.get(reverse("care:services", args=[site.pk]), {"visit": visit.pk, "next": board})
    assert b"Went directly from the room into treatment" in page.content
    response = client.post(
        reverse("care:direct-to-treatment", args=[person.pk]),
        {
            "site": site.pk,
            "visit": visit.pk,
            "kind": "detox",
            "where": "partner_on_site",
            "next": board,
        },
    )
    assert response["Location"] == board
    referral = Referral.objects.get()
    assert referral.direct_from_room and referral.visit == visit and referral.kind == "detox"
    bad = client.post(
        reverse("care:direct-to-treatment", args=[person.pk]),
        {"site": site.pk, "kind": "housing", "next": board},
    )
    assert bad["Location"] == board and Referral.objects.count() == 1


def test_a_redirect_elsewhere_is_not_followed(client, site, person, manager):
    client.force_login(manager)
    response = client.post(
        reverse("care:direct-to-treatment", args=[person.pk]),
        {"site": site.pk, "kind": "detox", "where": "in_site", "next": "https://evil.example/"},
    )
    assert response["Location"] == reverse("care:referrals", args=[person.pk])


def test_a_step_typed_in_the_same_minute_as_the_last_one_comes_after_it(site, person, manager):
    referral = refer(site, person, manager)
    same_minute = referral.referred_at.replace(second=0, microsecond=0)
    accepted = care.advance_referral(referral=referral, to=S.ACCEPTED, by=manager, at=same_minute)
    assert accepted.accepted_at == referral.referred_at
    assert list(accepted.steps.values_list("status", flat=True)) == [S.REFERRED, S.ACCEPTED]


def test_the_form_left_at_now_records_now(client, site, person, manager):
    referral = refer(site, person, manager)
    client.force_login(manager)
    page = client.get(reverse("care:referral-detail", args=[referral.pk]))
    shown = page.context["form"].initial["at"]
    response = client.post(
        reverse("care:referral-advance", args=[referral.pk]), {"to": "accepted", "at": shown}
    )
    assert response.status_code == 302
    referral.refresh_from_db()
    assert referral.accepted_at >= referral.referred_at
