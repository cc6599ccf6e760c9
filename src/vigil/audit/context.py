"""Who is acting: the current web request (set by the middleware) or the command line."""

import contextvars
import functools
import getpass
import os
import sys
from inspect import iscoroutinefunction
from pathlib import Path

from asgiref.sync import markcoroutinefunction

_request: contextvars.ContextVar = contextvars.ContextVar("vigil_audit_request", default=None)


def current_request():
    return _request.get()


@functools.cache
def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no passwd entry and no USER in a bare container
        return f"uid {os.getuid()}"


def command_name() -> str:
    """The `vigil` subcommand running this process ("seed-demo"), or "" when not a command."""
    program = Path(sys.argv[0]).name if sys.argv else ""
    if program in {"vigil", "manage.py", "__main__.py", "django-admin"} and len(sys.argv) > 1:
        return sys.argv[1][:40]
    return ""


class AuditContextMiddleware:
    """Makes the request known to `record()` for actions that are not handed it.

    Sync and async capable, and it does no work of its own, so the floor's live stream (an
    async view) is not pushed through a thread by it.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request):
        if self.is_async:
            return self.__acall__(request)
        token = _request.set(request)
        try:
            return self.get_response(request)
        finally:
            _request.reset(token)

    async def __acall__(self, request):
        token = _request.set(request)
        try:
            return await self.get_response(request)
        finally:
            _request.reset(token)
