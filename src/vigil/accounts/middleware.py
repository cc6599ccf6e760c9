"""Deny by default: every view must say which roles it admits."""

from collections.abc import Callable, Iterable

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.utils.deprecation import MiddlewareMixin

from vigil.accounts.roles import Role

PUBLIC = "__vigil_public__"
ROLES = "__vigil_roles__"


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


class RoleRequiredMiddleware(MiddlewareMixin):
    """Refuses any request whose view does not admit the signed-in person's role."""

    def process_view(self, request, view_func, view_args, view_kwargs):
        target = getattr(view_func, "view_class", None) or view_func
        if getattr(target, PUBLIC, False) or getattr(view_func, PUBLIC, False):
            return None
        if request.path.startswith(settings.STATIC_URL):
            return None
        if request.resolver_match and request.resolver_match.namespace == "api":
            return None  # every API operation authenticates its own bearer token (api/auth.py)
        user = request.user
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if request.resolver_match and request.resolver_match.app_name == "admin":
            if user.is_superuser or user.role == Role.ADMINISTRATOR:
                return None
            raise PermissionDenied
        roles = getattr(target, ROLES, None) or getattr(view_func, ROLES, None)
        if roles is None or not user.has_role(roles):
            raise PermissionDenied
        return None
