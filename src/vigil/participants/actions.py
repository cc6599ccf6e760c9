"""Writes to the anonymous registry. Views and commands call these; nothing else writes."""

import random
from dataclasses import dataclass
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.db.models import Q
from django.db.models.functions import Lower
from django.utils.translation import gettext as _

from vigil.audit import record
from vigil.lib import clock
from vigil.lib.codes import CodeItems, code_hash, normalise_code, pronounceable_alias
from vigil.lib.secrets import secret_file
from vigil.participants.models import Participant, ParticipantMerge, Restriction

_rng = random.SystemRandom()


class RegistryError(Exception):
    """A registry change that was refused; the message is for staff."""


class SameCodeExists(RegistryError):
    """Someone is already registered with this code: the desk must say whether this is them."""

    def __init__(self, existing: list[Participant]):
        self.existing = existing
        super().__init__(
            _(
                "Someone is already registered with this code: %(aliases)s. If this is the same "
                "person, check them in from the search; if not, confirm they are someone else."
            )
            % {"aliases": ", ".join(p.alias for p in existing)}
        )


def _hash(code: str) -> str:
    return code_hash(code, secret_file("participant-code-key"))


def hash_for_items(items: CodeItems) -> str:
    return _hash(items.code())


@dataclass(frozen=True)
class Profile:
    age_band: str = ""
    gender: str = ""
    housing: str = ""
    language: str = ""


def _free_alias(jurisdiction) -> str:
    for _attempt in range(50):
        alias = pronounceable_alias(_rng)
        if not Participant.objects.filter(jurisdiction=jurisdiction, alias__iexact=alias).exists():
            return alias
    raise RegistryError(_("Could not find a free alias; please type one."))


def register(
    *,
    jurisdiction,
    items: CodeItems,
    alias: str = "",
    profile: Profile = Profile(),
    oriented: bool = False,
    site=None,
    different_person: bool = False,
) -> Participant:
    """Add a participant. Raises SameCodeExists unless `different_person` is confirmed."""
    digest = hash_for_items(items)
    alias = alias.strip()
    if alias.startswith("~"):
        # "~<id>" is the alias of a de-identified record (keeping.actions.deidentify).
        raise RegistryError(_("An alias cannot start with “~”; choose another."))
    with transaction.atomic():
        existing = list(
            Participant.objects.filter(jurisdiction=jurisdiction, code_hash=digest).order_by(
                "code_suffix"
            )
        )
        if existing and not different_person:
            raise SameCodeExists(existing)
        if (
            alias
            and Participant.objects.filter(jurisdiction=jurisdiction, alias__iexact=alias).exists()
        ):
            raise RegistryError(
                _("The alias “%(alias)s” is already taken; choose another.") % {"alias": alias}
            )
        suffix = (max((p.code_suffix for p in existing), default=0)) + 1
        now = clock.now()
        try:
            with transaction.atomic():
                participant = Participant.objects.create(
                    jurisdiction=jurisdiction,
                    code_hash=digest,
                    code_suffix=suffix,
                    alias=alias or _free_alias(jurisdiction),
                    age_band=profile.age_band,
                    gender=profile.gender,
                    housing=profile.housing,
                    language=profile.language,
                    oriented_at=now if oriented else None,
                    registered_at=now,
                    registered_site=site,
                )
                record("participant.register", subject=participant, site=site)
                return participant
        except IntegrityError as exc:
            raise RegistryError(
                _("Someone else registered the same alias or code at this moment; try again.")
            ) from exc


def find(jurisdiction, query: str, limit: int = 10) -> list[Participant]:
    """Participants matching an alias (prefix, any case) or an exact code; merged records
    lead to the person they were merged into."""
    query = (query or "").strip()
    if not query:
        return []
    # A range on lower(alias) walks the (jurisdiction, lower(alias)) unique index; a plain
    # istartswith would read every participant of the jurisdiction.
    prefix = query.lower()
    found: list[Participant] = list(
        Participant.objects.alias(alias_lower=Lower("alias"))
        .filter(
            alias_lower__gte=prefix,
            alias_lower__lt=prefix + "\U0010ffff",
            alias__istartswith=query,
            jurisdiction=jurisdiction,
        )
        .select_related("merged_into")
        .order_by(Lower("alias"))[: limit * 2]
    )
    code = normalise_code(query)
    if code:
        found += Participant.objects.filter(
            code_hash=_hash(code), jurisdiction=jurisdiction
        ).select_related("merged_into")
        found.sort(key=lambda p: p.alias.lower())
    people: dict[int, Participant] = {}
    for person in found:
        survivor = person.merged_into or person
        people.setdefault(survivor.pk, survivor)
    return list(people.values())[:limit]


def find_by_items(jurisdiction, items: CodeItems) -> list[Participant]:
    return list(
        Participant.objects.filter(jurisdiction=jurisdiction, code_hash=hash_for_items(items))
        .select_related("merged_into")
        .order_by("code_suffix")
    )


def merge(*, survivor: Participant, merged: Participant, by) -> ParticipantMerge:
    """Record that two participant records are one person; the history stays with the survivor."""
    from vigil.floor.models import Visit

    if survivor.pk == merged.pk:
        raise RegistryError(_("A record cannot be merged into itself."))
    if survivor.jurisdiction_id != merged.jurisdiction_id:
        raise RegistryError(_("Only records of the same jurisdiction can be merged."))
    if survivor.is_merged or merged.is_merged:
        raise RegistryError(_("One of these records was already merged into another."))
    with transaction.atomic():
        moved = Visit.objects.filter(participant=merged).update(participant=survivor)
        Restriction.objects.filter(participant=merged).update(participant=survivor)
        # Care records follow the person too, so the timeline and the reports count them once.
        from vigil.care.models import MedicalEvent, Referral, ServiceGiven, SupplyGiven

        for model in (MedicalEvent, Referral, ServiceGiven, SupplyGiven):
            model.objects.filter(participant=merged).update(participant=survivor)
        merged.merged_into = survivor
        merged.save(update_fields=["merged_into"])
        merge = ParticipantMerge.objects.create(
            survivor=survivor,
            merged=merged,
            merged_alias=merged.alias,
            merged_by=by,
            merged_at=clock.now(),
            visits_moved=moved,
        )
        record(
            "participant.merge",
            actor=by,
            subject=survivor,
            detail={"merged": merged.pk, "visits_moved": moved},
        )
        return merge


def restrict(*, participant: Participant, reason: str, hours: int, by, site=None) -> Restriction:
    if not 1 <= hours <= 24 * 365:
        raise RegistryError(_("A restriction lasts between 1 hour and 1 year."))
    now = clock.now()
    with transaction.atomic():
        restriction = Restriction.objects.create(
            participant=participant,
            site=site,
            reason=reason,
            starts_at=now,
            ends_at=now + timedelta(hours=hours),
            created_by=by,
        )
        record(
            "participant.restrict",
            actor=by,
            subject=participant,
            site=site,
            detail={"restriction": restriction.pk},
        )
    return restriction


def lift(restriction: Restriction) -> None:
    with transaction.atomic():
        restriction.lifted_at = clock.now()
        restriction.save(update_fields=["lifted_at"])
        record(
            "participant.lift_restriction",
            subject=("participants.participant", restriction.participant_id),
            site=restriction.site_id,
            detail={"restriction": restriction.pk},
        )


def active_restrictions(participant: Participant, site, now=None) -> list[Restriction]:
    now = now or clock.now()
    return list(
        Restriction.objects.filter(
            Q(site=site) | Q(site__isnull=True),
            participant=participant,
            lifted_at__isnull=True,
            starts_at__lte=now,
            ends_at__gt=now,
        )
    )
