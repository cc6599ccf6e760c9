"""A participant's page for floor staff: alias, profile, restrictions, merging duplicates."""

from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from vigil.accounts.middleware import allow
from vigil.accounts.roles import CHECK_IN, FLOOR_STAFF, Role
from vigil.audit import record
from vigil.floor.models import Visit
from vigil.participants import actions
from vigil.participants.forms import MergeForm, RestrictionForm
from vigil.participants.models import Participant, Restriction
from vigil.sites.access import sites_for


def _participant_for(user, pk: int) -> Participant:
    jurisdictions = {s.jurisdiction_id for s in sites_for(user)}
    return get_object_or_404(
        Participant.objects.select_related("merged_into", "jurisdiction"),
        pk=pk,
        jurisdiction__in=jurisdictions,
    )


@allow(FLOOR_STAFF)
def detail(request, pk: int):
    participant = _participant_for(request.user, pk)
    record("participant.open", request=request, subject=participant)
    visits = (
        Visit.objects.filter(participant=participant)
        .select_related("site")
        .order_by("-checked_in_at")[:20]
    )
    return render(
        request,
        "participants/detail.html",
        {
            "participant": participant,
            "visits": visits,
            "restrictions": participant.restrictions.select_related("site")[:20],
            "restriction_form": RestrictionForm(),
            "merge_form": MergeForm(),
            "merges": participant.merges_in.select_related("merged_by"),
            "sites": sites_for(request.user).filter(jurisdiction=participant.jurisdiction),
            "can_merge": request.user.role in {Role.SITE_MANAGER} or request.user.is_superuser,
        },
    )


@allow(CHECK_IN)
@require_POST
def restrict(request, pk: int):
    participant = _participant_for(request.user, pk)
    form = RestrictionForm(request.POST)
    if form.is_valid():
        site = None
        if not form.cleaned_data["all_sites"]:
            site = sites_for(request.user).filter(pk=request.POST.get("site")).first()
            if site is None:
                messages.error(request, _("Choose the site the restriction applies to."))
                return redirect("participants:detail", pk=participant.pk)
        try:
            actions.restrict(
                participant=participant,
                site=site,
                reason=form.cleaned_data["reason"],
                hours=form.cleaned_data["hours"],
                by=request.user,
            )
        except actions.RegistryError as exc:
            messages.error(request, str(exc))
        else:
            messages.success(request, _("Restriction recorded."))
    else:
        messages.error(
            request,
            _("The restriction was not recorded: %(errors)s") % {"errors": form.errors.as_text()},
        )
    return redirect("participants:detail", pk=participant.pk)


@allow(CHECK_IN)
@require_POST
def lift(request, pk: int, restriction_id: int):
    participant = _participant_for(request.user, pk)
    restriction = get_object_or_404(Restriction, pk=restriction_id, participant=participant)
    actions.lift(restriction)
    messages.success(request, _("Restriction lifted."))
    return redirect("participants:detail", pk=participant.pk)


@allow({Role.SITE_MANAGER})
@require_POST
def merge(request, pk: int):
    survivor = _participant_for(request.user, pk)
    form = MergeForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("Type the alias of the other record."))
        return redirect("participants:detail", pk=survivor.pk)
    other = Participant.objects.filter(
        jurisdiction=survivor.jurisdiction, alias__iexact=form.cleaned_data["other"].strip()
    ).first()
    if other is None:
        messages.error(request, _("No participant has that alias."))
        return redirect("participants:detail", pk=survivor.pk)
    try:
        record = actions.merge(survivor=survivor, merged=other, by=request.user)
    except actions.RegistryError as exc:
        messages.error(request, str(exc))
    else:
        messages.success(
            request,
            _("%(merged)s merged into %(alias)s; %(n)d visits moved.")
            % {"merged": record.merged_alias, "alias": survivor.alias, "n": record.visits_moved},
        )
    return redirect("participants:detail", pk=survivor.pk)
