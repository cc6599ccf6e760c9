import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device

from vigil.accounts.roles import Role


class Staff(AbstractUser):  # type: ignore[django-manager-missing]
    """A person who works for the jurisdiction. Staff are named; participants never are."""

    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    sites = models.ManyToManyField(
        "sites.Site",
        blank=True,
        related_name="staff",
        verbose_name=_("sites"),
        help_text=_("Sites this person works at. Site managers may be given every site."),
    )
    # The short PIN that unlocks personal actions on a floor screen (hashed like a password),
    # and its own throttle: a few wrong PINs lock it for a while.
    pin_hash = models.CharField(max_length=200, blank=True, editable=False)
    pin_failures = models.PositiveSmallIntegerField(default=0, editable=False)
    pin_locked_until = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("staff member")
        verbose_name_plural = _("staff")

    def __str__(self) -> str:
        return self.get_full_name() or self.username

    @property
    def display_name(self) -> str:
        return self.first_name or self.username

    def has_role(self, roles) -> bool:
        # Superusers get no participant data by being superusers: the administrator role
        # manages accounts, sites and devices, not people.
        return self.is_active and self.role in roles


class ApiToken(models.Model):
    """A token for an integration acting as a member of staff (the JSON API). Only its hash is
    stored; the token is shown once, when it is made."""

    staff = models.ForeignKey(Staff, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.staff})"

    @staticmethod
    def digest(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()

    @classmethod
    def issue(cls, staff: Staff, name: str) -> tuple["ApiToken", str]:
        token = "vgl_" + secrets.token_urlsafe(32)
        return cls.objects.create(staff=staff, name=name, token_hash=cls.digest(token)), token


class BackupCodes(Device):
    """Ten one-time codes for when the phone is lost: a django-otp device, so a backup code
    verifies a session the way a TOTP code does. Only keyed hashes of the codes are kept."""

    class Meta(Device.Meta):
        verbose_name = _("backup codes")
        verbose_name_plural = _("backup codes")

    def verify_token(self, token) -> bool:
        from vigil.accounts.twofactor import backup_code_digest, normalise_backup_code

        code = normalise_backup_code(str(token))
        if not code:
            return False
        with transaction.atomic():
            used = (
                self.codes.filter(code_hash=backup_code_digest(code), used_at__isnull=True)
                .select_for_update()
                .first()
            )
            if used is None:
                return False
            used.used_at = timezone.now()
            used.save(update_fields=["used_at"])
        return True

    @property
    def remaining(self) -> int:
        return self.codes.filter(used_at__isnull=True).count()


class BackupCode(models.Model):
    device = models.ForeignKey(BackupCodes, on_delete=models.CASCADE, related_name="codes")
    code_hash = models.CharField(max_length=64, editable=False)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"backup code of {self.device.user}"


class FloorScreen(models.Model):
    """A registered device (the nurse station, the wall screen) that shows one site's floor and
    sounds its alarms with no personal session. Its cookie holds a token whose hash is kept
    here; revoking the row ends the screen. A nurse unlocks personal actions with a PIN for a
    few minutes (`unlocked_by` until `unlocked_until`)."""

    site = models.ForeignKey("sites.Site", on_delete=models.CASCADE, related_name="screens")
    name = models.CharField(_("name"), max_length=60)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    registered_by = models.ForeignKey(
        Staff, on_delete=models.PROTECT, related_name="+", verbose_name=_("registered by")
    )
    created_at = models.DateTimeField(_("registered"), default=timezone.now)
    last_seen_at = models.DateTimeField(_("last seen"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)
    revoked_by = models.ForeignKey(
        Staff, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    unlocked_by = models.ForeignKey(
        Staff, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    unlocked_until = models.DateTimeField(null=True, blank=True)
    # Wrong PINs typed on this screen (for anyone) since `pin_failures_since`: a screen that
    # keeps guessing is locked for everyone, not only for the names it tried.
    pin_failures = models.PositiveSmallIntegerField(default=0)
    pin_failures_since = models.DateTimeField(null=True, blank=True)
    pin_locked_until = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("floor screen")
        verbose_name_plural = _("floor screens")
        ordering = ["site", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.site})"

    @staticmethod
    def digest(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()
