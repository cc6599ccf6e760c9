"""Demo logins: the demo staff get authenticator devices whose codes `vigil demo-codes` prints,
and floor-screen PINs, so a newcomer can try every sign-in step without a phone.

Only ever for the demo: the data dir is marked when seed-demo makes the demo, and
`vigil demo-codes` refuses to print anything for a data dir without that mark.
"""

from pathlib import Path

from django_otp.plugins.otp_totp.models import TOTPDevice

from vigil.accounts.actions import set_pin
from vigil.accounts.models import Staff
from vigil.accounts.roles import FLOOR_STAFF
from vigil.accounts.twofactor import requires_two_factor
from vigil.lib.secrets import data_dir

DEMO_PIN = "2468"
DEVICE_NAME = "demo"
MARK = "demo-data-dir"
MARK_TEXT = (
    "This data dir holds Vigil's synthetic demo (vigil seed-demo). Its staff sign in with "
    "codes that `vigil demo-codes` prints: never put real data here.\n"
)


def mark_path() -> Path:
    return data_dir() / MARK


def is_demo_data_dir() -> bool:
    return mark_path().is_file()


def prepare_logins(usernames: list[str]) -> None:
    """Give the demo staff a demo authenticator (when their role needs one) and a PIN."""
    mark_path().write_text(MARK_TEXT)
    for member in Staff.objects.filter(username__in=usernames):
        if requires_two_factor(member):
            TOTPDevice.objects.get_or_create(
                user=member, name=DEVICE_NAME, defaults={"confirmed": True}
            )
        if member.role in FLOOR_STAFF and not member.pin_hash:
            set_pin(member, DEMO_PIN)


def login_lines(staff: list[tuple[str, str, str]], password: str) -> list[str]:
    """What seed-demo prints about signing in: (username, role label, where) per login."""
    lines = [f"Demo logins (password {password}):"]
    lines += [f"  {username:<12} {role:<26} {where}" for username, role, where in staff]
    lines += [
        "Every role but the evaluator also types a 6-digit code from an authenticator app;",
        "for the demo, `.venv/bin/vigil demo-codes` prints each login's current code.",
        f"Floor staff unlock a floor screen with the PIN {DEMO_PIN} (register one as `manager`:",
        "Your account → Floor screens → Register this device).",
    ]
    return lines
