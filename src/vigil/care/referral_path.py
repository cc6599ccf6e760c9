"""The path of a referral: referred → accepted → attended / entered treatment, or declined /
lost to follow-up. Pure logic; `engagement_actions.advance_referral` persists it."""

from vigil.care.models import TREATMENT_KINDS
from vigil.care.models import ReferralStatus as S

NEXT: dict[str, frozenset[str]] = {
    # Steps may be skipped forwards: someone walked straight to the clinic the same afternoon
    # (referred → attended), or went from the room into detox (referred → entered treatment).
    S.REFERRED: frozenset({S.ACCEPTED, S.ATTENDED, S.ENTERED_TREATMENT, S.DECLINED, S.LOST}),
    S.ACCEPTED: frozenset({S.ATTENDED, S.ENTERED_TREATMENT, S.DECLINED, S.LOST}),
    S.ATTENDED: frozenset({S.ENTERED_TREATMENT, S.LOST}),
    S.ENTERED_TREATMENT: frozenset(),
    S.DECLINED: frozenset(),
    S.LOST: frozenset(),
}
CLOSED = frozenset({S.ENTERED_TREATMENT, S.DECLINED, S.LOST})
# Steps that mean the person took up the referral; reaching one implies it was accepted.
TAKEN_UP = frozenset({S.ACCEPTED, S.ATTENDED, S.ENTERED_TREATMENT})

# The timestamp field each status sets on the referral.
STAMP: dict[str, str] = {
    S.REFERRED: "referred_at",
    S.ACCEPTED: "accepted_at",
    S.ATTENDED: "attended_at",
    S.ENTERED_TREATMENT: "entered_treatment_at",
    S.DECLINED: "closed_at",
    S.LOST: "closed_at",
}


def can_move(current: str, to: str) -> bool:
    return to in NEXT.get(current, frozenset())


def is_treatment(kind: str) -> bool:
    return kind in TREATMENT_KINDS


def allowed(current: str, kind: str) -> frozenset[str]:
    """Where a referral of `kind` may go next. Housing, primary care, mental health and other
    referrals have no treatment to enter: attending is where they end."""
    steps = NEXT.get(current, frozenset())
    if is_treatment(kind):
        return steps
    if current == S.ATTENDED:
        return frozenset()
    return steps - {S.ENTERED_TREATMENT}


def is_open(status: str, kind: str) -> bool:
    """Whether the referral still needs following up."""
    return bool(allowed(status, kind))


def stamps_for(current: str, to: str, kind: str) -> list[str]:
    """The timestamp fields a move sets. A jump past `accepted` stamps it too (at the same
    time), since attending or entering treatment means the referral was taken up; this keeps
    "accepted referrals" a simple count of `accepted_at`."""
    if to not in allowed(current, kind):
        raise ValueError(f"a {kind} referral cannot go from {current} to {to}")
    fields = [STAMP[to]]
    if to in TAKEN_UP and to != S.ACCEPTED and current == S.REFERRED:
        fields.insert(0, STAMP[S.ACCEPTED])
    return fields
