"""Drug checking: samples by code, lab results that come later, and the floor notice for an
unexpected potent substance."""

import pytest
from django.urls import reverse
from hypothesis import given
from hypothesis import strategies as st

from vigil.accounts.roles import Role
from vigil.care import engagement_actions as care
from vigil.care.engagement_actions import CareError
from vigil.care.models import CareSettings, CheckMethod, DrugCheck, FloorNotice
from vigil.floor import actions as floor
from vigil.floor.actions import floor_topic
from vigil.floor.board import build_board
from vigil.lib import clock
from vigil.lib.hub import hub
from vigil.testing import SiteFactory, StaffFactory, intake, participant

NAMES = st.sampled_from(["fentanyl", "heroin", "xylazine", "cocaine", "nitazene", "caffeine"])


@given(st.lists(NAMES), st.lists(NAMES), st.lists(NAMES))
def test_only_potent_substances_nobody_expected_are_unexpected(expected, found, potent):
    result = care.unexpected_potent(expected, found, potent)
    assert set(result) == {s for s in found if s in potent and s not in expected}
    assert all(s not in expected for s in result)


def test_substance_names_are_one_word_whatever_the_typing():
    assert care.normalise_substances(
        [" Fentanyl", "fentanyl", "Other Opioid", "bromo-dragonfly"]
    ) == [
        "fentanyl",
        "other_opioid",
        "bromo_dragonfly",
    ]


pytestmark_db = pytest.mark.django_db


@pytest.fixture
def site():
    return SiteFactory()


@pytest.fixture
def nurse(site):
    return StaffFactory(role=Role.NURSE, sites=[site])


def check(site, nurse, code="S-1", expected=("heroin",), found=("fentanyl",), **kw):
    return care.record_drug_check(
        site=site,
        by=nurse,
        sample_code=code,
        method=kw.pop("method", CheckMethod.TEST_STRIP),
        expected=expected,
        found=found,
        **kw,
    )


@pytestmark_db
def test_fentanyl_in_a_sample_sold_as_heroin_warns_every_floor_screen(site, nurse):
    result = check(site, nurse)
    assert result.unexpected_potent == ["fentanyl"]
    notice = FloorNotice.objects.get()
    assert "S-1" in notice.text and "Fentanyl" in notice.text and "Heroin" in notice.text
    board = build_board(site, clock.now())
    assert board.notices == [notice]


@pytestmark_db
def test_expected_fentanyl_raises_no_notice_but_an_unexpected_xylazine_does(site, nurse):
    check(site, nurse, code="A", expected=["fentanyl"], found=["fentanyl"])
    assert not FloorNotice.objects.exists()
    check(site, nurse, code="B", expected=["fentanyl"], found=["fentanyl", "xylazine"])
    assert FloorNotice.objects.get().drug_check.sample_code == "B"


@pytestmark_db
def test_a_site_that_turned_notices_off_gets_none(site, nurse):
    CareSettings.objects.create(site=site, notify_unexpected=False)
    result = check(site, nurse)
    assert result.unexpected_potent == ["fentanyl"]  # still recorded for reports
    assert not FloorNotice.objects.exists()


@pytestmark_db
def test_a_sites_own_potent_list_decides(site, nurse):
    CareSettings.objects.create(site=site, potent_substances=["bromazolam"])
    check(site, nurse, code="A", found=["fentanyl"])
    assert not FloorNotice.objects.exists()
    check(site, nurse, code="B", found=["Bromazolam"])
    assert FloorNotice.objects.count() == 1


@pytestmark_db
def test_a_lab_result_that_comes_later_can_raise_the_notice(site, nurse):
    sent = check(site, nurse, code="LAB-7", found=(), result_pending=True, method=CheckMethod.LAB)
    assert not FloorNotice.objects.exists()
    care.record_drug_check_result(check=sent, found=["fentanyl", "caffeine"], by=nurse)
    sent.refresh_from_db()
    assert (sent.result_pending, sent.found, sent.unexpected_potent) == (
        False,
        ["fentanyl", "caffeine"],
        ["fentanyl"],
    )
    assert FloorNotice.objects.get().drug_check == sent
    with pytest.raises(CareError, match="already has its result"):
        care.record_drug_check_result(check=sent, found=["heroin"], by=nurse)
    sent.refresh_from_db()
    assert sent.found == ["fentanyl", "caffeine"]


@pytestmark_db
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"code": "  "}, "Give the sample a code"),
        ({"code": "X" * 41}, "at most 40"),
        ({"method": "taste"}, "how the sample was checked"),
        ({"result_pending": True}, "pending result has no substances"),
    ],
)
def test_bad_checks_are_refused_and_change_nothing(site, nurse, kwargs, message):
    with pytest.raises(CareError, match=message):
        check(site, nurse, **kwargs)
    assert not DrugCheck.objects.exists() and not FloorNotice.objects.exists()


@pytestmark_db
def test_a_sample_code_is_used_once_per_site(site, nurse):
    check(site, nurse, code="S-1", found=["heroin"])
    with pytest.raises(CareError, match="already used at this site"):
        check(site, nurse, code="S-1")
    assert DrugCheck.objects.count() == 1 and not FloorNotice.objects.exists()
    check(SiteFactory(), nurse, code="S-1", found=["heroin"])  # another site's S-1 is fine


@pytestmark_db
def test_the_suggested_code_counts_the_days_samples(site, nurse):
    first = care.next_sample_code(site)
    check(site, nurse, code=first, found=["heroin"])
    second = care.next_sample_code(site)
    assert first.endswith("-001") and second.endswith("-002") and first[:7] == second[:7]


@pytestmark_db
def test_a_posted_notice_tells_the_floor_screens_after_commit(
    site, nurse, monkeypatch, django_capture_on_commit_callbacks
):
    published = []
    monkeypatch.setattr(hub, "publish", lambda topic, event: published.append((topic, event)))
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        check(site, nurse)
    assert published == []  # a rolled-back notice must never reach a screen
    for callback in callbacks:
        callback()
    assert published == [(floor_topic(site.pk), {"type": "floor"})]


@pytestmark_db
def test_taking_a_notice_down_takes_it_off_every_board(client, site, nurse):
    check(site, nurse)
    notice = FloorNotice.objects.get()
    client.force_login(nurse)
    board = client.get(reverse("floor:board-fragment", args=[site.pk])).content.decode()
    assert "Fentanyl found in a sample sold as Heroin" in board and "Drug supply alert" in board
    url = reverse("care:notice-dismiss", args=[site.pk, notice.pk])
    response = client.post(url, HTTP_HX_REQUEST="true")
    assert response["Location"] == reverse("floor:board-fragment", args=[site.pk])
    notice.refresh_from_db()
    assert notice.dismissed_by == nurse and notice.dismissed_at
    assert "sold as Heroin" not in client.get(response["Location"]).content.decode()
    with pytest.raises(CareError, match="already taken down"):
        care.dismiss_notice(notice=notice, by=nurse)


@pytestmark_db
def test_an_expired_notice_is_off_the_board(site, nurse):
    from datetime import timedelta

    check(site, nurse)
    later = clock.now() + timedelta(hours=care.NOTICE_HOURS, minutes=1)
    assert build_board(site, later).notices == []


@pytestmark_db
def test_the_form_links_a_sample_to_someone_on_the_floor(client, site, nurse):
    visit = floor.check_in(
        site=site, participant=participant(site, alias="Plover"), intake=intake(), by=nurse
    )
    client.force_login(nurse)
    url = reverse("care:drug-check-new", args=[site.pk])
    page = client.get(url, {"visit": visit.pk}).content.decode()
    assert "Plover" in page and care.next_sample_code(site) in page
    response = client.post(
        url,
        {
            "sample_code": "P-1",
            "visit": visit.pk,
            "method": "ftir",
            "expected": ["heroin"],
            "found": ["fentanyl"],
            "found_other": "Lidocaine; para-fluorofentanyl",
        },
    )
    assert response.status_code == 302
    saved = DrugCheck.objects.get()
    assert saved.visit == visit
    assert saved.found == ["fentanyl", "lidocaine", "para_fluorofentanyl"]
    listing = client.get(response["Location"]).content.decode()
    assert "P-1" in listing and "Unexpected" in listing and "every floor screen" in listing


@pytestmark_db
@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"method": "ftir"}, "Say what was found"),
        ({"method": "ftir", "found": ["heroin"], "nothing_found": "on"}, "not both"),
        ({"method": "lab", "result_pending": "on", "found": ["heroin"]}, "pending result"),
        ({"found": ["heroin"]}, "Choose how the sample was checked"),
        ({"method": "ftir", "found": ["heroin"], "sample_code": ""}, "Give the sample a code"),
    ],
)
def test_the_form_explains_what_is_missing_and_records_nothing(client, site, nurse, data, message):
    client.force_login(nurse)
    response = client.post(
        reverse("care:drug-check-new", args=[site.pk]), {"sample_code": "Q-1", **data}
    )
    assert response.status_code == 400
    assert message in response.content.decode()
    assert not DrugCheck.objects.exists()


@pytestmark_db
def test_a_lab_result_is_entered_from_the_list(client, site, nurse):
    sent = check(site, nurse, code="LAB-2", found=(), result_pending=True, method="lab")
    client.force_login(nurse)
    listing = client.get(reverse("care:drug-checks", args=[site.pk])).content.decode()
    url = reverse("care:drug-check-result", args=[site.pk, sent.pk])
    assert url in listing
    assert client.post(url, {}).status_code == 400
    assert client.post(url, {"nothing_found": "on"}).status_code == 302
    sent.refresh_from_db()
    assert (sent.result_pending, sent.found) == (False, [])
    assert client.get(url).status_code == 302  # already has its result: back to the list
