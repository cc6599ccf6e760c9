"""Floor screens: registered devices that show one site's floor without a personal session.

A screen's cookie holds a long-lived token (never times out; revoked from the list). On a
screen, `request.floor_screen` is the `FloorScreen`, and `request.user` is
- a `ScreenUser` (no role, no name, one site) while the screen is locked: it may open only
  the views marked `@floor_screen` (the board, its stream, the alarm panel, "Seen");
- the member of staff who unlocked it with their PIN, for a few minutes: their personal
  actions are attributed to them. The live stream always runs as the screen, so an unlock
  running out never interrupts the board or the alarms.
"""

from datetime import timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth.models import AnonymousUser
from django.utils.deprecation import MiddlewareMixin

from vigil.accounts.actions import screen_for_token
from vigil.accounts.models import FloorScreen
from vigil.accounts.roles import FLOOR_STAFF
from vigil.accounts.sessions import SIGNED_OUT_EVENT, guard_stream, is_live_stream, wall_clock
from vigil.sites.models import Site

COOKIE = "vigil_screen"
COOKIE_MAX_AGE = 10 * 365 * 24 * 3600
SEEN_EVERY = timedelta(minutes=1)
REVOKED_CHECK = 30.0  # seconds


class ScreenUser(AnonymousUser):
    """Who a locked floor screen is: signed in as a device, with no role and one site."""

    is_active = True  # type: ignore[assignment]

    def __init__(self, screen: FloorScreen):
        self.screen = screen

    def __str__(self) -> str:
        return self.screen.name

    @property
    def is_anonymous(self):  # type: ignore[override]
        return False

    @property
    def is_authenticated(self):  # type: ignore[override]
        return True

    role = ""
    otp_device = None

    @property
    def display_name(self) -> str:
        return self.screen.name

    def get_role_display(self) -> str:
        from django.utils.translation import gettext

        return gettext("Floor screen")

    def has_role(self, roles) -> bool:
        return False

    def is_verified(self) -> bool:
        return False

    @property
    def sites(self):  # type: ignore[override]
        return Site.objects.filter(pk=self.screen.site_id)


def set_screen_cookie(response, token: str) -> None:
    response.set_cookie(
        COOKIE,
        token,
        max_age=COOKIE_MAX_AGE,
        httponly=True,
        samesite="Lax",
        secure=settings.SESSION_COOKIE_SECURE,
    )


def unlocked_staff(screen: FloorScreen, now):
    """The person the screen is unlocked for, if the unlock still runs and they still may."""
    staff = screen.unlocked_by
    if staff is None or screen.unlocked_until is None or screen.unlocked_until <= now:
        return None
    if not staff.is_active or staff.role not in FLOOR_STAFF:
        return None
    if not staff.sites.filter(pk=screen.site_id).exists():
        return None
    return staff


class FloorScreenMiddleware(MiddlewareMixin):
    """Recognises a floor screen by its cookie when no personal session is signed in."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        from vigil.accounts.middleware import PUBLIC

        request.floor_screen = None
        target = getattr(view_func, "view_class", None) or view_func
        if getattr(target, PUBLIC, False) or getattr(view_func, PUBLIC, False):
            return None
        token = request.COOKIES.get(COOKIE, "")
        if not token or request.user.is_authenticated:
            return None  # a personal session on the same browser wins
        screen = screen_for_token(token)
        if screen is None:
            return None
        now = wall_clock()
        if screen.last_seen_at is None or now - screen.last_seen_at >= SEEN_EVERY:
            FloorScreen.objects.filter(pk=screen.pk).update(last_seen_at=now)
        request.floor_screen = screen
        person = None if is_live_stream(request) else unlocked_staff(screen, now)
        user = person or ScreenUser(screen)

        async def auser():
            return user

        request.user = user
        request.auser = auser
        return None

    def process_response(self, request, response):
        screen = getattr(request, "floor_screen", None)
        if screen is not None and response.streaming and response.is_async:
            # A revoked screen's open stream ends too (checked every REVOKED_CHECK seconds).
            response.streaming_content = guard_stream(
                response.streaming_content,
                SIGNED_OUT_EVENT,
                still_valid=partial(_still_registered, screen.pk),
                every=REVOKED_CHECK,
            )
        return response


async def _still_registered(screen_pk: int) -> bool:
    return await FloorScreen.objects.filter(pk=screen_pk, revoked_at__isnull=True).aexists()
