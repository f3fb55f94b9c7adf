from datetime import date, datetime, timedelta

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from backend.plans.schedules import (
    PAY_FREQUENCIES,
    add_months,
    eligibility_period_start,
    next_pay_date,
    pay_dates_between,
    periods_per_year,
)


def test_periods_per_year():
    assert [periods_per_year(f) for f in PAY_FREQUENCIES] == [52, 26, 24, 12]


@pytest.mark.parametrize("call", [
    lambda: periods_per_year("daily"),
    lambda: pay_dates_between("fortnightly", date(2025, 1, 3), date(2025, 1, 1), date(2025, 2, 1)),
    lambda: next_pay_date("annual", date(2025, 1, 3), date(2025, 1, 1)),
])
def test_unknown_frequency_is_rejected(call):
    with pytest.raises(ValueError, match="unknown pay frequency"):
        call()


def test_datetime_is_rejected():
    with pytest.raises(TypeError):
        next_pay_date("weekly", datetime(2025, 1, 3, 9, 0), date(2025, 1, 1))


@pytest.mark.parametrize("start, months, expected", [
    (date(2025, 1, 31), 1, date(2025, 2, 28)),
    (date(2024, 1, 31), 1, date(2024, 2, 29)),
    (date(2025, 1, 31), 3, date(2025, 4, 30)),
    (date(2025, 11, 15), 2, date(2026, 1, 15)),
    (date(2025, 3, 31), -1, date(2025, 2, 28)),
    (date(2024, 2, 29), 12, date(2025, 2, 28)),
    (date(2025, 5, 5), 0, date(2025, 5, 5)),
])
def test_add_months_clamps_to_month_end(start, months, expected):
    assert add_months(start, months) == expected


def test_weekly_inclusive_both_ends_and_before_anchor():
    assert pay_dates_between("weekly", date(2025, 1, 3), date(2024, 12, 20), date(2025, 1, 17)) == [
        date(2024, 12, 20), date(2024, 12, 27), date(2025, 1, 3), date(2025, 1, 10), date(2025, 1, 17),
    ]


def test_weekly_window_between_pay_dates():
    assert pay_dates_between("weekly", date(2025, 1, 3), date(2025, 1, 4), date(2025, 1, 9)) == []


def test_biweekly_before_and_after_anchor():
    assert pay_dates_between("biweekly", date(2024, 1, 5), date(2023, 12, 1), date(2024, 1, 31)) == [
        date(2023, 12, 8), date(2023, 12, 22), date(2024, 1, 5), date(2024, 1, 19),
    ]


def test_empty_when_start_after_end():
    assert pay_dates_between("monthly", date(2025, 1, 15), date(2025, 3, 1), date(2025, 2, 1)) == []


def test_monthly_anchor_31_clamps_to_month_end():
    assert pay_dates_between("monthly", date(2025, 1, 31), date(2025, 1, 1), date(2025, 4, 30)) == [
        date(2025, 1, 31), date(2025, 2, 28), date(2025, 3, 31), date(2025, 4, 30),
    ]
    assert pay_dates_between("monthly", date(2025, 1, 31), date(2024, 2, 1), date(2024, 2, 29)) == [date(2024, 2, 29)]


def test_monthly_anchor_day_returns_after_short_month():
    assert pay_dates_between("monthly", date(2025, 1, 30), date(2025, 2, 1), date(2025, 3, 31)) == [
        date(2025, 2, 28), date(2025, 3, 30),
    ]


def test_semi_monthly_anchor_15_pays_15th_and_last_day():
    assert pay_dates_between("semi_monthly", date(2025, 1, 15), date(2024, 2, 1), date(2024, 4, 30)) == [
        date(2024, 2, 15), date(2024, 2, 29), date(2024, 3, 15), date(2024, 3, 31), date(2024, 4, 15), date(2024, 4, 30),
    ]
    assert pay_dates_between("semi_monthly", date(2025, 1, 15), date(2025, 2, 1), date(2025, 2, 28)) == [
        date(2025, 2, 15), date(2025, 2, 28),
    ]


def test_semi_monthly_anchor_31_or_30_pays_16th_or_15th_and_last_day():
    assert pay_dates_between("semi_monthly", date(2024, 1, 31), date(2024, 1, 1), date(2024, 2, 29)) == [
        date(2024, 1, 16), date(2024, 1, 31), date(2024, 2, 16), date(2024, 2, 29),
    ]
    assert pay_dates_between("semi_monthly", date(2025, 4, 30), date(2025, 2, 1), date(2025, 3, 31)) == [
        date(2025, 2, 15), date(2025, 2, 28), date(2025, 3, 15), date(2025, 3, 31),
    ]


def test_semi_monthly_mid_month_anchor_keeps_fixed_days():
    expected = [date(2025, 2, 5), date(2025, 2, 20), date(2025, 3, 5), date(2025, 3, 20)]
    for anchor in (date(2025, 1, 5), date(2025, 1, 20)):
        assert pay_dates_between("semi_monthly", anchor, date(2025, 2, 1), date(2025, 3, 31)) == expected


def test_semi_monthly_second_date_at_or_after_28_is_month_end():
    # d = 12: 12th and 27th; d = 13: 13th and the last day (13 + 15 = 28 counts as end of month).
    assert pay_dates_between("semi_monthly", date(2025, 1, 12), date(2025, 4, 1), date(2025, 4, 30)) == [
        date(2025, 4, 12), date(2025, 4, 27),
    ]
    assert pay_dates_between("semi_monthly", date(2025, 1, 13), date(2025, 3, 1), date(2025, 4, 30)) == [
        date(2025, 3, 13), date(2025, 3, 31), date(2025, 4, 13), date(2025, 4, 30),
    ]


def test_next_pay_date_is_strictly_after():
    assert next_pay_date("weekly", date(2025, 1, 3), date(2025, 1, 3)) == date(2025, 1, 10)
    assert next_pay_date("weekly", date(2025, 1, 3), date(2025, 1, 2)) == date(2025, 1, 3)
    assert next_pay_date("biweekly", date(2025, 1, 3), date(2024, 12, 20)) == date(2025, 1, 3)
    assert next_pay_date("biweekly", date(2025, 1, 3), date(2024, 12, 19)) == date(2024, 12, 20)
    assert next_pay_date("monthly", date(2025, 1, 31), date(2025, 1, 31)) == date(2025, 2, 28)
    assert next_pay_date("monthly", date(2025, 1, 31), date(2025, 2, 27)) == date(2025, 2, 28)
    assert next_pay_date("semi_monthly", date(2025, 1, 15), date(2024, 12, 31)) == date(2025, 1, 15)
    assert next_pay_date("semi_monthly", date(2025, 1, 15), date(2025, 1, 15)) == date(2025, 1, 31)
    assert next_pay_date("semi_monthly", date(2025, 1, 15), date(2025, 2, 14)) == date(2025, 2, 15)


anchors = st.dates(min_value=date(2000, 1, 1), max_value=date(2040, 12, 31))
frequencies = st.sampled_from(PAY_FREQUENCIES)


@given(frequencies, anchors, anchors, st.integers(min_value=0, max_value=400))
def test_schedule_is_strictly_ascending_within_window_and_chains_by_next_pay_date(frequency, anchor, start, span):
    end = start + timedelta(days=span)
    dates = pay_dates_between(frequency, anchor, start, end)
    assert all(start <= d <= end for d in dates)
    assert all(a < b for a, b in zip(dates, dates[1:]))
    for earlier, later in zip(dates, dates[1:]):
        assert next_pay_date(frequency, anchor, earlier) == later
    if dates:
        assert next_pay_date(frequency, anchor, start - timedelta(days=1)) == dates[0]
        assert next_pay_date(frequency, anchor, dates[-1]) > end
    else:
        assert next_pay_date(frequency, anchor, start - timedelta(days=1)) > end


@given(frequencies, anchors, anchors)
def test_next_pay_date_is_after_and_nothing_is_skipped(frequency, anchor, after):
    following = next_pay_date(frequency, anchor, after)
    assert following > after
    assert pay_dates_between(frequency, anchor, after + timedelta(days=1), following) == [following]


@given(st.sampled_from(("weekly", "biweekly", "monthly")), anchors)
def test_anchor_is_a_pay_date(frequency, anchor):
    assert pay_dates_between(frequency, anchor, anchor, anchor) == [anchor]


@given(st.sampled_from(("semi_monthly", "monthly")), anchors, st.integers(2000, 2040), st.integers(1, 12))
def test_month_based_schedules_pay_a_fixed_number_of_times_each_month(frequency, anchor, year, month):
    first = date(year, month, 1)
    last = (date(year + 1, 1, 1) if month == 12 else date(year, month + 1, 1)) - timedelta(days=1)
    assert len(pay_dates_between(frequency, anchor, first, last)) == periods_per_year(frequency) // 12


# --- eligibility computation periods ------------------------------------------------------------------------


@pytest.mark.parametrize("hired, on, start", [
    (date(2025, 3, 10), date(2025, 3, 10), date(2025, 3, 10)),  # the hire date opens the first period
    (date(2025, 3, 10), date(2026, 3, 9), date(2025, 3, 10)),  # its last day
    (date(2025, 3, 10), date(2026, 3, 10), date(2026, 3, 10)),  # the anniversary opens the second
    (date(2025, 3, 10), date(2031, 1, 1), date(2030, 3, 10)),
    (date(2025, 1, 31), date(2026, 2, 28), date(2026, 1, 31)),
    (date(2025, 12, 31), date(2026, 12, 30), date(2025, 12, 31)),
    (date(2025, 12, 31), date(2026, 12, 31), date(2026, 12, 31)),
])
def test_an_eligibility_period_runs_from_the_hire_date_or_an_anniversary_for_twelve_months(hired, on, start):
    assert eligibility_period_start(hired, on) == start


@pytest.mark.parametrize("on, start", [
    (date(2025, 2, 28), date(2024, 2, 29)),  # twelve months from February 29 end on February 28
    (date(2025, 3, 1), date(2025, 3, 1)),
    (date(2028, 2, 28), date(2027, 3, 1)),
    (date(2028, 2, 29), date(2028, 2, 29)),  # a leap year has the anniversary itself
    (date(2029, 2, 28), date(2028, 2, 29)),
    (date(2029, 3, 1), date(2029, 3, 1)),
])
def test_a_february_29_hire_starts_later_periods_on_march_1_in_common_years(on, start):
    assert eligibility_period_start(date(2024, 2, 29), on) == start


def test_a_day_before_the_hire_date_counts_in_the_first_period():
    assert eligibility_period_start(date(2026, 6, 1), date(2026, 5, 1)) == date(2026, 6, 1)


def test_a_rehire_starts_the_periods_over_from_the_rehire_date():
    # The caller passes the rehire date when there is one; the original hire date plays no part.
    assert eligibility_period_start(date(2025, 9, 15), date(2026, 9, 14)) == date(2025, 9, 15)


def test_eligibility_period_dates_must_be_dates():
    with pytest.raises(TypeError):
        eligibility_period_start(datetime(2025, 1, 1, 9, 0), date(2025, 6, 1))
    with pytest.raises(TypeError):
        eligibility_period_start(date(2025, 1, 1), "2025-06-01")


@given(st.dates(min_value=date(1950, 1, 1), max_value=date(2090, 12, 31)), st.integers(min_value=0, max_value=40 * 366))
def test_the_period_holds_the_day_and_ends_before_the_next_begins(hired, days_later):
    on = hired + timedelta(days=days_later)
    start = eligibility_period_start(hired, on)
    assert hired <= start <= on
    assert eligibility_period_start(hired, start) == start  # a period start is its own period
    following = eligibility_period_start(hired, add_months(start, 13))
    assert on < following and (following - start).days in (365, 366)


@given(st.dates(min_value=date(1950, 1, 1), max_value=date(2090, 12, 31)), st.integers(min_value=0, max_value=40 * 366))
def test_for_any_hire_date_but_february_29_it_agrees_with_counting_anniversaries_one_by_one(hired, days_later):
    assume((hired.month, hired.day) != (2, 29))
    on = hired + timedelta(days=days_later)
    period = hired
    while add_months(period, 12) <= on:
        period = add_months(period, 12)
    assert eligibility_period_start(hired, on) == period
