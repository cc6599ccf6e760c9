"""Services and supplies: the quick-add from a floor tile, from the desk, and for someone not
registered; what is refused changes nothing."""

from datetime import timedelta

import pytest
from django.urls import reverse

from vigil.accounts.roles import Role
from vigil.care import engagement_actions as care
from vigil.care.engagement_actions import CareError, Given
from vigil.care.models import CareSettings, ServiceGiven, SupplyGiven
from vigil.floor import actions as floor
from vigil.lib import clock
from vigil.testing import SiteFactory, StaffFactory, intake, participant

pytestmark = pytest.mark.django_db


@pytest.fixture
def site():
    return SiteFactory()


@pytest.fixture
def nurse(site):
    return StaffFactory(role=Role.NURSE, sites=[site])


@pytest.fixture
def visit(site, nurse):
    booth = site.places.get(label="B1")
    return floor.check_in(
        site=site,
        participant=participant(site, alias="Wren"),
        intake=intake(),
        by=nurse,
        place=booth,
    )


def nothing_recorded() -> bool:
    return not ServiceGiven.objects.exists() and not SupplyGiven.objects.exists()


def test_one_quick_add_records_services_supplies_and_returns_together(site, nurse, visit):
    care.record_given(
        site=site,
        by=nurse,
        given=Given(
            services=("wound_care", "naloxone_training"),
            supplies={"syringe_1ml": 10, "cooker": 2, "filter": 0},
            returned=25,
            visit=visit,
        ),
    )
    services = ServiceGiven.objects.all()
    assert sorted(s.service for s in services) == ["naloxone_training", "wound_care"]
    assert {s.participant_id for s in services} == {visit.participant_id}
    supplies = {(s.item, s.quantity, s.returned) for s in SupplyGiven.objects.all()}
    assert supplies == {("syringe_1ml", 10, False), ("cooker", 2, False), ("syringes", 25, True)}
    assert len({r.at for r in [*services, *SupplyGiven.objects.all()]}) == 1


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (Given(supplies={"syringe_1ml": -5}), "cannot be negative"),
        (Given(supplies={"syringe_1ml": 5000}), "check the number"),
        (
            Given(supplies={"syringe_1ml": 5, "crack_pipe_gold": 1}),
            "not one of this site's supplies",
        ),
        (Given(services=("wound_care", "tarot")), "not one of this site's services"),
        (Given(returned=-1), "cannot be negative"),
        (Given(), "Nothing to record"),
        (Given(supplies={"cooker": 0}), "Nothing to record"),
    ],
)
def test_bad_handouts_are_refused_and_change_nothing(site, nurse, given, message):
    with pytest.raises(CareError, match=message):
        care.record_given(site=site, by=nurse, given=given)
    assert nothing_recorded()


def test_a_visit_of_another_site_is_refused(site, nurse, visit):
    other = SiteFactory()
    with pytest.raises(CareError, match="another site"):
        care.record_given(site=other, by=nurse, given=Given(services=("wound_care",), visit=visit))
    assert nothing_recorded()


def test_a_site_gives_only_what_is_on_its_own_list(site, nurse):
    care.save_care_settings(
        site=site,
        services=[("wound_care", "Wound care"), ("foot_care", "Foot care")],
        supplies=[("pipe", "Pipe"), ("sterile_water", "Sterile water")],
        potent=[],
        notify=True,
        by=nurse,
    )
    site.refresh_from_db()
    care.record_given(
        site=site, by=nurse, given=Given(services=("foot_care",), supplies={"sterile_water": 3})
    )
    with pytest.raises(CareError, match="not one of this site's supplies"):
        care.record_given(site=site, by=nurse, given=Given(supplies={"syringe_1ml": 1}))
    assert SupplyGiven.objects.get().item == "sterile_water"


def test_the_quick_add_from_a_tile_records_and_goes_back_to_the_board(client, site, nurse, visit):
    client.force_login(nurse)
    board = reverse("floor:board", args=[site.pk])
    url = reverse("care:services", args=[site.pk])
    page = client.get(url, {"visit": visit.pk, "next": board})
    assert b"Services and supplies for Wren" in page.content
    response = client.post(
        url,
        {
            "visit": visit.pk,
            "next": board,
            "services": ["vein_care"],
            "supply_syringe_05ml": "10",
            "supply_naloxone_nasal": "1",
            "returned": "12",
        },
    )
    assert response.status_code == 302 and response["Location"] == board
    assert ServiceGiven.objects.get().service == "vein_care"
    assert SupplyGiven.objects.filter(visit=visit).count() == 3


def test_the_board_tile_offers_the_quick_add(client, site, nurse, visit):
    client.force_login(nurse)
    html = client.get(reverse("floor:board-fragment", args=[site.pk])).content.decode()
    assert f"{reverse('care:services', args=[site.pk])}?visit={visit.pk}" in html


def test_a_negative_quantity_is_explained_and_nothing_is_recorded(client, site, nurse, visit):
    client.force_login(nurse)
    response = client.post(
        reverse("care:services", args=[site.pk]),
        {
            "visit": visit.pk,
            "services": ["wound_care"],
            "supply_syringe_1ml": "-10",
            "supply_cooker": "2",
        },
    )
    assert response.status_code == 400
    assert "A quantity cannot be negative." in response.content.decode()
    assert nothing_recorded()
    # What was typed stays on the form, to be corrected rather than typed again.
    assert 'value="2"' in response.content.decode()


def test_an_empty_quick_add_says_so(client, site, nurse, visit):
    client.force_login(nurse)
    response = client.post(reverse("care:services", args=[site.pk]), {"visit": visit.pk})
    assert response.status_code == 400
    assert "Nothing to record" in response.content.decode()


def test_a_visit_of_another_site_in_the_form_is_not_found(client, site, nurse, visit):
    other = SiteFactory()
    nurse.sites.add(other)
    client.force_login(nurse)
    response = client.post(
        reverse("care:services", args=[other.pk]), {"visit": visit.pk, "supply_cooker": "1"}
    )
    assert response.status_code == 404
    assert nothing_recorded()


def test_the_desk_quick_add_for_a_participant_and_for_someone_not_registered(client, site):
    desk = StaffFactory(role=Role.FRONT_DESK, sites=[site])
    person = participant(site, alias="Kestrel")
    client.force_login(desk)
    results = client.get(reverse("floor:desk", args=[site.pk]), {"q": "Kes"}).content.decode()
    assert f"?participant={person.pk}" in results
    back = reverse("floor:desk", args=[site.pk])
    url = reverse("care:services", args=[site.pk])
    client.post(url, {"participant": person.pk, "next": back, "supply_fentanyl_strip": "3"})
    client.post(url, {"next": back, "supply_naloxone_nasal": "2"})
    rows = {(s.participant_id, s.item, s.quantity) for s in SupplyGiven.objects.all()}
    assert rows == {(person.pk, "fentanyl_strip", 3), (None, "naloxone_nasal", 2)}
    assert SupplyGiven.objects.get(participant=person).visit is None


def test_a_merged_record_gives_to_the_person_it_was_merged_into(site, nurse):
    from vigil.participants.actions import merge

    survivor, duplicate = participant(site, alias="Ibis"), participant(site, alias="Ibis2")
    merge(survivor=survivor, merged=duplicate, by=nurse)
    duplicate.refresh_from_db()
    care.record_given(
        site=site, by=nurse, given=Given(supplies={"cooker": 1}, participant=duplicate)
    )
    assert SupplyGiven.objects.get().participant_id == survivor.pk


def test_today_at_this_site_adds_up_and_hides_health_services_from_the_front_desk(
    client, site, nurse, visit
):
    yesterday = clock.now() - timedelta(days=1)
    care.record_given(
        site=site,
        by=nurse,
        given=Given(services=("wound_care",), supplies={"cooker": 5}, visit=visit, at=yesterday),
    )
    care.record_given(
        site=site,
        by=nurse,
        given=Given(services=("wound_care", "basic_needs"), supplies={"cooker": 2}, visit=visit),
    )
    care.record_given(site=site, by=nurse, given=Given(supplies={"cooker": 1}, returned=7))
    client.force_login(nurse)
    page = client.get(reverse("care:services", args=[site.pk])).content.decode()
    assert "Wound care" in page and 'Cooker</td><td class="n">3<' in page
    assert 'Syringes returned</td><td class="n">7<' in page
    desk = StaffFactory(role=Role.FRONT_DESK, sites=[site])
    client.force_login(desk)
    page = client.get(reverse("care:services", args=[site.pk])).content.decode()
    today = page.split('class="card today"')[1]
    assert "Wound care" not in today and "Health service" in today and "Basic needs" in today


def test_a_site_without_syringes_is_not_asked_for_returns(client, site, nurse):
    CareSettings.objects.create(site=site, supplies=[["pipe", "Pipe"]])
    client.force_login(nurse)
    page = client.get(reverse("care:services", args=[site.pk])).content.decode()
    assert "Syringes returned" not in page and "Pipe" in page
