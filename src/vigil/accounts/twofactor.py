"""Two-factor sign-in: who needs it, TOTP enrolment, backup codes, and the session marks.

django-otp does the TOTP arithmetic and keeps the verified device in the session
(`OTPMiddleware` gives every request `user.is_verified()`); this module decides who must be
verified and makes the backup codes (only keyed hashes are stored).
"""

import base64
import hashlib
import hmac
import secrets
from urllib.parse import quote

import segno
from django.conf import settings
from django.db import transaction
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from vigil.accounts.roles import Role
from vigil.lib.secrets import secret_file

# Every role that sees participant-level data (an alias is participant-level: it ties a
# person to their visits) signs in with a second factor. The administrator sees no
# participant, but grants roles, so an administrator's password alone must not be enough.
# The evaluator sees only aggregates and de-identified data.
TWO_FACTOR_ROLES = frozenset(
    {Role.FRONT_DESK, Role.NURSE, Role.CASE_MANAGER, Role.SITE_MANAGER, Role.ADMINISTRATOR}
)
BACKUP_CODE_COUNT = 10
BACKUP_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
BACKUP_CODE_LENGTH = 10  # about 49 bits each

# Session keys (epoch seconds, wall time: see vigil.accounts.sessions).
VERIFIED_AT = "vigil_verified_at"  # last time password and second factor were proven


def requires_two_factor(user) -> bool:
    return bool(
        getattr(user, "is_authenticated", False)
        and (user.is_superuser or getattr(user, "role", "") in TWO_FACTOR_ROLES)
    )


def confirmed_totp(user) -> TOTPDevice | None:
    return TOTPDevice.objects.filter(user=user, confirmed=True).first()


def pending_totp(user) -> TOTPDevice:
    """The unconfirmed device being enrolled (made once, reused until confirmed)."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="phone", confirmed=False)
    return device


def has_second_factor(user) -> bool:
    return TOTPDevice.objects.filter(user=user, confirmed=True).exists()


def base32_secret(device: TOTPDevice) -> str:
    return base64.b32encode(device.bin_key).decode().rstrip("=")


def otpauth_url(device: TOTPDevice) -> str:
    issuer = getattr(settings, "OTP_TOTP_ISSUER", "Vigil")
    label = quote(f"{issuer}:{device.user.get_username()}")
    return (
        f"otpauth://totp/{label}?secret={base32_secret(device)}"
        f"&issuer={quote(issuer)}&digits={device.digits}&period={device.step}"
    )


def qr_svg(text: str) -> str:
    """The QR code as inline SVG, made on the server (no script, no image request)."""
    return segno.make(text, error="m").svg_inline(scale=5, dark="#000", light="#fff")


def current_code(device: TOTPDevice, offset: int = 0) -> str:
    """The code an authenticator app shows now (`offset` steps later): for tests and the demo."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + offset * device.step
    return f"{totp.token():0{device.digits}d}"


# --- backup codes ------------------------------------------------------------------------


def normalise_backup_code(code: str) -> str:
    code = "".join(ch for ch in code.lower() if ch.isalnum())
    if len(code) != BACKUP_CODE_LENGTH or any(ch not in BACKUP_CODE_ALPHABET for ch in code):
        return ""
    return code


def backup_code_digest(code: str) -> str:
    """A keyed hash: the codes are random (≈49 bits), so an HMAC with a key kept outside the
    database is as good as a slow hash and lets a code be found in one query."""
    key = secret_file("backup-code-key").encode()
    return hmac.new(key, normalise_backup_code(code).encode(), hashlib.sha256).hexdigest()


def format_backup_code(code: str) -> str:
    return f"{code[:5]}-{code[5:]}"


def issue_backup_codes(user) -> list[str]:
    """Ten new codes, replacing any earlier ones; returned once, to be shown once."""
    from vigil.accounts.models import BackupCode, BackupCodes

    codes = [
        "".join(secrets.choice(BACKUP_CODE_ALPHABET) for _ in range(BACKUP_CODE_LENGTH))
        for _ in range(BACKUP_CODE_COUNT)
    ]
    with transaction.atomic():
        device, _ = BackupCodes.objects.get_or_create(
            user=user, defaults={"name": "backup codes", "confirmed": True}
        )
        device.codes.all().delete()
        BackupCode.objects.bulk_create(
            BackupCode(device=device, code_hash=backup_code_digest(c)) for c in codes
        )
    return [format_backup_code(c) for c in codes]


def match_second_factor(user, token: str):
    """The user's device that accepts `token` (a TOTP code or an unused backup code), or None."""
    from vigil.accounts.models import BackupCodes

    token = token.strip()
    digits = token.replace(" ", "")
    if digits.isdigit():
        device = confirmed_totp(user)
        if device is not None and device.verify_token(digits):
            return device
        return None
    backup = BackupCodes.objects.filter(user=user, confirmed=True).first()
    if backup is not None and backup.verify_token(token):
        return backup
    return None


def force_verified_login(client, user) -> None:
    """Sign `user` in on a Django test `Client` as if password and code had both been given:
    the user gets a confirmed TOTP device when the role needs one, and the session holds it.
    For tests and benchmarks that are not about signing in (the flow itself has its own tests).
    """
    from django.test.client import ClientMixin

    from vigil.accounts.sessions import wall_clock

    # ClientMixin's own force_login: the test suite replaces Client.force_login with this
    # function (conftest.py), so calling through Client would come back here.
    ClientMixin.force_login(client, user)
    session = client.session
    if requires_two_factor(user):
        device = confirmed_totp(user) or TOTPDevice.objects.create(
            user=user, name="phone", confirmed=True
        )
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session[VERIFIED_AT] = wall_clock().timestamp()
    session.save()


def verified_session(user) -> dict:
    """The session entries (besides Django's own) of someone who has just signed in with
    password and second factor: for benchmarks that write a session straight into the
    database. The user gets a confirmed TOTP device when the role needs one."""
    from vigil.accounts.sessions import SEEN_AT, SIGNED_IN_AT, wall_clock

    now = wall_clock().timestamp()
    entries = {SIGNED_IN_AT: now, SEEN_AT: now, VERIFIED_AT: now}
    if requires_two_factor(user):
        device = confirmed_totp(user) or TOTPDevice.objects.create(
            user=user, name="phone", confirmed=True
        )
        entries[DEVICE_ID_SESSION_KEY] = device.persistent_id
    return entries
