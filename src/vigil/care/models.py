"""What happens in the room: overdose and medical events, services, supplies, drug checking,
referrals into treatment and their follow-up.

Clinical records are never deleted. An amendment keeps the earlier version (who, when, why).
"""

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vigil.lib.crypto import EncryptedCharField, EncryptedJSONField, EncryptedTextField


class EventKind(models.TextChoices):
    OVERDOSE = "overdose", _("Overdose / drug poisoning")
    OTHER_MEDICAL = "other_medical", _("Other medical event")


class Sign(models.TextChoices):
    UNRESPONSIVE = "unresponsive", _("Unresponsive")
    SLOW_BREATHING = "slow_breathing", _("Slow breathing")
    NO_BREATHING = "no_breathing", _("No breathing")
    CYANOSIS = "cyanosis", _("Cyanosis (blue lips or skin)")
    PINPOINT_PUPILS = "pinpoint_pupils", _("Pinpoint pupils")
    SEIZURE = "seizure", _("Seizure")
    OTHER = "other", _("Other")


class EventOutcome(models.TextChoices):
    RECOVERED = "recovered_on_site", _("Recovered on site")
    TRANSPORTED = "transported", _("Transported to hospital")
    LEFT = "left", _("Left before recovery")
    DEATH = "death", _("Death")


class MedicalEvent(models.Model):
    site = models.ForeignKey("sites.Site", on_delete=models.PROTECT, related_name="medical_events")
    place = models.ForeignKey(
        "sites.Place", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    visit = models.ForeignKey(
        "floor.Visit",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="medical_events",
    )
    participant = models.ForeignKey(
        "participants.Participant",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="medical_events",
    )
    alarm = models.OneToOneField(
        "monitoring.Alarm",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="medical_event",
    )
    kind = models.CharField(
        _("kind"), max_length=20, choices=EventKind.choices, default=EventKind.OVERDOSE
    )
    started_at = models.DateTimeField(_("started"))
    signs = models.JSONField(_("signs"), default=list, blank=True)
    ems_called_at = models.DateTimeField(_("EMS called"), null=True, blank=True)
    ems_arrived_at = models.DateTimeField(_("EMS arrived"), null=True, blank=True)
    transported_at = models.DateTimeField(_("transported"), null=True, blank=True)
    outcome = models.CharField(
        _("outcome"), max_length=20, choices=EventOutcome.choices, blank=True
    )
    minutes_to_recovery = models.PositiveSmallIntegerField(
        _("minutes to recovery"), null=True, blank=True
    )
    staff_involved = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("staff involved")
    )
    # Encrypted: staff may write identifying details here however often the form says not to.
    notes = EncryptedTextField(
        _("notes"), blank=True, help_text=_("No names or identifying details.")
    )
    entered_late = models.BooleanField(
        _("entered late"),
        default=False,
        help_text=_(
            "Worked on paper while the system was down; entered afterwards with the real times."
        ),
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    signed_off_at = models.DateTimeField(_("signed off"), null=True, blank=True)
    signed_off_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    version = models.PositiveIntegerField(default=1)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["site", "started_at"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.site} {self.started_at:%Y-%m-%d %H:%M}"


class InterventionKind(models.TextChoices):
    STIMULATION = "stimulation", _("Stimulation")
    RESCUE_BREATHING = "rescue_breathing", _("Rescue breathing / bag-valve-mask")
    OXYGEN = "oxygen", _("Oxygen")
    NALOXONE = "naloxone", _("Naloxone")
    OTHER = "other", _("Other")


class NaloxoneRoute(models.TextChoices):
    IN = "IN", _("Intranasal (IN)")
    IM = "IM", _("Intramuscular (IM)")
    IV = "IV", _("Intravenous (IV)")


class Intervention(models.Model):
    event = models.ForeignKey(MedicalEvent, on_delete=models.PROTECT, related_name="interventions")
    kind = models.CharField(_("intervention"), max_length=20, choices=InterventionKind.choices)
    at = models.DateTimeField(_("time"))
    dose_mg = models.DecimalField(
        _("naloxone dose (mg)"), max_digits=5, decimal_places=2, null=True, blank=True
    )
    route = models.CharField(_("route"), max_length=2, choices=NaloxoneRoute.choices, blank=True)
    litres_per_minute = models.DecimalField(
        _("oxygen (L/min)"), max_digits=4, decimal_places=1, null=True, blank=True
    )
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    removed_at = models.DateTimeField(
        null=True, blank=True, help_text=_("Struck out by an amendment; kept for the record.")
    )

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} at {self.at:%H:%M}"


class EventAmendment(models.Model):
    """The event as it stood before an amendment, so the earlier version stays visible."""

    event = models.ForeignKey(MedicalEvent, on_delete=models.PROTECT, related_name="amendments")
    version = models.PositiveIntegerField(help_text=_("The version this snapshot was."))
    # The earlier version holds the alias and the notes as they stood: encrypted as a whole.
    snapshot = EncryptedJSONField()
    reason = EncryptedCharField(_("reason for the change"), max_length=200)
    amended_at = models.DateTimeField(default=timezone.now)
    amended_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-version"]

    def __str__(self) -> str:
        return f"v{self.version} of {self.event_id}"


class CareSettings(models.Model):
    """A site's lists: services it offers, supplies it gives out, and the drug-checking notice."""

    site = models.OneToOneField(
        "sites.Site", on_delete=models.CASCADE, related_name="care_settings"
    )
    services = models.JSONField(_("services offered"), default=list, blank=True)
    supplies = models.JSONField(_("supplies given out"), default=list, blank=True)
    potent_substances = models.JSONField(
        _("unexpected potent substances"),
        default=list,
        blank=True,
        help_text=_(
            "A drug check finding one of these when it was not expected raises a floor notice."
        ),
    )
    notify_unexpected = models.BooleanField(
        _("post a floor notice for unexpected potent substances"), default=True
    )

    def __str__(self) -> str:
        return f"Care settings of {self.site}"


class ServiceGiven(models.Model):
    site = models.ForeignKey("sites.Site", on_delete=models.PROTECT, related_name="services_given")
    visit = models.ForeignKey(
        "floor.Visit", on_delete=models.PROTECT, null=True, blank=True, related_name="services"
    )
    participant = models.ForeignKey(
        "participants.Participant",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="services",
    )
    service = models.CharField(_("service"), max_length=40)
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["site", "at"])]

    def __str__(self) -> str:
        return f"{self.service} at {self.at:%Y-%m-%d}"


class SupplyGiven(models.Model):
    """Supplies handed out (positive quantity) or returned (syringes back: `returned`)."""

    site = models.ForeignKey("sites.Site", on_delete=models.PROTECT, related_name="supplies_given")
    visit = models.ForeignKey(
        "floor.Visit", on_delete=models.PROTECT, null=True, blank=True, related_name="supplies"
    )
    participant = models.ForeignKey(
        "participants.Participant",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="supplies",
    )
    item = models.CharField(_("item"), max_length=40)
    quantity = models.PositiveIntegerField(_("quantity"))
    returned = models.BooleanField(_("returned to the site"), default=False)
    at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        indexes = [models.Index(fields=["site", "at"])]

    def __str__(self) -> str:
        return f"{self.quantity} × {self.item}"


class CheckMethod(models.TextChoices):
    TEST_STRIP = "test_strip", _("Test strip")
    FTIR = "ftir", _("FTIR spectrometer")
    LAB = "lab", _("Sent to a lab")


class DrugCheck(models.Model):
    site = models.ForeignKey("sites.Site", on_delete=models.PROTECT, related_name="drug_checks")
    sample_code = models.CharField(_("sample code"), max_length=40)
    visit = models.ForeignKey(
        "floor.Visit", on_delete=models.SET_NULL, null=True, blank=True, related_name="drug_checks"
    )
    method = models.CharField(_("method"), max_length=12, choices=CheckMethod.choices)
    expected = models.JSONField(_("expected substance"), default=list, blank=True)
    found = models.JSONField(_("substances found"), default=list, blank=True)
    result_pending = models.BooleanField(_("result pending"), default=False)
    unexpected_potent = models.JSONField(default=list, blank=True, editable=False)
    checked_at = models.DateTimeField(default=timezone.now)
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["site", "sample_code"], name="sample_code_unique_per_site"
            )
        ]

    def __str__(self) -> str:
        return self.sample_code


class FloorNotice(models.Model):
    """A notice for all staff on the floor board, e.g. fentanyl found where heroin was expected."""

    site = models.ForeignKey("sites.Site", on_delete=models.CASCADE, related_name="notices")
    text = models.CharField(max_length=300)
    drug_check = models.ForeignKey(
        DrugCheck, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    posted_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    dismissed_at = models.DateTimeField(null=True, blank=True)
    dismissed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    def __str__(self) -> str:
        return self.text


class ReferralKind(models.TextChoices):
    BUPRENORPHINE = "buprenorphine", _("Buprenorphine (MOUD)")
    METHADONE = "methadone", _("Methadone (MOUD)")
    DETOX = "detox", _("Detox / withdrawal management")
    RESIDENTIAL = "residential", _("Residential treatment")
    MENTAL_HEALTH = "mental_health", _("Mental health")
    PRIMARY_CARE = "primary_care", _("Primary care")
    HOUSING = "housing", _("Housing")
    OTHER = "other", _("Other")


TREATMENT_KINDS = frozenset(
    {
        ReferralKind.BUPRENORPHINE,
        ReferralKind.METHADONE,
        ReferralKind.DETOX,
        ReferralKind.RESIDENTIAL,
    }
)


class ReferralWhere(models.TextChoices):
    IN_SITE = "in_site", _("In the site")
    PARTNER_ON_SITE = "partner_on_site", _("Partner on site")
    OFF_SITE = "off_site", _("Off site")


class ReferralStatus(models.TextChoices):
    REFERRED = "referred", _("Referred")
    ACCEPTED = "accepted", _("Accepted")
    ATTENDED = "attended", _("Attended")
    ENTERED_TREATMENT = "entered_treatment", _("Entered treatment")
    DECLINED = "declined", _("Declined")
    LOST = "lost", _("Lost to follow-up")


class Referral(models.Model):
    site = models.ForeignKey("sites.Site", on_delete=models.PROTECT, related_name="referrals")
    participant = models.ForeignKey(
        "participants.Participant", on_delete=models.PROTECT, related_name="referrals"
    )
    visit = models.ForeignKey(
        "floor.Visit", on_delete=models.SET_NULL, null=True, blank=True, related_name="referrals"
    )
    kind = models.CharField(_("referral to"), max_length=20, choices=ReferralKind.choices)
    where = models.CharField(_("where"), max_length=20, choices=ReferralWhere.choices)
    partner = EncryptedCharField(_("partner or service"), max_length=120, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=ReferralStatus.choices, default=ReferralStatus.REFERRED
    )
    referred_at = models.DateTimeField(_("referred"), default=timezone.now)
    accepted_at = models.DateTimeField(_("accepted"), null=True, blank=True)
    attended_at = models.DateTimeField(_("attended"), null=True, blank=True)
    entered_treatment_at = models.DateTimeField(_("entered treatment"), null=True, blank=True)
    closed_at = models.DateTimeField(_("declined or lost"), null=True, blank=True)
    direct_from_room = models.BooleanField(
        _("went directly from the room into treatment"),
        default=False,
    )
    follow_up_due = models.DateField(_("follow up by"), null=True, blank=True)
    referred_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-referred_at"]
        indexes = [
            models.Index(fields=["site", "referred_at"]),
            models.Index(fields=["status", "follow_up_due"]),
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.get_status_display()})"


class ReferralStep(models.Model):
    """Each step of a referral's path, with its date and who recorded it."""

    referral = models.ForeignKey(Referral, on_delete=models.CASCADE, related_name="steps")
    status = models.CharField(max_length=20, choices=ReferralStatus.choices)
    at = models.DateTimeField()
    by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    note = EncryptedCharField(max_length=200, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.status} at {self.at:%Y-%m-%d}"
