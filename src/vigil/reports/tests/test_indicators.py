"""Each indicator on the hand-built October of conftest.py, the answer worked out by hand."""

from datetime import date

import pytest

from vigil.reports.indicators import Period, for_site, for_sites, month_starts, week_starts

pytestmark = pytest.mark.db_any
OCTOBER = Period.month(2026, 10)


@pytest.fixture
def figures(october):
    return for_site(october.site, OCTOBER)


def test_visits_follow_the_sites_local_month(figures):
    # Ana 1 Oct 00:30 and 15 Oct, Bo 31 Oct 23:50 local (1 Nov 06:50 UTC). Not: Ana 30 Sep
    # 23:30 local (1 Oct 06:30 UTC), Cy 1 Nov 00:10 local.
    assert figures.counts["visits"] == 3


def test_unique_and_new_participants(figures):
    # Ana and Bo; Ana came in September, so only Bo is new.
    assert figures.counts["unique_participants"] == 2
    assert figures.counts["new_participants"] == 1
    assert figures.visits_per_participant == 1.5


def test_visits_with_use_on_site(figures):
    # Ana's two October visits had a booth; Bo's visit had one too (taken on 1 November).
    assert figures.counts["visits_with_use"] == 3


def test_gender_and_age_count_people_not_visits(figures):
    assert figures.groups["gender"] == {"woman": 1, "man": 1}
    assert figures.groups["age_band"] == {"30-39": 1, "20-29": 1}


def test_substances_count_each_named_substance_once_per_visit(figures):
    assert figures.groups["substance"] == {"fentanyl": 2, "methamphetamine": 1, "cocaine": 1}
    assert figures.groups["route"] == {"inject": 2, "smoke": 1}


def test_wait_is_check_in_to_first_place(figures):
    # Ana 10 min (00:30 → 00:40), Ana 0 min, Bo 20 min (23:50 → 00:10): (10 + 0 + 20) / 3.
    assert figures.waited_visits == 3
    assert figures.average_wait_minutes == pytest.approx(10.0)


def test_booth_use_heat_map_in_local_hours(figures):
    # Booth uses that started in October (local): Thu 1 Oct 00:40, Thu 15 Oct 14:05. The
    # aftercare seat is not a booth use; Bo's booth started on 1 November.
    cells = {
        (hour, weekday): n
        for hour, row in enumerate(figures.heat)
        for weekday, n in enumerate(row)
        if n
    }
    assert cells == {(0, 3): 1, (14, 3): 1}  # weekday 0 = Monday; 1 Oct 2026 is a Thursday


def test_overdoses_naloxone_ems_transport_deaths(figures):
    counts = figures.counts
    # Two overdoses in October (3 and 9 Oct); the 30 September one is outside even though its
    # EMS call was on 1 October (EMS calls follow the event's start).
    assert counts["overdoses"] == 2
    # Naloxone on 3 Oct; the 9 Oct dose was struck out.
    assert counts["overdoses_naloxone"] == 1
    assert counts["naloxone_doses"] == 2
    assert counts["naloxone_mg_x100"] == 440
    assert counts["oxygen_events"] == 1
    assert counts["other_medical"] == 1
    assert counts["ems_calls"] == 1
    assert counts["transported"] == 1
    assert counts["deaths"] == 1


def test_referrals(figures):
    counts = figures.counts
    # Referred in October: methadone (10 Oct) and housing (5 Oct). Accepted in October:
    # methadone (10 Oct) and the September detox (2 Oct). Entered treatment in October:
    # methadone (directly from the room) and the September detox (31 Oct 23:00 local).
    assert figures.groups["referral"] == {"methadone": 1, "housing": 1, "detox": 0}
    assert counts["referrals"] == 2
    assert counts["referrals_off_site"] == 1
    assert counts["referrals_accepted"] == 2
    assert counts["treatment_entries"] == 2
    assert counts["direct_to_treatment"] == 1
    assert counts["people_entering_treatment"] == 1  # both are Ana's
    assert counts["people_direct_to_treatment"] == 1


def test_services_and_supplies(figures):
    assert figures.groups["service"] == {"wound_care": 3}
    assert figures.groups["supply"] == {
        "syringe_1ml": 10,
        "syringe_3ml": 5,
        "naloxone_nasal": 2,
        "cooker": 4,
    }
    assert figures.counts["syringes_given"] == 15
    assert figures.counts["syringes_returned"] == 12
    assert figures.counts["naloxone_kits"] == 2


def test_weekly_and_monthly_series(figures):
    weekly = dict(figures.weekly)
    monthly = dict(figures.monthly)
    assert len(weekly) == 13 and len(monthly) == 12
    assert list(monthly)[-1] == date(2026, 10, 1) and list(monthly)[0] == date(2025, 11, 1)
    assert monthly[date(2026, 10, 1)] == 3
    assert monthly[date(2026, 9, 1)] == 1  # Ana, 30 September 23:30 local
    # Weeks start on Monday: 28 Sep (30 Sep and 1 Oct), 12 Oct (15 Oct), 26 Oct (Bo on Saturday
    # 31 Oct, Cy on Sunday 1 Nov: the week runs past the month's end).
    assert weekly[date(2026, 9, 28)] == 2
    assert weekly[date(2026, 10, 12)] == 1
    assert weekly[date(2026, 10, 26)] == 2
    assert sum(weekly.values()) == 5


def test_a_jurisdiction_adds_sites_and_counts_distinct_people_once(october):
    total, each = for_sites([october.site, october.other_site], OCTOBER)
    # Harbour: Ana, Bo. Hillside: Cy, Ana. Health Canada's unique clients add the sites' (4);
    # distinct people in the jurisdiction: Ana, Bo, Cy (3).
    assert each[october.other_site.pk].counts["unique_participants"] == 2
    assert total.counts["unique_participants"] == 4
    assert total.counts["distinct_participants"] == 3
    # New to the jurisdiction in October: Bo and Cy (Cy's first visit anywhere is 20 Oct).
    assert total.counts["distinct_new_participants"] == 2
    # New to Hillside: both Ana and Cy had never been there.
    assert each[october.other_site.pk].counts["new_participants"] == 2
    assert total.counts["visits"] == 5


def test_period_helpers():
    assert Period.parse_month("2026-02") == Period(date(2026, 2, 1), date(2026, 3, 1))
    for bad in ("2026-13", "26-10", "October", "2026-1-1", ""):
        with pytest.raises(ValueError, match="YYYY-MM"):
            Period.parse_month(bad)
    assert week_starts(OCTOBER)[-1] == date(2026, 10, 26)
    assert month_starts(Period.month(2026, 1), 3) == [
        date(2025, 11, 1),
        date(2025, 12, 1),
        date(2026, 1, 1),
    ]
