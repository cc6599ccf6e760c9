import pytest
from django.urls import reverse

from vigil.accounts.roles import Role
from vigil.floor import actions
from vigil.floor.models import Visit, VisitStatus
from vigil.participants.models import Participant
from vigil.sites.models import PlaceKind
from vigil.testing import SiteFactory, StaffFactory, intake, participant

pytestmark = pytest.mark.django_db


@pytest.fixture
def site():
    return SiteFactory(places={PlaceKind.BOOTH: 2, PlaceKind.AFTERCARE: 1})


@pytest.fixture
def desk(client, site):
    client.force_login(StaffFactory(role=Role.FRONT_DESK, sites=[site]))
    return client


CODE = {
    "mother_first_name": "Maria",
    "birth_day": "4",
    "birth_year": "1985",
    "code_gender": "W",
    "birthplace": "S",
}


def test_register_then_check_in_to_a_booth(desk, site):
    response = desk.post(
        reverse("floor:register", args=[site.pk]), {**CODE, "alias": "Wren", "oriented": "on"}
    )
    person = Participant.objects.get()
    assert response["Location"] == reverse("floor:intake", args=[site.pk, person.pk])
    booth = site.places.get(label="B2")
    response = desk.post(
        reverse("floor:intake", args=[site.pk, person.pk]),
        {
            "substances": ["fentanyl", "xylazine"],
            "route": "inject",
            "otherwise_location": "public",
            "otherwise_alone": "yes",
            "place": booth.pk,
        },
    )
    assert response.status_code == 302
    visit = Visit.objects.get()
    assert (visit.status, visit.substances, visit.otherwise_alone) == (
        VisitStatus.IN_PLACE,
        ["fentanyl", "xylazine"],
        True,
    )
    page = desk.get(reverse("floor:desk", args=[site.pk]), {"q": "MA0485WS"})
    assert b"Wren" in page.content and b"already checked in" in page.content


def test_invalid_check_in_shows_errors_and_changes_nothing(desk, site):
    person = participant(site)
    response = desk.post(
        reverse("floor:intake", args=[site.pk, person.pk]),
        {
            "substances": ["not-a-drug"],
            "route": "",
            "otherwise_location": "public",
            "place": "99999",
        },
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) >= {"substances", "route", "place"}
    assert not Visit.objects.exists()


def test_invalid_registration_changes_nothing(desk, site):
    response = desk.post(reverse("floor:register", args=[site.pk]), {**CODE, "birth_day": "40"})
    assert response.status_code == 200 and "birth_day" in response.context["form"].errors
    response = desk.post(reverse("floor:register", args=[site.pk]), {"code_gender": "X"})
    assert "Too few items" in str(response.context["form"].errors)
    assert not Participant.objects.exists()


def test_same_code_asks_whether_it_is_the_same_person(desk, site):
    desk.post(reverse("floor:register", args=[site.pk]), {**CODE, "alias": "First"})
    response = desk.post(reverse("floor:register", args=[site.pk]), {**CODE, "alias": "Second"})
    assert response.status_code == 200 and b"Is this one of these people?" in response.content
    assert Participant.objects.count() == 1
    desk.post(
        reverse("floor:register", args=[site.pk]),
        {**CODE, "alias": "Second", "different_person": "on"},
    )
    assert sorted(Participant.objects.values_list("code_suffix", flat=True)) == [1, 2]


def test_htmx_assign_of_a_taken_place_answers_409_with_the_board_and_the_reason(desk, site):
    nurse = StaffFactory(role=Role.NURSE, sites=[site])
    first = actions.check_in(site=site, participant=participant(site), intake=intake(), by=nurse)
    second = actions.check_in(site=site, participant=participant(site), intake=intake(), by=nurse)
    booth = site.places.get(label="B1")
    url = reverse("floor:assign", args=[site.pk])
    ok = desk.post(url, {"visit": first.pk, "place": booth.pk}, HTTP_HX_REQUEST="true")
    assert ok.status_code == 200 and b'id="board"' in ok.content
    taken = desk.post(url, {"visit": second.pk, "place": booth.pk}, HTTP_HX_REQUEST="true")
    assert taken.status_code == 409
    assert b"B1 was just taken" in taken.content and b'id="board"' in taken.content
