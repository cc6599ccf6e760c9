"""Deny by default: every view must say which roles it admits.

`RoleRequiredMiddleware` also requires the second factor of every role that sees
participant-level data (an unverified session reaches only the sign-in steps), keeps the
Django admin to administrators with a recent re-authentication for changes, and keeps floor
screens to the views marked for them (docs/sign-in.md).
"""

from collections.abc import Callable, Iterable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.deprecation import MiddlewareMixin
from django.utils.http import urlencode
from django_htmx.http import HttpResponseClientRedirect

from vigil.accounts.roles import Role
from vigil.accounts.twofactor import has_second_factor, requires_two_factor

PUBLIC = "__vigil_public__"
ROLES = "__vigil_roles__"
SIGNING_IN = "__vigil_signing_in__"
FLOOR_SCREEN = "__vigil_floor_screen__"
PERSONAL = "__vigil_personal__"


def allow(roles: Iterable[str]) -> Callable:
    """Mark a view as open to `roles` (signed-in staff holding one of them)."""
    frozen = frozenset(roles)

    def decorate(view: Callable) -> Callable:
        setattr(view, ROLES, frozen)
        return view

    return decorate


def public(view: Callable) -> Callable:
    """Mark a view as open without signing in (login page, health check)."""
    setattr(view, PUBLIC, True)
    return view


def signing_in(view: Callable) -> Callable:
    """Mark a view as a step of signing in: open before the second factor is given."""
    setattr(view, SIGNING_IN, True)
    return view


def floor_screen(view: Callable) -> Callable:
    """Mark a view as open to a locked floor screen (it shows no participant code and does
    nothing that needs a person: the board, its stream, the alarm panel, "Seen")."""
    setattr(view, FLOOR_SCREEN, True)
    return view


def personal(view: Callable) -> Callable:
    """Mark a view as for a personal session only, never on a floor screen, even unlocked
    (one's own account, registering and revoking screens)."""
    setattr(view, PERSONAL, True)
    return view


def _mark(view_func, name: str):
    target = getattr(view_func, "view_class", None) or view_func
    return getattr(target, name, None) or getattr(view_func, name, None)


def _send_to(request, url: str):
    return HttpResponseClientRedirect(url) if getattr(request, "htmx", False) else redirect(url)


def _with_next(request, name: str, next_url: str | None = None) -> str:
    if next_url is None:
        next_url = request.get_full_path() if request.method == "GET" else "/"
    return reverse(name) + "?" + urlencode({"next": next_url})


class RoleRequiredMiddleware(MiddlewareMixin):
    """Refuses any request whose view does not admit the signed-in person's role."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        if _mark(view_func, PUBLIC):
            return None
        if request.path.startswith(settings.STATIC_URL):
            return None
        if request.resolver_match and request.resolver_match.namespace == "api":
            return None  # every API operation authenticates its own bearer token (api/auth.py)
        user = request.user
        if not user.is_authenticated:
            if getattr(request, "htmx", False):
                # A tap after the session ended: the whole page goes to sign-in, not a
                # sign-in form swapped into the board.
                back = request.htmx.current_url_abs_path or "/"
                return HttpResponseClientRedirect(redirect_to_login(back).url)
            return redirect_to_login(request.get_full_path())
        screen = getattr(request, "floor_screen", None)
        if screen is not None:
            return self._on_floor_screen(request, screen, view_func, view_kwargs)
        if requires_two_factor(user) and not user.is_verified():
            if _mark(view_func, SIGNING_IN):
                return None
            step = "two-factor" if has_second_factor(user) else "two-factor-enrol"
            return _send_to(request, _with_next(request, step))
        if _mark(view_func, SIGNING_IN):
            return None
        is_admin = request.resolver_match and request.resolver_match.app_name == "admin"
        if is_admin:
            if not (user.is_superuser or user.role == Role.ADMINISTRATOR):
                raise PermissionDenied
            return self._recent_for_admin_changes(request)
        roles = _mark(view_func, ROLES)
        if roles is None or not user.has_role(roles):
            raise PermissionDenied
        return None

    def _recent_for_admin_changes(self, request):
        from vigil.accounts.reauth import is_recent, reauth_redirect

        name = request.resolver_match.url_name or ""
        changing = request.method == "POST" or name.endswith(
            ("_add", "_change", "_delete", "_password_change")
        )
        if changing and not is_recent(request):
            return reauth_redirect(request)
        return None

    def _on_floor_screen(self, request, screen, view_func, view_kwargs):
        """A floor screen: locked, it opens only its own views; unlocked, also what the
        person's role opens, at the screen's site, except personal and admin pages."""
        from vigil.accounts.reauth import RECENT

        site_id = view_kwargs.get("site_id")
        if site_id is not None and int(site_id) != screen.site_id:
            raise Http404("Not this screen's site.")
        if _mark(view_func, FLOOR_SCREEN):
            return None
        if request.resolver_match and request.resolver_match.view_name == "home":
            return redirect("floor:board", site_id=screen.site_id)
        is_admin = request.resolver_match and request.resolver_match.app_name == "admin"
        if is_admin or _mark(view_func, PERSONAL) or _mark(view_func, RECENT):
            raise PermissionDenied
        person = request.user if request.user.pk is not None else None
        roles = _mark(view_func, ROLES)
        if person is None:
            # Locked: a personal action waits for a PIN. The tap is not replayed; after the
            # unlock the person taps again on the fresh board.
            back = request.get_full_path() if request.method == "GET" else None
            if getattr(request, "htmx", False):
                back = request.htmx.current_url_abs_path
            if back is None:
                back = reverse("floor:board", args=[screen.site_id])
            return _send_to(request, _with_next(request, "screen-unlock", back))
        if roles is None or not person.has_role(roles):
            raise PermissionDenied
        return None
