import zoneinfo
from datetime import time

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("%(tz)s is not a known time zone."), params={"tz": value})


class Jurisdiction(models.Model):
    """A public-health authority running one or more sites, e.g. a county health department.

    Participants are registered once per jurisdiction, so a person visiting two of its sites
    is one participant.
    """

    name = models.CharField(_("name"), max_length=120, unique=True)

    def __str__(self) -> str:
        return self.name


class Site(models.Model):
    jurisdiction = models.ForeignKey(
        Jurisdiction, on_delete=models.PROTECT, related_name="sites", verbose_name=_("jurisdiction")
    )
    name = models.CharField(_("name"), max_length=120, unique=True)
    time_zone = models.CharField(
        _("time zone"),
        max_length=64,
        default="America/Los_Angeles",
        validators=[validate_time_zone],
    )
    opens_at = models.TimeField(_("opens at"), default=time(9, 0))
    closes_at = models.TimeField(_("closes at"), default=time(21, 0))
    check_interval_place_minutes = models.PositiveSmallIntegerField(
        _("visual check every (minutes) in booths and seats"), default=5
    )
    check_interval_aftercare_minutes = models.PositiveSmallIntegerField(
        _("visual check every (minutes) in aftercare"), default=15
    )
    check_grace_minutes = models.PositiveSmallIntegerField(
        _("a due check becomes overdue after (minutes)"), default=1
    )
    occupancy_limit_minutes = models.PositiveSmallIntegerField(
        _("occupancy limit (minutes)"), default=20
    )
    deidentify_after_months = models.PositiveSmallIntegerField(
        _("de-identify participants inactive for (months)"),
        null=True,
        blank=True,
        help_text=_(
            "Blank: never. The code, alias and free text of a person seen at no site for this "
            "long go; visits and events stay as anonymous records. With several sites the "
            "longest retention wins."
        ),
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def clean(self) -> None:
        if self.check_interval_place_minutes < 1 or self.check_interval_aftercare_minutes < 1:
            raise ValidationError(_("Check intervals must be at least one minute."))
        if self.occupancy_limit_minutes < 1:
            raise ValidationError(_("The occupancy limit must be at least one minute."))
        if self.deidentify_after_months is not None and self.deidentify_after_months < 1:
            raise ValidationError(
                _("De-identify after at least one month, or leave it blank for never.")
            )


class PlaceKind(models.TextChoices):
    BOOTH = "booth", _("Injection booth")
    INHALATION = "inhalation", _("Inhalation room seat")
    OBSERVATION = "observation", _("Observation chair")
    WASHROOM = "washroom", _("Washroom")
    AFTERCARE = "aftercare", _("Aftercare seat")


USE_KINDS = frozenset(
    {PlaceKind.BOOTH, PlaceKind.INHALATION, PlaceKind.OBSERVATION, PlaceKind.WASHROOM}
)


class Place(models.Model):
    """Somewhere one person uses or recovers, watched by staff: a booth, a seat, a washroom."""

    site = models.ForeignKey(
        Site, on_delete=models.CASCADE, related_name="places", verbose_name=_("site")
    )
    label = models.CharField(
        _("label"), max_length=20, help_text=_("Short name shown on the tile, e.g. B3.")
    )
    kind = models.CharField(_("kind"), max_length=20, choices=PlaceKind.choices)
    position = models.PositiveSmallIntegerField(_("position on the board"), default=0)
    in_service = models.BooleanField(_("in service"), default=True)

    class Meta:
        ordering = ["site", "position", "label"]
        constraints = [
            models.UniqueConstraint(fields=["site", "label"], name="place_label_unique_per_site")
        ]

    def __str__(self) -> str:
        return f"{self.site.name}/{self.label}"

    @property
    def is_aftercare(self) -> bool:
        return self.kind == PlaceKind.AFTERCARE
