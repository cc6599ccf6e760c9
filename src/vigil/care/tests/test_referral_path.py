"""The referral path, exhaustively: every status × every kind × every target."""

import itertools

import pytest

from vigil.care import referral_path as path
from vigil.care.models import TREATMENT_KINDS, ReferralKind, ReferralStatus

S = ReferralStatus
KINDS = list(ReferralKind.values)
STATUSES = list(ReferralStatus.values)


def test_treatment_referrals_follow_the_whole_path():
    assert path.allowed(S.REFERRED, "detox") == {
        S.ACCEPTED,
        S.ATTENDED,
        S.ENTERED_TREATMENT,
        S.DECLINED,
        S.LOST,
    }
    assert path.allowed(S.ACCEPTED, "methadone") == {
        S.ATTENDED,
        S.ENTERED_TREATMENT,
        S.DECLINED,
        S.LOST,
    }
    assert path.allowed(S.ATTENDED, "buprenorphine") == {S.ENTERED_TREATMENT, S.LOST}


def test_other_referrals_end_when_the_person_attends():
    for kind in ("housing", "primary_care", "mental_health", "other"):
        assert S.ENTERED_TREATMENT not in path.allowed(S.REFERRED, kind)
        assert S.ENTERED_TREATMENT not in path.allowed(S.ACCEPTED, kind)
        assert path.allowed(S.ATTENDED, kind) == frozenset()
        assert not path.is_open(S.ATTENDED, kind)
    assert path.is_open(S.ATTENDED, "residential")


@pytest.mark.parametrize("kind", KINDS)
def test_closed_referrals_go_nowhere_and_nothing_goes_back(kind):
    order = {s: i for i, s in enumerate([S.REFERRED, S.ACCEPTED, S.ATTENDED])}
    for current, to in itertools.product(STATUSES, STATUSES):
        moves = path.allowed(current, kind)
        if current in path.CLOSED:
            assert not moves
        if to in moves:
            assert path.can_move(current, to)  # kinds only ever narrow the general path
            assert to != current and to != S.REFERRED
            if current in order and to in order:
                assert order[to] > order[current]


@pytest.mark.parametrize("kind", KINDS)
def test_every_open_status_can_still_be_lost_to_follow_up(kind):
    for status in STATUSES:
        if path.is_open(status, kind):
            assert S.LOST in path.allowed(status, kind)


@pytest.mark.parametrize("kind", KINDS)
def test_taking_up_a_referral_implies_it_was_accepted(kind):
    for to in path.allowed(S.REFERRED, kind):
        stamps = path.stamps_for(S.REFERRED, to, kind)
        if to in (S.ATTENDED, S.ENTERED_TREATMENT):
            assert stamps == ["accepted_at", path.STAMP[to]]
        else:
            assert stamps == [path.STAMP[to]]
    for to in path.allowed(S.ACCEPTED, kind):
        assert path.stamps_for(S.ACCEPTED, to, kind) == [path.STAMP[to]]


def test_a_move_off_the_path_is_refused():
    with pytest.raises(ValueError):
        path.stamps_for(S.DECLINED, S.ACCEPTED, "detox")
    with pytest.raises(ValueError):
        path.stamps_for(S.REFERRED, S.ENTERED_TREATMENT, "housing")


def test_treatment_means_substance_use_treatment():
    assert {k for k in KINDS if path.is_treatment(k)} == set(TREATMENT_KINDS)
