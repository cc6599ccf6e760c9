"""A visit from check-in to exit, the places it occupied, and the checks made on it."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class Substance(models.TextChoices):
    FENTANYL = "fentanyl", _("Fentanyl")
    HEROIN = "heroin", _("Heroin")
    OTHER_OPIOID = "other_opioid", _("Other opioid")
    METHAMPHETAMINE = "methamphetamine", _("Methamphetamine")
    COCAINE = "cocaine", _("Cocaine / crack")
    SPEEDBALL = "speedball", _("Speedball")
    BENZODIAZEPINE = "benzodiazepine", _("Benzodiazepine")
    XYLAZINE = "xylazine", _("Xylazine")
    OTHER = "other", _("Other")


class Route(models.TextChoices):
    INJECT = "inject", _("Inject")
    SMOKE = "smoke", _("Smoke")
    SNORT = "snort", _("Snort")
    ORAL = "oral", _("Oral")


class OtherwiseLocation(models.TextChoices):
    PUBLIC = "public", _("Public (street, park)")
    SEMI_PUBLIC = "semi_public", _("Semi-public (stairwell, washroom)")
    PRIVATE = "private", _("Private (home, shelter room)")
    NOT_SAID = "not_said", _("Not said")


class VisitStatus(models.TextChoices):
    WAITING = "waiting", _("On the wait list")
    IN_PLACE = "in_place", _("In a booth or seat")
    AFTERCARE = "aftercare", _("In aftercare")
    ENDED = "ended", _("Left")


class EndReason(models.TextChoices):
    COMPLETED = "completed", _("Left after aftercare")
    LEFT_EARLY = "left_early", _("Left before aftercare")
    LEFT_WAITING = "left_waiting", _("Left from the wait list")
    EMS = "ems", _("Left with EMS")
    ASKED_TO_LEAVE = "asked_to_leave", _("Asked to leave")
    SITE_CLOSED = "site_closed", _("Site closed")
    OTHER = "other", _("Other")


class Visit(models.Model):
    site = models.ForeignKey("sites.Site", on_delete=models.PROTECT, related_name="visits")
    participant = models.ForeignKey(
        "participants.Participant", on_delete=models.PROTECT, related_name="visits"
    )
    checked_in_at = models.DateTimeField(_("checked in"), default=timezone.now)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", null=True
    )
    substances = models.JSONField(_("substances planned"), default=list)
    route = models.CharField(_("route"), max_length=10, choices=Route.choices)
    otherwise_location = models.CharField(
        _("would otherwise have used"), max_length=20, choices=OtherwiseLocation.choices
    )
    otherwise_alone = models.BooleanField(_("would otherwise use alone"), null=True)
    drug_checked = models.BooleanField(_("drug checked"), default=False)
    status = models.CharField(
        max_length=10, choices=VisitStatus.choices, default=VisitStatus.WAITING
    )
    ended_at = models.DateTimeField(_("left"), null=True, blank=True)
    end_reason = models.CharField(
        _("how the visit ended"), max_length=20, choices=EndReason.choices, blank=True
    )

    class Meta:
        indexes = [
            models.Index(fields=["site", "checked_in_at"]),
            models.Index(
                fields=["site", "checked_in_at"],
                name="visit_open_by_site",
                condition=~Q(status="ended"),
            ),
            # "Is this person already checked in?" at every check-in, whatever the history.
            models.Index(
                fields=["participant"],
                name="visit_open_by_participant",
                condition=~Q(status="ended"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.participant} at {self.site} {self.checked_in_at:%Y-%m-%d %H:%M}"

    def substance_labels(self) -> list[str]:
        labels = dict(Substance.choices)
        return [str(labels.get(s, s)) for s in self.substances]


class CheckResult(models.TextChoices):
    OK = "ok", _("Checked: OK")
    CONCERNED = "concerned", _("Concerned")


class Occupancy(models.Model):
    """One person in one place for a stretch of time. A place holds one person at a time:
    the database refuses a second open occupancy, so two staff assigning the same booth at
    the same moment cannot both succeed."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="occupancies")
    place = models.ForeignKey("sites.Place", on_delete=models.PROTECT, related_name="occupancies")
    started_at = models.DateTimeField(default=timezone.now)
    ended_at = models.DateTimeField(null=True, blank=True)
    # The latest check, kept beside the occupancy so the board needs no per-tile query.
    last_check_at = models.DateTimeField(null=True, blank=True)
    last_check_result = models.CharField(max_length=10, choices=CheckResult.choices, blank=True)

    class Meta:
        verbose_name_plural = "occupancies"
        constraints = [
            models.UniqueConstraint(
                fields=["place"], condition=Q(ended_at__isnull=True), name="one_person_per_place"
            ),
            models.UniqueConstraint(
                fields=["visit"], condition=Q(ended_at__isnull=True), name="one_place_per_visit"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.visit.participant} in {self.place.label}"


class Check(models.Model):
    """A visual check of the person in a place, recorded with one tap."""

    occupancy = models.ForeignKey(Occupancy, on_delete=models.CASCADE, related_name="checks")
    checked_at = models.DateTimeField(default=timezone.now)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    result = models.CharField(max_length=10, choices=CheckResult.choices)

    def __str__(self) -> str:
        return f"{self.get_result_display()} at {self.checked_at:%H:%M}"
