"""Factories and helpers shared by the tests of every app (factory_boy)."""

import itertools
from datetime import time

import factory

from vigil.accounts.models import Staff
from vigil.accounts.roles import Role
from vigil.floor.actions import Intake
from vigil.lib.codes import CodeItems
from vigil.participants import actions as registry
from vigil.sites.models import Jurisdiction, Place, PlaceKind, Site

PASSWORD = "correct-horse-battery"  # noqa: S105 - test-only
_codes = itertools.count(1)


class JurisdictionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Jurisdiction
        django_get_or_create = ["name"]

    name = "Test County"


class SiteFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Site
        skip_postgeneration_save = True

    jurisdiction = factory.SubFactory(JurisdictionFactory)
    name = factory.Sequence(lambda n: f"Site {n}")
    time_zone = "America/Los_Angeles"
    opens_at = time(0, 0)
    closes_at = time(23, 59)

    @factory.post_generation
    def places(self, create, extracted, **kwargs):
        if not create:
            return
        spec = extracted if extracted is not None else {PlaceKind.BOOTH: 3, PlaceKind.AFTERCARE: 2}
        prefix = {
            PlaceKind.BOOTH: "B",
            PlaceKind.INHALATION: "S",
            PlaceKind.OBSERVATION: "O",
            PlaceKind.WASHROOM: "W",
            PlaceKind.AFTERCARE: "A",
        }
        position = 0
        for kind, count in spec.items():
            for n in range(1, count + 1):
                position += 1
                label = f"{prefix[kind]}{n}"
                Place.objects.create(site=self, kind=kind, label=label, position=position)  # type: ignore[misc]


class StaffFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Staff
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"staff{n}")
    first_name = factory.Faker("first_name")
    role = Role.NURSE
    password = factory.PostGenerationMethodCall("set_password", PASSWORD)

    @factory.post_generation
    def sites(self, create, extracted, **kwargs):
        if create and extracted:
            self.sites.set(extracted)
        if create:
            self.save()  # type: ignore[attr-defined]


def code_items(n: int | None = None) -> CodeItems:
    """Distinct synthetic code items for each call."""
    n = n if n is not None else next(_codes)
    letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
    return CodeItems(
        mother_first_name=letters[n % 26] + letters[(n // 26) % 26],
        birth_day=1 + n % 28,
        birth_year=1960 + (n // 700) % 40,
        gender="MWX"[n % 3],
        birthplace=letters[(n // 7) % 26],
    )


def participant(site: Site, alias: str = "", **profile):
    return registry.register(
        jurisdiction=site.jurisdiction,
        items=code_items(),
        alias=alias,
        site=site,
        oriented=True,
        profile=registry.Profile(**profile),
    )


def intake(**overrides) -> Intake:
    values: dict = {"substances": ["fentanyl"], "route": "inject", "otherwise_location": "public"}
    values.update(overrides)
    return Intake(**values)


# --- signing in ---------------------------------------------------------------------------


def verified_login(client, user) -> None:
    """Sign in on a test client as after password and second factor (see conftest.py)."""
    from vigil.accounts.twofactor import force_verified_login

    force_verified_login(client, user)


def password_only_login(client, user) -> None:
    """Sign in with the first factor only: the session is not verified."""
    from django.test.client import ClientMixin

    ClientMixin.force_login(client, user)


def totp_device(user):
    """The user's confirmed TOTP device, made if missing (as if enrolled)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from vigil.accounts.twofactor import confirmed_totp

    return confirmed_totp(user) or TOTPDevice.objects.create(
        user=user, name="phone", confirmed=True
    )


def totp_code(user, offset: int = 0) -> str:
    """What the user's authenticator app shows now (`offset` steps later)."""
    from vigil.accounts.twofactor import current_code

    return current_code(totp_device(user), offset)


def floor_screen(client, site, name: str = "Nurse station", by=None):
    """Register a floor screen for `site` and give `client` its cookie (no personal session)."""
    from vigil.accounts import actions as account_actions
    from vigil.accounts.screens import COOKIE

    by = by or StaffFactory(role=Role.SITE_MANAGER, sites=[site])
    screen, token = account_actions.register_screen(site=site, name=name, by=by)
    client.logout()
    client.cookies[COOKIE] = token
    return screen


def with_pin(staff, pin: str = "2580"):
    """Give `staff` a floor-screen PIN."""
    from vigil.accounts import actions as account_actions

    account_actions.set_pin(staff, pin)
    return staff
