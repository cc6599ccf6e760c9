"""Every write of engagement: services and supplies given, drug checks and the floor notices
they raise, referrals and their path, and a site's care lists.

Each action checks what it is given (forms check too, but a command, the API or the demo may
call an action directly), runs in one transaction, and tells floor screens only after it
commits, so a screen never shows a notice that was rolled back.
"""

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vigil.audit import record
from vigil.audit.log import record_many
from vigil.care import referral_path
from vigil.care.lists import DEFAULT_POTENT, services_for, supplies_for
from vigil.care.models import (
    CareSettings,
    CheckMethod,
    DrugCheck,
    FloorNotice,
    Referral,
    ReferralKind,
    ReferralStatus,
    ReferralStep,
    ReferralWhere,
    ServiceGiven,
    SupplyGiven,
)
from vigil.floor.actions import floor_topic
from vigil.floor.models import Visit
from vigil.lib import clock
from vigil.lib.hub import hub

# Syringes brought back are counted together, whatever their size: sites report "syringes
# returned" against "syringes given", and nobody sorts a sharps container by size.
RETURNED_ITEM = "syringes"
MAX_QUANTITY = 1000
MAX_RETURNED = 5000
# A notice about the drug supply matters for the rest of the day, not for ever.
NOTICE_HOURS = 12
# Two taps on "went directly into treatment" within this time are one person going once.
DOUBLE_TAP = timedelta(minutes=10)
# Clocks on tablets drift; an entry a few minutes "in the future" is not a typo.
CLOCK_SLACK = timedelta(minutes=5)

CODE = re.compile(r"^[a-z0-9][a-z0-9_]{0,39}$")

# What drug checking looks for. Sites see new adulterants every year, so anything else can be
# typed in; these are the common answers, in the words a checking service uses.
SUBSTANCES = [
    ("fentanyl", gettext_lazy("Fentanyl")),
    ("carfentanil", gettext_lazy("Carfentanil")),
    ("nitazene", gettext_lazy("Nitazene")),
    ("heroin", gettext_lazy("Heroin")),
    ("other_opioid", gettext_lazy("Other opioid")),
    ("xylazine", gettext_lazy("Xylazine")),
    ("medetomidine", gettext_lazy("Medetomidine")),
    ("benzodiazepine", gettext_lazy("Benzodiazepine (e.g. bromazolam)")),
    ("methamphetamine", gettext_lazy("Methamphetamine")),
    ("cocaine", gettext_lazy("Cocaine / crack")),
    ("mdma", gettext_lazy("MDMA")),
    ("ketamine", gettext_lazy("Ketamine")),
    ("caffeine", gettext_lazy("Caffeine")),
]


class CareError(Exception):
    """An engagement action that was refused; the message is for staff."""


def _announce_floor(site_id: int) -> None:
    transaction.on_commit(lambda: hub.publish(floor_topic(site_id), {"type": "floor"}))


def _not_in_future(at: datetime, now: datetime) -> None:
    if at > now + CLOCK_SLACK:
        raise CareError(_("That time is in the future."))


def _survivor(participant):
    """Records go to the person a merged record now points at."""
    if participant is not None and participant.merged_into_id:
        return participant.merged_into
    return participant


def label_for(code: str, pairs: Iterable[tuple[str, object]]) -> str:
    """A list entry's label; a code no longer on the site's list still reads as words."""
    for value, label in pairs:
        if value == code:
            return str(label)
    return code.replace("_", " ").capitalize()


def substance_label(code: str) -> str:
    return label_for(code, SUBSTANCES)


# --- Services and supplies ------------------------------------------------------------------


@dataclass(frozen=True)
class Given:
    """What one person (or an unregistered walk-in) was given at one moment."""

    services: tuple[str, ...] = ()
    supplies: Mapping[str, int] = field(default_factory=dict)
    returned: int = 0
    visit: Visit | None = None
    participant: object | None = None
    at: datetime | None = None

    @property
    def empty(self) -> bool:
        return not self.services and not any(self.supplies.values()) and not self.returned


def _check_quantity(value, label: str, limit: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise CareError(_("%(item)s: the quantity must be a whole number.") % {"item": label})
    if value < 0:
        raise CareError(_("%(item)s: a quantity cannot be negative.") % {"item": label})
    if value > limit:
        raise CareError(
            _("%(item)s: %(n)d is more than %(limit)d at once; check the number.")
            % {"item": label, "n": value, "limit": limit}
        )
    return value


def _rows_for(site, by, given: Given, services: dict, supplies: dict, now) -> tuple[list, list]:
    if given.empty:
        raise CareError(_("Nothing to record: choose a service or enter a quantity."))
    visit, participant = given.visit, _survivor(given.participant)
    if visit is not None:
        if visit.site_id != site.pk:
            raise CareError(_("That visit belongs to another site."))
        if participant is not None and participant.pk != visit.participant_id:
            raise CareError(_("That visit is someone else's."))
        participant = visit.participant
    if participant is not None and participant.jurisdiction_id != site.jurisdiction_id:
        raise CareError(_("This participant is registered with another jurisdiction."))
    at = given.at or now
    _not_in_future(at, now)
    common = {"site": site, "visit": visit, "participant": participant, "at": at, "by": by}
    service_rows = []
    for code in dict.fromkeys(given.services):
        if code not in services:
            raise CareError(_("“%(code)s” is not one of this site's services.") % {"code": code})
        service_rows.append(ServiceGiven(service=code, **common))
    supply_rows = []
    for item, quantity in given.supplies.items():
        if item not in supplies:
            raise CareError(_("“%(code)s” is not one of this site's supplies.") % {"code": item})
        if _check_quantity(quantity, supplies[item], MAX_QUANTITY):
            supply_rows.append(SupplyGiven(item=item, quantity=quantity, **common))
    if _check_quantity(given.returned, _("Syringes returned"), MAX_RETURNED):
        supply_rows.append(
            SupplyGiven(item=RETURNED_ITEM, quantity=given.returned, returned=True, **common)
        )
    return service_rows, supply_rows


def record_given_many(*, site, by, entries: Iterable[Given]) -> tuple[int, int]:
    """Record many handouts at once (the demo, a paper tally entered later): all or nothing.
    Returns how many service and supply rows were written."""
    services = dict(services_for(site))
    supplies = dict(supplies_for(site))
    now = clock.now()
    service_rows: list[ServiceGiven] = []
    supply_rows: list[SupplyGiven] = []
    audited: list[tuple[object, dict]] = []
    for given in entries:
        s, p = _rows_for(site, by, given, services, supplies, now)
        service_rows += s
        supply_rows += p
        first = (s or p)[0]
        audited.append(
            (first.visit or first.participant, {"services": len(s), "supply_rows": len(p)})
        )
    with transaction.atomic():
        ServiceGiven.objects.bulk_create(service_rows, batch_size=500)
        SupplyGiven.objects.bulk_create(supply_rows, batch_size=500)
        record_many("care.given", audited, actor=by, site=site)
    return len(service_rows), len(supply_rows)


def record_given(*, site, by, given: Given) -> tuple[int, int]:
    """Record what one person was given: the quick-add on a floor tile and at the desk."""
    return record_given_many(site=site, by=by, entries=[given])


# --- Drug checking ------------------------------------------------------------------------


def normalise_substances(values: Iterable[str]) -> list[str]:
    """Lower-case codes, in the order given, without repeats: "Fentanyl " and "fentanyl" are
    one substance, and so the same word finds the same rows in a report."""
    seen: dict[str, None] = {}
    for value in values:
        code = re.sub(r"[\s-]+", "_", str(value).strip().lower())
        if not code:
            continue
        if len(code) > 40:
            raise CareError(_("“%(name)s” is too long for a substance name.") % {"name": value})
        seen[code] = None
    return list(seen)


def unexpected_potent(expected: Iterable[str], found: Iterable[str], potent: Iterable[str]):
    """Potent substances found that nobody expected: the reason for a floor notice."""
    expected_set, potent_set = set(expected), set(potent)
    return [s for s in found if s in potent_set and s not in expected_set]


def potent_for(site) -> list[str]:
    settings = getattr(site, "care_settings", None)
    if settings is not None and settings.potent_substances:
        return list(settings.potent_substances)
    return list(DEFAULT_POTENT)


def _notify_unexpected(site) -> bool:
    settings = CareSettings.objects.filter(site=site).first()
    return settings.notify_unexpected if settings is not None else True


def _join(codes: Iterable[str]) -> str:
    return ", ".join(substance_label(c) for c in codes)


def _post_notice(check: DrugCheck, now: datetime) -> FloorNotice | None:
    if not check.unexpected_potent or not _notify_unexpected(check.site):
        return None
    found = _join(check.unexpected_potent)
    if check.expected:
        text = _(
            "Drug check %(code)s: %(found)s found in a sample sold as %(expected)s. "
            "Tell people: test, start low, go slow, don't use alone."
        ) % {"code": check.sample_code, "found": found, "expected": _join(check.expected)}
    else:
        text = _(
            "Drug check %(code)s: %(found)s found. "
            "Tell people: test, start low, go slow, don't use alone."
        ) % {"code": check.sample_code, "found": found}
    notice = FloorNotice.objects.create(
        site=check.site,
        text=text[:300],
        drug_check=check,
        posted_at=now,
        expires_at=now + timedelta(hours=NOTICE_HOURS),
    )
    _announce_floor(check.site_id)
    return notice


def record_drug_check(
    *,
    site,
    by,
    sample_code: str,
    method: str,
    expected: Iterable[str] = (),
    found: Iterable[str] = (),
    result_pending: bool = False,
    visit: Visit | None = None,
    at: datetime | None = None,
) -> DrugCheck:
    """Record a sample's check. When it finds a potent substance nobody expected and the site
    says so, every floor screen gets a notice."""
    now = clock.now()
    at = at or now
    _not_in_future(at, now)
    code = (sample_code or "").strip()
    if not code:
        raise CareError(_("Give the sample a code."))
    if len(code) > 40:
        raise CareError(_("A sample code has at most 40 characters."))
    if method not in CheckMethod.values:
        raise CareError(_("Choose how the sample was checked."))
    if visit is not None and visit.site_id != site.pk:
        raise CareError(_("That visit belongs to another site."))
    expected_codes = normalise_substances(expected)
    found_codes = normalise_substances(found)
    if result_pending and found_codes:
        raise CareError(_("A pending result has no substances yet; untick “result pending”."))
    unexpected = (
        [] if result_pending else unexpected_potent(expected_codes, found_codes, potent_for(site))
    )
    try:
        with transaction.atomic():
            check = DrugCheck.objects.create(
                site=site,
                sample_code=code,
                visit=visit,
                method=method,
                expected=expected_codes,
                found=found_codes,
                result_pending=result_pending,
                unexpected_potent=unexpected,
                checked_at=at,
                by=by,
            )
            _post_notice(check, now)
            record("drug_check.create", actor=by, subject=check)
    except IntegrityError as exc:
        raise CareError(
            _("Sample code %(code)s is already used at this site.") % {"code": code}
        ) from exc
    return check


def record_drug_check_result(*, check: DrugCheck, found: Iterable[str], by) -> DrugCheck:
    """The lab's answer to a sample sent away."""
    found_codes = normalise_substances(found)
    now = clock.now()
    with transaction.atomic():
        check = DrugCheck.objects.select_for_update().select_related("site").get(pk=check.pk)
        if not check.result_pending:
            raise CareError(
                _("Sample %(code)s already has its result.") % {"code": check.sample_code}
            )
        check.found = found_codes
        check.result_pending = False
        check.unexpected_potent = unexpected_potent(
            check.expected, found_codes, potent_for(check.site)
        )
        check.save(update_fields=["found", "result_pending", "unexpected_potent"])
        _post_notice(check, now)
        record("drug_check.result", actor=by, subject=check)
    return check


def dismiss_notice(*, notice: FloorNotice, by) -> FloorNotice:
    now = clock.now()
    with transaction.atomic():
        updated = FloorNotice.objects.filter(pk=notice.pk, dismissed_at__isnull=True).update(
            dismissed_at=now, dismissed_by=by
        )
        if not updated:
            raise CareError(_("That notice was already taken down."))
        _announce_floor(notice.site_id)
    notice.refresh_from_db()
    return notice


def next_sample_code(site, now: datetime | None = None) -> str:
    """A suggestion for the next sample's code: the local date and a running number."""
    now = now or clock.now()
    prefix = now.astimezone(site.tz).strftime("%y%m%d-")
    taken = set(
        DrugCheck.objects.filter(site=site, sample_code__startswith=prefix).values_list(
            "sample_code", flat=True
        )
    )
    n = len(taken) + 1
    while f"{prefix}{n:03d}" in taken:
        n += 1
    return f"{prefix}{n:03d}"


# --- A site's lists -------------------------------------------------------------------------


def _check_list(entries: list[tuple[str, str]], what: str) -> list[list[str]]:
    if not entries:
        raise CareError(_("The %(what)s list needs at least one entry.") % {"what": what})
    seen = set()
    for code, label in entries:
        if not CODE.match(code):
            raise CareError(
                _(
                    "“%(code)s”: a code is lower-case letters, digits and _ (at most 40), "
                    "starting with a letter or digit."
                )
                % {"code": code}
            )
        if code in seen:
            raise CareError(_("“%(code)s” is listed twice.") % {"code": code})
        if not label.strip() or len(label) > 80:
            raise CareError(_("“%(code)s” needs a label of 1 to 80 characters.") % {"code": code})
        seen.add(code)
    return [[code, label.strip()] for code, label in entries]


def save_care_settings(
    *,
    site,
    services: list[tuple[str, str]],
    supplies: list[tuple[str, str]],
    potent: list[str],
    notify: bool,
    by,
) -> CareSettings:
    """Replace a site's lists. Codes already recorded keep their meaning: a code taken off the
    list stays in old records and still reads as words."""
    services_list = _check_list(services, _("services"))
    supplies_list = _check_list(supplies, _("supplies"))
    if any(code == RETURNED_ITEM for code, _label in supplies_list):
        raise CareError(
            _("“%(code)s” is kept for syringes returned; choose another code.")
            % {"code": RETURNED_ITEM}
        )
    potent_list = normalise_substances(potent)
    with transaction.atomic():
        settings, _created = CareSettings.objects.select_for_update().get_or_create(site=site)
        settings.services = services_list
        settings.supplies = supplies_list
        settings.potent_substances = potent_list
        settings.notify_unexpected = notify
        settings.save()
    site.care_settings = settings
    return settings


# --- Referrals ------------------------------------------------------------------------------


def _open_visit(site, participant) -> Visit | None:
    from vigil.floor.models import VisitStatus

    return (
        Visit.objects.filter(site=site, participant=participant)
        .exclude(status=VisitStatus.ENDED)
        .order_by("-checked_in_at")
        .first()
    )


def _check_referral_target(site, participant, visit):
    participant = _survivor(participant)
    if participant is None:
        raise CareError(_("A referral is for a registered participant."))
    if participant.jurisdiction_id != site.jurisdiction_id:
        raise CareError(_("This participant is registered with another jurisdiction."))
    if visit is not None and (visit.site_id != site.pk or visit.participant_id != participant.pk):
        raise CareError(_("That visit is not this participant's visit at this site."))
    return participant


def make_referral(
    *,
    site,
    participant,
    by,
    kind: str,
    where: str,
    partner: str = "",
    follow_up_due: date | None = None,
    visit: Visit | None = None,
    note: str = "",
    at: datetime | None = None,
) -> Referral:
    """Refer someone to a service or to treatment; the first step of its path is "referred"."""
    participant = _check_referral_target(site, participant, visit)
    if kind not in ReferralKind.values:
        raise CareError(_("Choose what the referral is to."))
    if where not in ReferralWhere.values:
        raise CareError(_("Choose where the service is."))
    if len(partner) > 120 or len(note) > 200:
        raise CareError(_("The partner has at most 120 characters and the note 200."))
    now = clock.now()
    at = at or now
    _not_in_future(at, now)
    if follow_up_due is not None and follow_up_due < at.astimezone(site.tz).date():
        raise CareError(_("The follow-up date is before the referral."))
    with transaction.atomic():
        referral = Referral.objects.create(
            site=site,
            participant=participant,
            visit=visit or _open_visit(site, participant),
            kind=kind,
            where=where,
            partner=partner.strip(),
            referred_at=at,
            follow_up_due=follow_up_due,
            referred_by=by,
        )
        step = ReferralStep.objects.create(
            referral=referral, status=ReferralStatus.REFERRED, at=at, by=by, note=note.strip()
        )
        record("referral.create", actor=by, subject=referral, detail={"step": step.pk})
    return referral


def advance_referral(
    *,
    referral: Referral,
    to: str,
    by,
    at: datetime | None = None,
    note: str = "",
    follow_up_due: date | None = None,
) -> Referral:
    """Move a referral one step along its path, with the date it happened. Two people moving
    the same referral at once: the second is told where it already went."""
    now = clock.now()
    at = at or now
    _not_in_future(at, now)
    if len(note) > 200:
        raise CareError(_("A note has at most 200 characters."))
    with transaction.atomic():
        current = Referral.objects.select_for_update().select_related("site").get(pk=referral.pk)
        if current.status != referral.status:
            raise CareError(
                _("This referral was just moved to “%(status)s” by someone else.")
                % {"status": current.get_status_display()}
            )
        if to not in referral_path.allowed(current.status, current.kind):
            raise CareError(
                _("A referral that is “%(status)s” cannot become “%(to)s”.")
                % {
                    "status": current.get_status_display(),
                    "to": ReferralStatus(to).label if to in ReferralStatus.values else to,
                }
            )
        last = current.steps.order_by("-at", "-pk").values_list("at", flat=True).first()
        if last is not None and at < last:
            # Typed times have whole minutes: a step typed in the same minute as the last one
            # is after it, not 40 seconds before it.
            if at < last.replace(second=0, microsecond=0):
                raise CareError(_("That date is before the referral's last step."))
            at = last
        for stamp in referral_path.stamps_for(current.status, to, current.kind):
            setattr(current, stamp, at)
        current.status = to
        if referral_path.is_open(to, current.kind):
            if follow_up_due is not None:
                if follow_up_due < at.astimezone(current.site.tz).date():
                    raise CareError(_("The next follow-up date is before this step."))
                current.follow_up_due = follow_up_due
        else:
            current.follow_up_due = None  # nothing left to follow up
        current.save()
        step = ReferralStep.objects.create(
            referral=current, status=to, at=at, by=by, note=note.strip()
        )
        record("referral.step", actor=by, subject=current, detail={"step": step.pk})
    return current


TREATMENT_CHOICES = [
    (k.value, k.label) for k in ReferralKind if referral_path.is_treatment(k.value)
]


def direct_to_treatment(
    *,
    site,
    participant,
    by,
    kind: str,
    where: str = ReferralWhere.PARTNER_ON_SITE,
    partner: str = "",
    visit: Visit | None = None,
    at: datetime | None = None,
) -> Referral:
    """The one-tap outcome: the person went from the room straight into treatment. Recorded
    as a referral whose path is referred → entered treatment at the same moment."""
    if not referral_path.is_treatment(kind):
        raise CareError(_("Choose a treatment: buprenorphine, methadone, detox or residential."))
    participant = _check_referral_target(site, participant, visit)
    now = clock.now()
    at = at or now
    with transaction.atomic():
        recent = (
            Referral.objects.select_for_update()
            .filter(
                participant=participant,
                site=site,
                kind=kind,
                direct_from_room=True,
                referred_at__gte=at - DOUBLE_TAP,
            )
            .first()
        )
        if recent is not None:
            raise CareError(
                _("Already recorded at %(time)s: %(alias)s went into %(kind)s.")
                % {
                    "time": recent.referred_at.astimezone(site.tz).strftime("%H:%M"),
                    "alias": participant.alias,
                    "kind": recent.get_kind_display(),
                }
            )
        referral = make_referral(
            site=site,
            participant=participant,
            by=by,
            kind=kind,
            where=where,
            partner=partner,
            visit=visit,
            at=at,
        )
        referral.direct_from_room = True
        referral.save(update_fields=["direct_from_room"])
        referral = advance_referral(
            referral=referral, to=ReferralStatus.ENTERED_TREATMENT, by=by, at=at
        )
    return referral
