"""A study run from the evaluator pages: its results and report, kept so they can be read and
downloaded again (HTML, PDF, JSON). Every figure in them is already protected against small
counts; nothing here names a participant."""

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _


class StudyRun(models.Model):
    # A random id in URLs: run numbers would tell how many studies others ran.
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    title = models.CharField(_("title"), max_length=200)
    kind = models.CharField(
        max_length=10,
        choices=[("demo", "demo"), ("records", "records"), ("upload", "upload")],
    )
    created_at = models.DateTimeField(default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    # The sites whose records were read (empty for the demo study over public data and for a
    # study of an uploaded CSV file): who may open the run is decided from them; a run without
    # sites is open to its author only.
    site_ids = models.JSONField(default=list, blank=True)
    results = models.JSONField()
    report_html = models.TextField(help_text="the whole report, as downloaded and printed")
    page_html = models.TextField(help_text="the report's body for the page, figures as images")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.title} ({self.created_at:%Y-%m-%d %H:%M})"
