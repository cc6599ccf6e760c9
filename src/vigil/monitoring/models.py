"""Devices, what they sent, and the alarms raised from it (with their timelines)."""

import hashlib
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from vigil.monitoring.alarms import OPEN, AlarmState, Outcome, State, sounding
from vigil.monitoring.rules import Priority


class DeviceKind(models.TextChoices):
    MONITOR = "monitor", _("Patient monitor / oximeter (HL7)")
    BRIDGE = "bridge", _("Bridge over HTTP (e.g. Bluetooth oximeter)")
    MOTION = "motion", _("Motion sensor")
    DOOR = "door", _("Door / presence sensor")


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class Device(models.Model):
    """A device, known by its identity (EUI-64 or sending application). Bound to a place, it
    monitors whoever is in that place; unbound, its messages are refused (AE) and it is listed
    for an administrator to bind."""

    device_id = models.CharField(
        _("device id"),
        max_length=64,
        unique=True,
        help_text=_("Normalised: upper case, no separators."),
    )
    label = models.CharField(_("label"), max_length=100, blank=True)
    kind = models.CharField(
        _("kind"), max_length=10, choices=DeviceKind.choices, default=DeviceKind.MONITOR
    )
    place = models.ForeignKey(
        "sites.Place", on_delete=models.SET_NULL, null=True, blank=True, related_name="devices"
    )
    token_hash = models.CharField(max_length=64, blank=True, editable=False)
    simulated = models.BooleanField(default=False)
    first_seen_at = models.DateTimeField(null=True, blank=True)
    last_seen_at = models.DateTimeField(null=True, blank=True)
    clock_skew_seconds = models.FloatField(
        _("device clock offset (s)"),
        null=True,
        blank=True,
        help_text=_("Device time minus arrival time at the last message; flagged past 30 s."),
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["device_id"]

    def __str__(self) -> str:
        return self.label or self.device_id

    def new_token(self) -> str:
        token = secrets.token_urlsafe(32)
        self.token_hash = hash_token(token)
        return token


class Reading(models.Model):
    """One message's values. Kept (for a retention period) even from empty places."""

    device = models.ForeignKey(Device, on_delete=models.CASCADE, related_name="readings")
    place = models.ForeignKey(
        "sites.Place", on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    received_at = models.DateTimeField()
    observed_at = models.DateTimeField(null=True, blank=True)
    spo2 = models.FloatField(null=True, blank=True)
    pulse = models.FloatField(null=True, blank=True)
    resp = models.FloatField(null=True, blank=True)
    apnea = models.BooleanField(default=False)
    motion = models.BooleanField(null=True, blank=True)
    occupied = models.BooleanField(null=True, blank=True)
    control_id = models.CharField(
        max_length=64, blank=True, help_text=_("HL7 MSH-10 of the message.")
    )

    class Meta:
        indexes = [
            models.Index(fields=["place", "received_at"]),
            models.Index(fields=["device", "control_id"]),
        ]

    def __str__(self) -> str:
        return f"{self.device_id} at {self.received_at:%H:%M:%S}"


class Alarm(models.Model):
    site = models.ForeignKey("sites.Site", on_delete=models.PROTECT, related_name="alarms")
    place = models.ForeignKey("sites.Place", on_delete=models.PROTECT, related_name="alarms")
    device = models.ForeignKey(
        Device, on_delete=models.SET_NULL, null=True, blank=True, related_name="alarms"
    )
    visit = models.ForeignKey(
        "floor.Visit", on_delete=models.SET_NULL, null=True, blank=True, related_name="alarms"
    )
    kind = models.CharField(max_length=20)
    priority = models.CharField(max_length=6, choices=[(p.value, p.value) for p in Priority])
    state = models.CharField(
        max_length=12, choices=[(s.value, s.value) for s in State], default=State.ACTIVE
    )
    condition_active = models.BooleanField(default=True)
    first_abnormal_at = models.DateTimeField(null=True, blank=True)
    raised_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    claimed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    silenced_until = models.DateTimeField(null=True, blank=True)
    resounded_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    resolved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    outcome = models.CharField(
        max_length=20, blank=True, choices=[(o.value, o.value) for o in Outcome]
    )
    cleared_at = models.DateTimeField(null=True, blank=True)
    escalation_level = models.PositiveSmallIntegerField(default=0)
    next_deadline_at = models.DateTimeField(null=True, blank=True, db_index=True)
    rule_version = models.PositiveIntegerField(default=1)
    detail = models.JSONField(default=dict, blank=True)

    # Whether screens should sound for it, worked out at render time (see `sounding_at`).
    sounding = False

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["place", "kind"],
                condition=Q(state__in=sorted(s.value for s in OPEN)),
                name="one_open_alarm_per_place_and_kind",
            ),
        ]
        indexes = [models.Index(fields=["site", "state"])]

    def __str__(self) -> str:
        return f"{self.kind} at {self.place} ({self.state})"

    @property
    def is_open(self) -> bool:
        return self.state in OPEN

    def machine_state(self) -> AlarmState:
        return AlarmState(
            priority=Priority(self.priority),
            raised_at=self.raised_at,
            state=State(self.state),
            condition_active=self.condition_active,
            acknowledged_at=self.acknowledged_at,
            claimed_at=self.claimed_at,
            silenced_until=self.silenced_until,
            resolved_at=self.resolved_at,
            cleared_at=self.cleared_at,
            outcome=self.outcome,
            escalation_level=self.escalation_level,
            resounded_at=self.resounded_at,
        )

    def sounding_at(self, now) -> bool:
        return sounding(self.machine_state(), now)


PRIORITY_RANK = {Priority.HIGH: 3, Priority.MEDIUM: 2, Priority.LOW: 1}


def open_alarms_by_urgency(site, now) -> list[Alarm]:
    """A site's open alarms, most urgent first (priority, then the oldest), each marked with
    whether screens should sound for it at `now`."""
    alarms = list(
        Alarm.objects.filter(site=site, state__in=sorted(s.value for s in OPEN))
        .select_related("place", "claimed_by", "acknowledged_by")
        .order_by("raised_at")
    )
    alarms.sort(key=lambda a: (-PRIORITY_RANK.get(Priority(a.priority), 0), a.raised_at))
    for alarm in alarms:
        alarm.sounding = alarm.sounding_at(now)
    return alarms


class AlarmEvent(models.Model):
    """One step in an alarm's timeline: raised, acknowledged, escalated, notified, resolved..."""

    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField()
    kind = models.CharField(max_length=30)
    by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    detail = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.kind} at {self.at:%H:%M:%S}"


class NotificationStatus(models.TextChoices):
    PENDING = "pending", _("Pending")
    DELIVERED = "delivered", _("Delivered")
    GAVE_UP = "gave_up", _("Gave up")


class Notification(models.Model):
    """An escalation to a fallback contact, kept until delivered (an outbox: it survives a
    restart and is retried while the receiver is down)."""

    alarm = models.ForeignKey(Alarm, on_delete=models.CASCADE, related_name="notifications")
    contact = models.CharField(max_length=100)
    notifier = models.CharField(max_length=20)
    target = models.CharField(max_length=500, blank=True)
    payload = models.JSONField(default=dict)
    idempotency_key = models.CharField(max_length=64, unique=True)
    status = models.CharField(
        max_length=10, choices=NotificationStatus.choices, default=NotificationStatus.PENDING
    )
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now, db_index=True)
    last_error = models.CharField(max_length=300, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self) -> str:
        return f"{self.notifier} to {self.contact}: {self.status}"


class AlarmSettings(models.Model):
    """Per-site alarm handling: escalation timers, fallback contacts, who is on shift."""

    site = models.OneToOneField(
        "sites.Site", on_delete=models.CASCADE, related_name="alarm_settings"
    )
    ack_escalation_seconds = models.PositiveSmallIntegerField(
        _("re-announce if not acknowledged after (s)"), default=15
    )
    claim_escalation_seconds = models.PositiveSmallIntegerField(
        _("notify fallback contacts if not claimed after (s)"), default=45
    )
    resound_after_seconds = models.PositiveSmallIntegerField(
        _("sound again after acknowledgement (s)"), default=120
    )
    fallback_contacts = models.JSONField(
        _("fallback contacts"),
        default=list,
        blank=True,
        help_text=_(
            'A list like [{"name": "On-call nurse", "notifier": "webhook", "target": "https://sms-gateway.lan/send"}, {"name": "Log", "notifier": "log"}].'
        ),
    )
    on_shift = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="+", verbose_name=_("on shift")
    )

    def __str__(self) -> str:
        return f"Alarm settings of {self.site}"


class RuleVersion(models.Model):
    """The detection rule settings of a site, versioned: every alarm records the version that
    raised it."""

    site = models.ForeignKey("sites.Site", on_delete=models.CASCADE, related_name="rule_versions")
    version = models.PositiveIntegerField()
    rules = models.JSONField()
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site", "version"], name="rule_version_unique")
        ]
        ordering = ["site", "-version"]

    def __str__(self) -> str:
        return f"{self.site} rules v{self.version}"
