import hashlib
import secrets

from django.contrib.auth.models import AbstractUser
from django.db import models
from django.utils.translation import gettext_lazy as _

from vigil.accounts.roles import Role


class Staff(AbstractUser):
    """A person who works for the jurisdiction. Staff are named; participants never are."""

    role = models.CharField(_("role"), max_length=20, choices=Role.choices)
    sites = models.ManyToManyField(
        "sites.Site",
        blank=True,
        related_name="staff",
        verbose_name=_("sites"),
        help_text=_("Sites this person works at. Site managers may be given every site."),
    )

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
