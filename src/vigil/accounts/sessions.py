"""Personal sessions end after 15 minutes without activity and 12 hours in all.

Times here are wall time from `wall_clock()`, not `vigil.lib.clock.now()`: tests, the demo
seeder and the benchmarks move the floor's clock to replay hours of a site, and that must not
sign anyone out. Tests of the time-outs set `fixed_clock` (the `session_clock` fixture).

What counts as activity: any request a person makes, except the live stream of the floor
(Server-Sent Events), which a browser keeps open by itself; a board left open on a personal
device would otherwise keep the session alive for ever. The stream itself ends when the
session would, so a personal screen is signed out on time; floor screens
(`vigil.accounts.screens`) have no personal session and never time out.
"""

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.dispatch import receiver
from django.utils import timezone
from django.utils.deprecation import MiddlewareMixin
from django.utils.translation import gettext_lazy as _lazy

from vigil.accounts.twofactor import VERIFIED_AT, requires_two_factor

SIGNED_IN_AT = "vigil_signed_in_at"
SEEN_AT = "vigil_seen_at"


# Tests set this (the `session_clock` fixture); nothing else does.
fixed_clock: Callable[[], datetime] | None = None


def wall_clock() -> datetime:
    return fixed_clock() if fixed_clock is not None else timezone.now()


def idle_limit() -> timedelta:
    return timedelta(minutes=getattr(settings, "VIGIL_SESSION_IDLE_MINUTES", 15))


def absolute_limit() -> timedelta:
    return timedelta(hours=getattr(settings, "VIGIL_SESSION_MAX_HOURS", 12))


@dataclass(frozen=True)
class SessionTimes:
    signed_in_at: datetime
    seen_at: datetime

    def ends_at(self, idle: timedelta, absolute: timedelta) -> datetime:
        return min(self.seen_at + idle, self.signed_in_at + absolute)

    def why_ended(self, now: datetime, idle: timedelta, absolute: timedelta) -> str:
        """'' while the session lives; 'absolute' or 'idle' once it has ended."""
        if now >= self.signed_in_at + absolute:
            return "absolute"
        if now >= self.seen_at + idle:
            return "idle"
        return ""


def _moment(value) -> datetime | None:
    if value is None:
        return None
    try:
        return datetime.fromtimestamp(float(value), tz=UTC)
    except (TypeError, ValueError, OverflowError):
        return None


def session_times(session) -> SessionTimes | None:
    signed_in = _moment(session.get(SIGNED_IN_AT))
    seen = _moment(session.get(SEEN_AT))
    if signed_in is None or seen is None:
        return None
    return SessionTimes(signed_in_at=signed_in, seen_at=seen)


@receiver(user_logged_in, dispatch_uid="vigil-session-times")
def _record_sign_in(sender, request, user, **kwargs):
    if request is None or not hasattr(request, "session"):
        return
    now = wall_clock().timestamp()
    request.session[SIGNED_IN_AT] = now
    request.session[SEEN_AT] = now
    if not requires_two_factor(user):
        # The password was the whole proof for this role.
        request.session[VERIFIED_AT] = now
        from axes.handlers.proxy import AxesProxyHandler

        AxesProxyHandler.reset_attempts(username=user.get_username())


def is_live_stream(request) -> bool:
    """The floor's Server-Sent Events (EventSource asks for text/event-stream)."""
    return "text/event-stream" in request.headers.get("Accept", "")


async def guard_stream(
    stream: AsyncIterator,
    farewell: str,
    *,
    seconds: float | None = None,
    still_valid: Callable | None = None,
    every: float = 30.0,
) -> AsyncIterator:
    """Pass `stream` on for at most `seconds`, and while `await still_valid()` (asked every
    `every` seconds) says so; then say `farewell` and stop. The stream's pending step is never
    cancelled by a check, only when the guard ends."""
    loop_time = time.monotonic
    deadline = loop_time() + seconds if seconds is not None else None
    next_check = loop_time() + every if still_valid is not None else None
    iterator = aiter(stream)
    pending: asyncio.Future | None = None
    try:
        while True:
            now = loop_time()
            if deadline is not None and now >= deadline:
                break
            if next_check is not None and now >= next_check:
                if not await still_valid():  # type: ignore[misc]
                    break
                next_check = now + every
            if pending is None:
                pending = asyncio.ensure_future(anext(iterator))
            limits = [t for t in (deadline, next_check) if t is not None]
            timeout = max(0.0, min(limits) - now) if limits else None
            done, _ = await asyncio.wait({pending}, timeout=timeout)
            if not done:
                continue
            step, pending = pending, None
            try:
                chunk = step.result()
            except StopAsyncIteration:
                return
            yield chunk
        yield farewell
    finally:
        if pending is not None:
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending
        close = getattr(iterator, "aclose", None)
        if close is not None:
            with contextlib.suppress(RuntimeError):
                await close()


SIGNED_OUT_EVENT = "event: signed-out\ndata: \n\n"


class SessionLimitsMiddleware(MiddlewareMixin):
    """Ends personal sessions that have been idle or open too long; records activity."""

    said = {
        "absolute": _lazy("You were signed out after 12 hours."),
        "idle": _lazy("You were signed out after 15 minutes without activity."),
        "unknown": _lazy("Please sign in again."),
    }

    def process_view(self, request, view_func, view_args, view_kwargs):
        user = request.user
        if not user.is_authenticated:
            return None
        now = wall_clock()
        times = session_times(request.session)
        why = "unknown" if times is None else times.why_ended(now, idle_limit(), absolute_limit())
        if why:
            logout(request)
            if not is_live_stream(request):
                messages.info(request, self.said[why])
            return None
        if is_live_stream(request):
            request.vigil_session_ends_at = times.ends_at(idle_limit(), absolute_limit())  # type: ignore[union-attr]
        else:
            request.session[SEEN_AT] = now.timestamp()
        return None

    def process_response(self, request, response):
        ends_at = getattr(request, "vigil_session_ends_at", None)
        if ends_at is not None and response.streaming and response.is_async:
            seconds = (ends_at - wall_clock()).total_seconds()
            response.streaming_content = guard_stream(
                response.streaming_content, SIGNED_OUT_EVENT, seconds=max(0.0, seconds)
            )
        return response
