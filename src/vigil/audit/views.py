"""Who opened a participant's record: the access log a site manager reads (itself recorded)."""

from dataclasses import dataclass
from datetime import datetime

from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET

from vigil.accounts.middleware import allow
from vigil.accounts.models import Staff
from vigil.accounts.roles import Role
from vigil.audit.labels import OPENINGS, action_label
from vigil.audit.log import record
from vigil.audit.models import ActorKind, AuditEntry
from vigil.participants.models import Participant
from vigil.sites.access import sites_for
from vigil.sites.models import Site

PAGE = 100


@dataclass
class Row:
    seq: int
    at: datetime
    who: str
    role: str
    what: str
    opening: bool
    site: str
    via: str


def _who(entry: AuditEntry, staff: dict[int, Staff]) -> tuple[str, str]:
    if entry.actor_kind == ActorKind.STAFF:
        member = staff.get(entry.actor_id or 0)
        if member is not None:
            return f"{member} ({member.username})", member.get_role_display()
        return entry.actor_name, ""
    if entry.actor_kind == ActorKind.OS_USER:
        return _("%(user)s on the command line") % {"user": entry.actor_name}, ""
    return _("not signed in"), ""


@allow({Role.SITE_MANAGER})
@require_GET
def participant_log(request, pk: int):
    sites = list(sites_for(request.user))
    participant = get_object_or_404(
        Participant, pk=pk, jurisdiction__in={s.jurisdiction_id for s in sites}
    )
    # Entries made about records later merged into this one belong to the same person.
    ids = [participant.pk, *participant.merged_records.values_list("pk", flat=True)]
    record("participant.audit_open", request=request, subject=participant)
    entries = AuditEntry.objects.filter(participant_id__in=ids).order_by("-seq")
    only_openings = request.GET.get("only") == "openings"
    if only_openings:
        entries = entries.filter(action__in=OPENINGS)
    before = request.GET.get("before", "")
    if before.isdigit():
        entries = entries.filter(seq__lt=int(before))
    page = list(entries[: PAGE + 1])
    older = page[PAGE - 1].seq if len(page) > PAGE else None
    page = page[:PAGE]
    staff = Staff.objects.in_bulk({e.actor_id for e in page if e.actor_id is not None})
    site_names = dict(Site.objects.values_list("pk", "name"))
    rows = []
    for entry in page:
        who, role = _who(entry, staff)
        rows.append(
            Row(
                seq=entry.seq,
                at=entry.at,
                who=who,
                role=role,
                what=action_label(entry.action),
                opening=entry.action in OPENINGS,
                site=site_names.get(entry.site_id or 0, ""),
                via=entry.via,
            )
        )
    tz = sites[0].tz if sites else timezone.get_current_timezone()
    with timezone.override(tz):
        response = TemplateResponse(
            request,
            "audit/participant.html",
            {
                "participant": participant,
                "rows": rows,
                "older": older,
                "only_openings": only_openings,
                "paged": before.isdigit(),
            },
        )
        response.render()
    response["Cache-Control"] = "no-store"
    return response
