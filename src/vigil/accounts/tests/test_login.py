"""Signing in: password, then a second factor for every role that sees participants."""

import re

import pytest
from django.contrib.auth.hashers import check_password, make_password
from django.test import override_settings
from django.urls import reverse
from django_otp.plugins.otp_totp.models import TOTPDevice

from vigil.accounts.models import BackupCode
from vigil.accounts.roles import Role
from vigil.accounts.twofactor import TWO_FACTOR_ROLES, current_code, issue_backup_codes
from vigil.testing import (
    PASSWORD,
    SiteFactory,
    StaffFactory,
    intake,
    participant,
    password_only_login,
    totp_code,
    totp_device,
)

pytestmark = [pytest.mark.django_db, pytest.mark.db_any]

SHIPPED_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
]


@pytest.fixture
def site():
    return SiteFactory()


@pytest.fixture
def nurse(site):
    return StaffFactory(role=Role.NURSE, sites=[site])


def sign_in(client, user, password=PASSWORD):
    return client.post(reverse("login"), {"username": user.username, "password": password})


def give_code(client, code, next_url="/"):
    return client.post(reverse("two-factor"), {"code": code, "next": next_url})


def test_passwords_are_hashed_with_argon2():
    with override_settings(PASSWORD_HASHERS=SHIPPED_HASHERS):
        hashed = make_password("a long pass phrase")
        assert hashed.startswith("argon2$")
        assert check_password("a long pass phrase", hashed)


def test_every_role_that_sees_participants_needs_a_second_factor():
    assert TWO_FACTOR_ROLES == {
        Role.FRONT_DESK,
        Role.NURSE,
        Role.CASE_MANAGER,
        Role.SITE_MANAGER,
        Role.ADMINISTRATOR,
    }
    assert Role.EVALUATOR not in TWO_FACTOR_ROLES


def test_password_and_code_go_to_the_floor_board(client, site, nurse):
    totp_device(nurse)
    response = sign_in(client, nurse)
    assert response.status_code == 302
    step = client.get(response["Location"])
    assert step.url.startswith(reverse("two-factor"))
    response = give_code(client, totp_code(nurse))
    assert response.status_code == 302
    assert client.get(response["Location"]).url == reverse("floor:board", args=[site.pk])
    assert client.get(reverse("floor:board", args=[site.pk])).status_code == 200


def test_a_password_alone_opens_no_participant_page(client, site, nurse):
    totp_device(nurse)
    seated = participant(site, alias="Juniper")
    from vigil.floor import actions as floor

    floor.check_in(site=site, participant=seated, intake=intake(), by=nurse)
    assert sign_in(client, nurse).status_code == 302
    for url in (
        reverse("floor:board", args=[site.pk]),
        reverse("floor:events", args=[site.pk]),
        reverse("participants:detail", args=[seated.pk]),
        reverse("monitoring:panel", args=[site.pk]),
    ):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response.url.startswith(reverse("two-factor")), url
        assert b"Juniper" not in response.content
    # An htmx tap is sent to the code page too, not served.
    response = client.post(reverse("floor:check", args=[site.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Redirect"].startswith(reverse("two-factor"))


def test_the_evaluator_signs_in_with_a_password(client, site):
    evaluator = StaffFactory(role=Role.EVALUATOR, sites=[site])
    response = sign_in(client, evaluator)
    assert client.get(response["Location"]).status_code == 200  # the list of sites


def test_wrong_codes_are_refused_counted_and_lock_the_account(client, nurse, settings):
    settings.AXES_FAILURE_LIMIT = 3
    right = totp_code(nurse)
    sign_in(client, nurse)
    wrong = f"{(int(right) + 1) % 1_000_000:06d}"
    first = give_code(client, wrong)
    assert first.status_code == 400 and b"wrong or has expired" in first.content
    assert give_code(client, wrong).status_code == 400
    locked = give_code(client, wrong)
    assert locked.status_code == 429
    assert "_auth_user_id" not in client.session  # signed out
    # Locked out: the right password and the right code do not help now.
    assert sign_in(client, nurse).status_code == 429


def test_signing_in_again_does_not_buy_fresh_code_guesses(client, nurse, settings):
    settings.AXES_FAILURE_LIMIT = 3
    totp_device(nurse)
    for _ in range(2):
        sign_in(client, nurse)
        assert give_code(client, "000000").status_code in (400, 429)
        client.logout()
    sign_in(client, nurse)
    assert give_code(client, "000001").status_code == 429


def test_repeated_wrong_passwords_lock_the_account_even_with_the_right_password(client, settings):
    settings.AXES_FAILURE_LIMIT = 3
    nurse = StaffFactory(role=Role.NURSE, sites=[SiteFactory()])
    for _ in range(3):
        response = client.post(reverse("login"), {"username": nurse.username, "password": "wrong"})
    assert response.status_code == 429
    response = client.post(reverse("login"), {"username": nurse.username, "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session


def test_first_sign_in_enrols_an_authenticator_app(client, site, nurse):
    sign_in(client, nurse)
    response = client.get(reverse("floor:board", args=[site.pk]))
    assert response.url.startswith(reverse("two-factor-enrol"))
    page = client.get(response.url)
    html = page.content.decode()
    assert page.status_code == 200 and "<svg" in html  # the QR code, made on the server
    secret = re.search(r'id="totp-secret"[^>]*>([A-Z2-7]+)<', html).group(1)
    device = TOTPDevice.objects.get(user=nurse, confirmed=False)
    assert client.post(page.request["PATH_INFO"], {"code": "123"}).status_code == 400
    # The secret on the page is the device's: an app that typed it shows the right code.
    import base64

    assert base64.b32decode(secret + "=" * (-len(secret) % 8)) == device.bin_key
    done = client.post(reverse("two-factor-enrol"), {"code": current_code(device), "next": "/"})
    assert done.status_code == 200
    codes = re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", done.content.decode())
    assert len(codes) == 10 and len(set(codes)) == 10
    device.refresh_from_db()
    assert device.confirmed
    assert client.get(reverse("floor:board", args=[site.pk])).status_code == 200
    # Only keyed hashes are kept.
    stored = set(BackupCode.objects.values_list("code_hash", flat=True))
    assert len(stored) == 10
    assert not any(code.replace("-", "") in h for code in codes for h in stored)


def test_enrolment_is_not_offered_once_a_device_is_confirmed(client, nurse):
    totp_device(nurse)
    sign_in(client, nurse)
    assert client.get(reverse("two-factor-enrol")).url.startswith(reverse("two-factor"))


def test_a_backup_code_works_once(client, site, nurse):
    totp_device(nurse)
    codes = issue_backup_codes(nurse)
    sign_in(client, nurse)
    response = give_code(client, codes[3].upper())  # typed in capitals: still the code
    assert response.status_code == 302
    assert client.get(reverse("floor:board", args=[site.pk])).status_code == 200
    client.logout()
    sign_in(client, nurse)
    assert give_code(client, codes[3]).status_code == 400
    assert give_code(client, codes[4]).status_code == 302


def test_new_backup_codes_replace_the_old_ones(client, nurse):
    totp_device(nurse)
    old = issue_backup_codes(nurse)
    client.force_login(nurse)
    page = client.post(reverse("backup-codes"))
    new = re.findall(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>", page.content.decode())
    assert len(new) == 10
    client.logout()
    sign_in(client, nurse)
    assert give_code(client, old[0]).status_code == 400
    assert give_code(client, new[0]).status_code == 302


def test_a_verified_session_is_what_force_login_gives_tests(client, site, nurse):
    """The suite's `force_login` is a finished sign-in; `password_only_login` is not."""
    client.force_login(nurse)
    assert client.get(reverse("floor:board", args=[site.pk])).status_code == 200
    client.logout()
    password_only_login(client, nurse)
    assert client.get(reverse("floor:board", args=[site.pk])).status_code == 302
