"""`@recent_auth`: password and second factor again before exports and administrative changes.

Put it on a view (under `@allow(...)`) that exports participant-level data or changes
accounts, sites or devices. When the person last proved password and code more than
`VIGIL_RECENT_AUTH_SECONDS` (default 5 minutes) ago, they are sent to the re-authentication
page and come back to the same URL. Floor screens never reach such a view.
"""

import functools
from collections.abc import Callable
from datetime import timedelta

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme, urlencode

from vigil.accounts.sessions import _moment, wall_clock
from vigil.accounts.twofactor import VERIFIED_AT

RECENT = "__vigil_recent_auth__"


def recent_window() -> timedelta:
    return timedelta(seconds=getattr(settings, "VIGIL_RECENT_AUTH_SECONDS", 300))


def is_recent(request) -> bool:
    verified = _moment(request.session.get(VERIFIED_AT))
    return verified is not None and wall_clock() - verified < recent_window()


def reauth_redirect(request, next_url: str | None = None):
    """To the re-authentication page, then back: to this page for a GET; for a form that was
    posted, to the page the form was on (the change is not replayed: it is made again)."""
    if next_url is None:
        next_url = request.get_full_path()
        if request.method != "GET":
            referer = request.headers.get("Referer", "")
            host = {request.get_host()}
            next_url = (
                referer
                if url_has_allowed_host_and_scheme(referer, host, request.is_secure())
                else "/"
            )
    return redirect(reverse("reauth") + "?" + urlencode({"next": next_url}))


def recent_auth(view: Callable) -> Callable:
    @functools.wraps(view)
    def wrapper(request, *args, **kwargs):
        if getattr(request, "floor_screen", None) is not None:
            raise PermissionDenied
        if not is_recent(request):
            return reauth_redirect(request)
        return view(request, *args, **kwargs)

    setattr(wrapper, RECENT, True)
    return wrapper
