import pytest
from django.contrib.auth.hashers import check_password, make_password
from django.test import override_settings
from django.urls import reverse

from vigil.accounts.roles import Role
from vigil.testing import PASSWORD, SiteFactory, StaffFactory

pytestmark = pytest.mark.django_db

SHIPPED_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]


def test_passwords_are_hashed_with_argon2():
    with override_settings(PASSWORD_HASHERS=SHIPPED_HASHERS):
        hashed = make_password("a long pass phrase")
        assert hashed.startswith("argon2$")
        assert check_password("a long pass phrase", hashed)


def test_sign_in_goes_to_the_floor_board(client):
    site = SiteFactory()
    nurse = StaffFactory(role=Role.NURSE, sites=[site])
    response = client.post(reverse("login"), {"username": nurse.username, "password": PASSWORD})
    assert response.status_code == 302
    assert client.get(response["Location"]).url == reverse("floor:board", args=[site.pk])


def test_repeated_failures_lock_the_account_even_with_the_right_password(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    nurse = StaffFactory(role=Role.NURSE, sites=[SiteFactory()])
    for _ in range(3):
        response = client.post(reverse("login"), {"username": nurse.username, "password": "wrong"})
    assert response.status_code == 429
    response = client.post(reverse("login"), {"username": nurse.username, "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
