"""The Django admin is for administrators and shows no participant-level data: participants,
their visits and care records are managed in Vigil's own pages, where access is audited."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.db import models
from django.urls import reverse

from vigil.accounts.tests.test_url_roles import world  # noqa: F401 - fixture
from vigil.monitoring import actions as monitoring
from vigil.participants.models import Participant

AD = "administrator"


def reaches_participant(model, depth: int = 4, seen=None) -> bool:
    """True when `model` is a participant, or points at one through its foreign keys (a visit,
    an occupancy, a check, an alarm with its visit, an alarm's events...)."""
    if model is Participant:
        return True
    seen = seen or set()
    if depth == 0 or model in seen:
        return False
    seen = seen | {model}
    return any(
        reaches_participant(field.related_model, depth - 1, seen)
        for field in model._meta.get_fields()
        if isinstance(field, models.ForeignKey | models.OneToOneField | models.ManyToManyField)
        and not field.auto_created
        and field.related_model is not None
    )


def test_the_rule_finds_participant_level_models():
    participant_level = {m.__name__ for m in apps.get_models() if reaches_participant(m)}
    assert {"Participant", "Visit", "Occupancy", "Check", "Alarm", "MedicalEvent"} <= (
        participant_level
    )
    assert not {"Site", "Place", "Device", "Staff"} & participant_level


def test_no_admin_registration_shows_participant_level_data():
    shown = []
    for model, model_admin in admin.site._registry.items():
        for inline in getattr(model_admin, "inlines", []):
            shown.append((model, inline.model))
        shown.append((model, model))
    leaking = sorted(f"{a.__name__}: {m.__name__}" for a, m in shown if reaches_participant(m))
    assert not leaking, f"admin registrations with participant-level data: {leaking}"


@pytest.mark.django_db
def test_admin_pages_never_name_a_participant(client, world):  # noqa: F811
    staff, args = world
    site = staff["nurse"].sites.get()
    monitoring.add_device(device_id="ox-1", place=site.places.get(label="B1"))
    # The world's people by alias ("Other" left out: it is also a category label).
    aliases = ["Seated", "Waiter"]
    assert Participant.objects.filter(alias__in=aliases).count() == 2
    client.force_login(staff[AD])
    pages = [reverse("admin:index")]
    for model, model_admin in admin.site._registry.items():
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        pages.append(reverse(f"{prefix}_changelist"))
        request = _request(staff[AD])
        if model_admin.has_add_permission(request):
            pages.append(reverse(f"{prefix}_add"))
        for instance in model._default_manager.all():
            pages.append(reverse(f"{prefix}_change", args=[instance.pk]))
            if model_admin.has_delete_permission(request, instance):
                pages.append(reverse(f"{prefix}_delete", args=[instance.pk]))
    for page in pages:
        response = client.get(page)
        assert response.status_code == 200, page
        html = response.content.decode()
        for alias in aliases:
            assert alias not in html, (page, alias)


def _request(user):
    from django.test import RequestFactory

    request = RequestFactory().get("/")
    request.user = user
    return request


@pytest.mark.django_db
def test_sites_and_places_are_not_deleted_from_the_admin(client, world):  # noqa: F811
    """Django would list the visits in the way ("Seated at Site 1"), naming participants."""
    staff, args = world
    site = staff["nurse"].sites.get()
    client.force_login(staff[AD])
    assert client.get(reverse("admin:sites_site_delete", args=[site.pk])).status_code == 403
    assert (
        client.get(
            reverse("admin:sites_jurisdiction_delete", args=[site.jurisdiction_id])
        ).status_code
        == 403
    )
    change = client.get(reverse("admin:sites_site_change", args=[site.pk])).content.decode()
    assert "places-0-DELETE" not in change
    # Nor staff: their delete page would list what they recorded (visits by alias).
    nurse = staff["nurse"]
    assert client.get(reverse("admin:accounts_staff_delete", args=[nurse.pk])).status_code == 403


@pytest.mark.django_db
def test_the_evaluator_never_sees_a_participant(client, world):  # noqa: F811
    """Every page of the URL × role table that the evaluator may open, opened by the
    evaluator, names no participant (their aliases; codes are never shown to anyone)."""
    from vigil.accounts.tests.test_url_roles import ROLES, TABLE
    from vigil.floor import actions as floor
    from vigil.testing import intake, participant

    staff, args = world
    site = staff["nurse"].sites.get()
    # Aliases no page could show by chance ("Other" is also a category label).
    for alias in ("Quillfeather", "Marrowbone"):
        floor.check_in(
            site=site,
            participant=participant(site, alias=alias),
            intake=intake(),
            by=staff["nurse"],
        )
    aliases = ["Quillfeather", "Marrowbone", "Seated", "Waiter"]
    client.force_login(staff["evaluator"])
    opened = []
    for name, (method, expected) in sorted(TABLE.items()):
        if method != "GET" or dict(zip(ROLES, expected, strict=True))["evaluator"] != 200:
            continue
        url_name = "admin:index" if name == "admin:*" else name
        response = client.get(reverse(url_name, kwargs=args.get(url_name, ({}, {}))[0]))
        assert response.status_code == 200, name
        body = response.content.decode(errors="replace")
        assert not [a for a in aliases if a in body], name
        opened.append(name)
    assert "home" in opened
