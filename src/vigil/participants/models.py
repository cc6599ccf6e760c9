"""The anonymous registry: no legal name, no full date of birth, no ID document.

A participant is known to staff by an alias and found again through a keyed hash of their
self-reported code. Everything else is optional and coarse (age band, not birth date).
"""

from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vigil.lib.crypto import EncryptedCharField


class AgeBand(models.TextChoices):
    UNDER_20 = "<20", _("under 20")
    A20_29 = "20-29", "20–29"
    A30_39 = "30-39", "30–39"
    A40_49 = "40-49", "40–49"
    A50_59 = "50-59", "50–59"
    A60_PLUS = "60+", _("60 and over")


class Gender(models.TextChoices):
    WOMAN = "woman", _("Woman")
    MAN = "man", _("Man")
    TRANS_NONBINARY = "trans_nonbinary", _("Trans, two-spirit or non-binary")
    NOT_SAID = "not_said", _("Prefers not to say")


class Housing(models.TextChoices):
    UNSHELTERED = "unsheltered", _("Unsheltered (street, tent, vehicle)")
    SHELTER = "shelter", _("Shelter or transitional")
    UNSTABLE = "unstable", _("Unstable (couch surfing, SRO)")
    HOUSED = "housed", _("Housed")
    NOT_SAID = "not_said", _("Prefers not to say")


class Participant(models.Model):
    jurisdiction = models.ForeignKey(
        "sites.Jurisdiction", on_delete=models.PROTECT, related_name="participants"
    )
    # Empty (NULL) once the record is de-identified by the retention rule: nobody can find the
    # person by their code any more, and NULLs never collide in the unique constraint.
    code_hash = models.CharField(
        _("code hash"), max_length=64, db_index=True, editable=False, null=True
    )
    code_suffix = models.PositiveSmallIntegerField(
        _("code suffix"),
        default=1,
        help_text=_("Tells apart different people whose self-reported code is the same."),
    )
    alias = models.CharField(
        _("alias"), max_length=40, help_text=_("A nickname the person chooses, or a generated one.")
    )
    age_band = models.CharField(_("age band"), max_length=8, choices=AgeBand.choices, blank=True)
    gender = models.CharField(_("gender"), max_length=20, choices=Gender.choices, blank=True)
    housing = models.CharField(_("housing"), max_length=20, choices=Housing.choices, blank=True)
    # Free text, and a rare language can single a person out at a small site: encrypted.
    language = EncryptedCharField(_("preferred language"), max_length=40, blank=True)
    oriented_at = models.DateTimeField(
        _("orientation and consent recorded"),
        null=True,
        blank=True,
        help_text=_("When the site's rules and the use of records were explained and agreed."),
    )
    registered_at = models.DateTimeField(_("registered"), default=timezone.now)
    registered_site = models.ForeignKey(
        "sites.Site", on_delete=models.PROTECT, related_name="+", null=True, blank=True
    )
    deidentified_at = models.DateTimeField(
        _("de-identified"),
        null=True,
        blank=True,
        editable=False,
        help_text=_(
            "When the retention rule removed the code, alias and free text; visits and events "
            "stay as anonymous records."
        ),
    )
    merged_into = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="merged_records",
        help_text=_("Set when this record was found to be the same person as another."),
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["jurisdiction", "code_hash", "code_suffix"], name="participant_code_unique"
            ),
            models.UniqueConstraint(
                "jurisdiction",
                Lower("alias"),
                name="participant_alias_unique",
                violation_error_message=_("This alias is already taken; choose another."),
            ),
        ]

    def __str__(self) -> str:
        return self.alias

    @property
    def is_merged(self) -> bool:
        return self.merged_into_id is not None


class ParticipantMerge(models.Model):
    """Two records found to be one person. The merged record stays, pointing at the survivor."""

    survivor = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="merges_in")
    merged = models.ForeignKey(Participant, on_delete=models.PROTECT, related_name="merges_out")
    merged_alias = models.CharField(max_length=40)
    merged_at = models.DateTimeField(default=timezone.now)
    merged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    visits_moved = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return f"{self.merged_alias} into {self.survivor_id}"


class RestrictionReason(models.TextChoices):
    VIOLENCE = "violence", _("Violence or threat")
    DEALING = "dealing", _("Selling or sharing drugs on site")
    DAMAGE = "damage", _("Damage to the site")
    OTHER = "other", _("Other breach of site rules")


class Restriction(models.Model):
    """A time-limited service restriction, e.g. a 24-hour ban after violence."""

    participant = models.ForeignKey(
        Participant, on_delete=models.CASCADE, related_name="restrictions"
    )
    site = models.ForeignKey(
        "sites.Site",
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="+",
        help_text=_("Leave empty to apply at every site of the jurisdiction."),
    )
    reason = models.CharField(_("reason"), max_length=20, choices=RestrictionReason.choices)
    starts_at = models.DateTimeField(_("from"), default=timezone.now)
    ends_at = models.DateTimeField(_("until"))
    lifted_at = models.DateTimeField(_("lifted"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-starts_at"]

    def __str__(self) -> str:
        return f"{self.get_reason_display()} until {self.ends_at:%Y-%m-%d %H:%M}"

    def is_active(self, now) -> bool:
        return self.lifted_at is None and self.starts_at <= now < self.ends_at
