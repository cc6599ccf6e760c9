"""The audit log's two tables: the append-only chain of entries and the one row that is its head.

Entries name people and records by internal ids only, without foreign keys: retention may
de-identify or remove what an entry points at, and the chain must stay valid.
"""

from django.db import models
from django.utils.translation import gettext_lazy as _


class AppendOnly(Exception):
    """The audit log is never changed or deleted through the application."""


class EntryQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise AppendOnly("audit entries cannot be changed")

    def delete(self):
        raise AppendOnly("audit entries cannot be deleted")

    def bulk_update(self, objs, fields, batch_size=None):
        raise AppendOnly("audit entries cannot be changed")

    def update_or_create(self, defaults=None, create_defaults=None, **kwargs):
        raise AppendOnly("audit entries cannot be changed")


class ActorKind(models.TextChoices):
    STAFF = "staff", _("staff")
    OS_USER = "os_user", _("command line")
    ANONYMOUS = "anonymous", _("not signed in")


class AuditEntry(models.Model):
    seq = models.PositiveBigIntegerField(unique=True)
    at = models.DateTimeField()
    actor_kind = models.CharField(max_length=12, choices=ActorKind.choices)
    actor_id = models.BigIntegerField(null=True, blank=True)
    actor_name = models.CharField(max_length=150, blank=True)
    via = models.CharField(max_length=60, blank=True)
    os_user = models.CharField(max_length=64, blank=True)
    action = models.CharField(max_length=64)
    subject_type = models.CharField(max_length=64, blank=True)
    subject_id = models.BigIntegerField(null=True, blank=True)
    participant_id = models.BigIntegerField(null=True, blank=True)
    site_id = models.BigIntegerField(null=True, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    prev_hash = models.CharField(max_length=64)
    hash = models.CharField(max_length=64)

    objects = EntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("audit entry")
        verbose_name_plural = _("audit entries")
        indexes = [
            models.Index(fields=["participant_id", "seq"], name="audit_participant_seq"),
            models.Index(fields=["subject_type", "subject_id"], name="audit_subject"),
        ]

    def __str__(self) -> str:
        return f"{self.seq} {self.action}"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise AppendOnly("audit entries cannot be changed")
        kwargs["force_insert"] = True
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise AppendOnly("audit entries cannot be deleted")


class AuditHead(models.Model):
    """The chain's newest entry (one row, pk 1). Appenders lock it, so the chain has one head;
    `chain` names this log, so a head file written for another database is not mistaken for
    this one's."""

    chain = models.CharField(max_length=32)
    seq = models.PositiveBigIntegerField(default=0)
    hash = models.CharField(max_length=64)

    def __str__(self) -> str:
        return f"{self.chain} @ {self.seq}"
