"""The retention rule as pure logic: calendar months, the longest retention of the sites a
person used, never while a site keeps records forever or a visit is open."""

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.keeping.retention import Person, counts_by_site, decide, months_before, plan

NOW = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)


def at(year, month, day=1):
    return datetime(year, month, day, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("moment", "months", "expected"),
    [
        (at(2026, 3, 14), 1, at(2026, 2, 14)),
        (at(2026, 3, 31), 1, at(2026, 2, 28)),
        (at(2024, 3, 31), 1, at(2024, 2, 29)),
        (at(2026, 1, 15), 1, at(2025, 12, 15)),
        (at(2026, 11, 25), 24, at(2024, 11, 25)),
        (at(2026, 11, 25), 0, at(2026, 11, 25)),
    ],
)
def test_months_before(moment, months, expected):
    assert months_before(moment, months) == expected


@given(
    st.datetimes(min_value=datetime(1950, 1, 1), max_value=datetime(2100, 1, 1)),
    st.integers(min_value=0, max_value=600),
)
def test_months_before_is_never_later_and_keeps_the_time(moment, months):
    earlier = months_before(moment, months)
    assert earlier <= moment
    assert earlier.time() == moment.time()
    assert (moment.year * 12 + moment.month) - (earlier.year * 12 + earlier.month) == months


SITES = {1: 6, 2: 24, 3: None}


def person(**kw):
    return Person(id=kw.pop("id", 7), registered_at=kw.pop("registered_at", at(2020, 1)), **kw)


def test_inactive_longer_than_the_site_retention_is_due():
    d = decide(person(last_seen={1: at(2026, 5, 24)}), SITES, SITES, NOW)
    assert d.due and d.months == 6 and d.sites == (1,)


def test_seen_within_the_retention_is_kept():
    d = decide(person(last_seen={1: at(2026, 5, 26)}), SITES, SITES, NOW)
    assert not d.due and d.why == "seen recently"


def test_the_longest_retention_of_the_sites_used_wins():
    d = decide(person(last_seen={1: at(2025, 1, 1), 2: at(2025, 1, 1)}), SITES, SITES, NOW)
    assert not d.due and d.months == 24
    assert decide(person(last_seen={1: at(2024, 1), 2: at(2024, 1)}), SITES, SITES, NOW).due


def test_a_site_that_keeps_records_forever_keeps_the_person():
    d = decide(person(last_seen={1: at(2015, 1), 3: at(2015, 1)}), SITES, SITES, NOW)
    assert not d.due and d.months is None


def test_last_activity_anywhere_counts_not_only_at_the_shortest_site():
    d = decide(person(last_seen={1: at(2020, 1), 2: at(2026, 10)}), SITES, SITES, NOW)
    assert not d.due


def test_an_open_visit_is_never_de_identified():
    d = decide(person(last_seen={1: at(2020, 1)}, open_visit=True), SITES, SITES, NOW)
    assert not d.due and d.why == "a visit is open"


def test_registration_counts_as_activity_and_as_a_site_used():
    recent = person(registered_at=at(2026, 10), registered_site=1)
    assert not decide(recent, SITES, SITES, NOW).due
    old = person(registered_at=at(2025, 1), registered_site=1)
    assert decide(old, SITES, SITES, NOW).due


def test_someone_with_no_site_at_all_follows_every_site_of_the_jurisdiction():
    nowhere = person(registered_at=at(2020, 1))
    assert not decide(nowhere, SITES, SITES, NOW).due  # site 3 keeps forever
    assert decide(nowhere, {1: 6, 2: 24}, [1, 2], NOW).due


def test_counts_by_site_count_a_person_at_every_site_they_used():
    decisions = plan(
        [
            person(id=1, last_seen={1: at(2020, 1), 2: at(2020, 1)}),
            person(id=2, last_seen={1: at(2020, 1)}),
            person(id=3, last_seen={1: at(2026, 11)}),
        ],
        {1: 6, 2: 24},
        [1, 2],
        NOW,
    )
    assert [d.person for d in decisions if d.due] == [1, 2]
    assert counts_by_site(decisions) == {1: 2, 2: 1}
