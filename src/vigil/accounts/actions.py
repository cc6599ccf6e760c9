"""Every write of sign-in, PINs and floor screens."""

import logging
import secrets
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils.translation import gettext as _

from vigil.accounts.models import FloorScreen, Staff
from vigil.accounts.roles import FLOOR_STAFF

log = logging.getLogger(__name__)

PIN_LENGTHS = range(4, 7)
PIN_FAILURES_PER_PERSON = 5  # then that person's PIN is locked
PIN_FAILURES_PER_SCREEN = 10  # then the screen's unlock is locked (alarms still work)
PIN_LOCK = timedelta(minutes=15)


class PinError(Exception):
    """Said to the person at the screen; nothing changed (except the failure count)."""


def unlock_minutes() -> int:
    return int(getattr(settings, "VIGIL_SCREEN_UNLOCK_MINUTES", 5))


def audit(action: str, *, actor=None, subject=None, site=None, **detail) -> None:
    """Record a security event in the tamper-evident audit log (vigil.audit, when installed)."""
    log.debug("%s %s", action, detail)
    from django.apps import apps

    if not apps.is_installed("vigil.audit"):
        return
    from vigil.audit import record

    record(action, actor=actor, subject=subject, site=site, detail=detail or None)


# --- PINs ----------------------------------------------------------------------------------


def pin_problem(pin: str) -> str:
    """Why `pin` may not be used ('' when it may)."""
    if not pin.isdigit() or len(pin) not in PIN_LENGTHS:
        return _("A PIN is 4 to 6 digits.")
    if len(set(pin)) == 1 or pin in "0123456789" or pin in "9876543210":
        return _("That PIN is too easy to guess: no repeated or consecutive digits.")
    return ""


def set_pin(staff: Staff, pin: str) -> None:
    problem = pin_problem(pin)
    if problem:
        raise PinError(problem)
    staff.pin_hash = make_password(pin)
    staff.pin_failures = 0
    staff.pin_locked_until = None
    staff.save(update_fields=["pin_hash", "pin_failures", "pin_locked_until"])
    audit("account.pin_set", actor=staff, subject=staff)


def unlockers(screen: FloorScreen):
    """Who may unlock this screen: floor staff of its site who have set a PIN."""
    return (
        Staff.objects.filter(
            is_active=True, role__in=list(FLOOR_STAFF), sites=screen.site, pin_hash__gt=""
        )
        .order_by("first_name", "username")
        .distinct()
    )


def unlock(screen: FloorScreen, staff_id, pin: str, now: datetime) -> Staff:
    """Unlock `screen` for the person whose PIN this is, for a few minutes."""
    with transaction.atomic():
        screen = FloorScreen.objects.select_for_update().get(pk=screen.pk)
        if screen.revoked_at:
            raise PinError(_("This screen has been revoked."))
        if screen.pin_locked_until and screen.pin_locked_until > now:
            raise PinError(_("Too many wrong PINs on this screen: try again in a few minutes."))
        if not unlockers(screen).filter(pk=staff_id).exists():
            raise PinError(_("Choose your name."))
        staff = Staff.objects.select_for_update().get(pk=staff_id)
        if staff.pin_locked_until and staff.pin_locked_until > now:
            raise PinError(
                _("Your PIN is locked after too many wrong tries: try again later or sign in.")
            )
        if not check_password(pin, staff.pin_hash):
            # Counted and recorded, and committed: the refusal is raised after the block.
            _count_wrong_pin(screen, staff, now)
            audit("screen.unlock_failed", subject=screen, site=screen.site_id, staff=staff.pk)
            wrong = True
        else:
            wrong = False
            staff.pin_failures = 0
            staff.save(update_fields=["pin_failures"])
            screen.unlocked_by = staff
            screen.unlocked_until = now + timedelta(minutes=unlock_minutes())
            screen.save(update_fields=["unlocked_by", "unlocked_until"])
    if wrong:
        raise PinError(_("Wrong PIN."))
    audit(
        "screen.unlocked",
        actor=staff,
        subject=screen,
        site=screen.site_id,
        minutes=unlock_minutes(),
    )
    return staff


def _count_wrong_pin(screen: FloorScreen, staff: Staff, now: datetime) -> None:
    staff.pin_failures += 1
    if staff.pin_failures >= PIN_FAILURES_PER_PERSON:
        staff.pin_locked_until = now + PIN_LOCK
        staff.pin_failures = 0
    staff.save(update_fields=["pin_failures", "pin_locked_until"])
    if screen.pin_failures_since is None or now - screen.pin_failures_since > PIN_LOCK:
        screen.pin_failures, screen.pin_failures_since = 0, now
    screen.pin_failures += 1
    if screen.pin_failures >= PIN_FAILURES_PER_SCREEN:
        screen.pin_locked_until = now + PIN_LOCK
        screen.pin_failures, screen.pin_failures_since = 0, None
    screen.save(update_fields=["pin_failures", "pin_failures_since", "pin_locked_until"])


def lock(screen: FloorScreen) -> None:
    FloorScreen.objects.filter(pk=screen.pk).update(unlocked_by=None, unlocked_until=None)
    audit("screen.locked", subject=screen, site=screen.site_id)


# --- floor screens ------------------------------------------------------------------------


def register_screen(*, site, name: str, by: Staff) -> tuple[FloorScreen, str]:
    """A new floor screen and the token for its cookie (only the hash is kept)."""
    token = "scr_" + secrets.token_urlsafe(32)
    screen = FloorScreen.objects.create(
        site=site, name=name, token_hash=FloorScreen.digest(token), registered_by=by
    )
    audit("screen.registered", actor=by, subject=screen, site=site)
    return screen, token


def revoke_screen(screen: FloorScreen, *, by: Staff, now: datetime) -> None:
    FloorScreen.objects.filter(pk=screen.pk, revoked_at__isnull=True).update(
        revoked_at=now, revoked_by=by, unlocked_by=None, unlocked_until=None
    )
    audit("screen.revoked", actor=by, subject=screen, site=screen.site_id)


def screen_for_token(token: str) -> FloorScreen | None:
    if not token:
        return None
    return (
        FloorScreen.objects.select_related("site", "unlocked_by")
        .filter(token_hash=FloorScreen.digest(token), revoked_at__isnull=True)
        .first()
    )
