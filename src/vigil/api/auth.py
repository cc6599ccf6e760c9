"""Bearer tokens: one per device (ingest), one per integration acting as a member of staff."""

from django.utils import timezone
from ninja.security import HttpBearer

from vigil.accounts.models import ApiToken
from vigil.accounts.roles import FLOOR_STAFF
from vigil.monitoring.models import Device, hash_token


class DeviceToken(HttpBearer):
    """A bridge's token, printed by `vigil devices add --token`."""

    openapi_scheme = "bearer"

    def authenticate(self, request, token: str):
        device = Device.objects.filter(token_hash=hash_token(token)).select_related("place").first()
        if device is None:
            return None
        request.device = device
        return device


class StaffToken(HttpBearer):
    """An integration's token, made with `vigil staff token USER`; it acts as that person and
    only for the floor roles and the sites that person has."""

    def authenticate(self, request, token: str):
        found = (
            ApiToken.objects.filter(token_hash=ApiToken.digest(token), revoked_at__isnull=True)
            .select_related("staff")
            .first()
        )
        if found is None or not found.staff.has_role(FLOOR_STAFF):
            return None
        ApiToken.objects.filter(pk=found.pk).update(last_used_at=timezone.now())
        request.staff = found.staff
        return found.staff
