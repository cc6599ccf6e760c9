"""Words for the actions recorded, for the pages that show the log. An action without a label
here (one added elsewhere) is shown by its name."""

from django.utils.translation import gettext_lazy as _

ACTIONS = {
    "participant.open": _("opened the participant's page"),
    "participant.register": _("registered the participant"),
    "participant.merge": _("merged a duplicate record into this one"),
    "participant.restrict": _("added a service restriction"),
    "participant.lift_restriction": _("lifted a service restriction"),
    "participant.audit_open": _("opened this access log"),
    "timeline.open": _("opened the timeline"),
    "referrals.open": _("opened the referrals"),
    "referral.open": _("opened a referral"),
    "referral.create": _("made a referral"),
    "referral.step": _("moved a referral along"),
    "referral.direct_to_treatment": _("recorded: went directly into treatment"),
    "visit.check_in": _("checked in"),
    "visit.assign_place": _("seated in a place"),
    "visit.check": _("recorded a check"),
    "visit.aftercare": _("moved to aftercare"),
    "visit.end": _("ended the visit"),
    "event.open": _("opened a medical event record"),
    "event.print": _("printed a medical event summary"),
    "event.create": _("opened a new medical event record"),
    "event.change": _("changed a medical event record"),
    "event.amend": _("amended a signed medical event record"),
    "event.sign_off": _("signed off a medical event record"),
    "care.given": _("recorded services or supplies"),
    "drug_check.create": _("recorded a drug check"),
    "drug_check.result": _("recorded a drug check result"),
    "session.sign_in": _("signed in"),
    "session.sign_out": _("signed out"),
    "session.sign_in_failed": _("failed to sign in"),
    "session.locked_out": _("was locked out after failed sign-ins"),
    "audit.export": _("exported the audit log"),
    "session.second_factor": _("confirmed the second factor"),
    "session.enrolled": _("set up an authenticator"),
    "session.reauthenticated": _("confirmed password and code again"),
    "account.pin_set": _("set a floor-screen PIN"),
    "account.backup_codes": _("made new backup codes"),
    "screen.registered": _("registered a floor screen"),
    "screen.revoked": _("revoked a floor screen"),
    "screen.unlocked": _("unlocked a floor screen with a PIN"),
    "screen.unlock_failed": _("gave a wrong PIN on a floor screen"),
    "screen.locked": _("locked a floor screen"),
    "report.export": _("downloaded a report"),
    "research.run_study": _("ran a study"),
    "research.export_deidentified": _("downloaded a de-identified export"),
    "backup.write": _("wrote a backup"),
    "backup.restore": _("restored a backup"),
    "keys.rotate": _("rotated the field-encryption keys"),
    "retention.run": _("ran the retention rule"),
    "participant.deidentify": _("de-identified the participant (retention)"),
}

OPENINGS = {
    "participant.open",
    "participant.audit_open",
    "timeline.open",
    "referrals.open",
    "referral.open",
    "event.open",
    "event.print",
}


def action_label(action: str) -> str:
    label = ACTIONS.get(action)
    return str(label) if label is not None else action
