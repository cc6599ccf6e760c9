"""The path of a referral: referred → accepted → attended / entered treatment, or declined /
lost to follow-up. Pure logic; `actions.advance_referral` persists it."""

from vigil.care.models import ReferralStatus as S

NEXT: dict[str, frozenset[str]] = {
    S.REFERRED: frozenset({S.ACCEPTED, S.ENTERED_TREATMENT, S.DECLINED, S.LOST}),
    S.ACCEPTED: frozenset({S.ATTENDED, S.ENTERED_TREATMENT, S.DECLINED, S.LOST}),
    S.ATTENDED: frozenset({S.ENTERED_TREATMENT, S.LOST}),
    S.ENTERED_TREATMENT: frozenset(),
    S.DECLINED: frozenset(),
    S.LOST: frozenset(),
}
CLOSED = frozenset({S.ENTERED_TREATMENT, S.DECLINED, S.LOST})

# The timestamp field each status sets on the referral.
STAMP = {
    S.ACCEPTED: "accepted_at",
    S.ATTENDED: "attended_at",
    S.ENTERED_TREATMENT: "entered_treatment_at",
    S.DECLINED: "closed_at",
    S.LOST: "closed_at",
}


def can_move(current: str, to: str) -> bool:
    return to in NEXT.get(current, frozenset())
