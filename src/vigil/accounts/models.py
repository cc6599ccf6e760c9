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
