import calendar
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.enrollment.eligibility import (
    ENTRY_FREQUENCIES,
    EligibilityRules,
    EligibilityResult,
    compute_eligibility,
    entry_date_on_or_after,
    terminated_on,
)

ADULT = date(1980, 5, 5)


def rules(**overrides):
    values = dict(
        min_age=0,
        service_months=0,
        entry_frequency="immediate",
        plan_year_start=(1, 1),
        plan_effective_date=date(2000, 1, 1),
        long_term_part_time=True,
    )
    values.update(overrides)
    return EligibilityRules(**values)


def check(plan, **kwargs):
    kwargs.setdefault("date_of_birth", ADULT)
    return compute_eligibility(plan, **kwargs)


# --- rules validation -------------------------------------------------------------------------


@pytest.mark.parametrize("overrides", [
    {"min_age": 22},
    {"min_age": -1},
    {"service_months": 13},
    {"service_months": 24},
    {"entry_frequency": "weekly"},
    {"plan_year_start": (2, 29)},
    {"plan_year_start": (13, 1)},
    {"plan_year_start": (4, 31)},
])
def test_rules_outside_the_law_are_rejected(overrides):
    with pytest.raises(ValueError):
        rules(**overrides)


# --- age --------------------------------------------------------------------------------------


def test_age_21_day_before_and_on_birthday():
    plan = rules(min_age=21)
    before = check(plan, date_of_birth=date(2004, 6, 15), hire_date=date(2024, 1, 2), as_of=date(2025, 6, 14))
    assert before == EligibilityResult(
        status="waiting",
        conditions_met_date=date(2025, 6, 15),
        entry_date=date(2025, 6, 15),
        basis="standard",
        explanation="You can join on 2025-06-15, the day you turn 21.",
    )
    on = check(plan, date_of_birth=date(2004, 6, 15), hire_date=date(2024, 1, 2), as_of=date(2025, 6, 15))
    assert on.status == "eligible"
    assert on.entry_date == date(2025, 6, 15)
    assert on.explanation == "You have been eligible to join since 2025-06-15, the day you turned 21."


def test_age_with_monthly_entry_names_the_birthday():
    plan = rules(min_age=21, entry_frequency="monthly")
    result = check(plan, date_of_birth=date(2005, 6, 14), hire_date=date(2024, 1, 2), as_of=date(2026, 1, 1))
    assert result.entry_date == date(2026, 7, 1)
    assert result.explanation == "You can join on 2026-07-01, the first entry date after you turn 21 on 2026-06-14."


def test_leap_day_birthday_counts_march_first_in_common_years():
    plan = rules(min_age=21)
    result = check(plan, date_of_birth=date(2004, 2, 29), hire_date=date(2024, 1, 2), as_of=date(2025, 2, 28))
    assert result.status == "waiting"
    assert result.conditions_met_date == date(2025, 3, 1)
    assert "February 29" in result.explanation and "March 1" in result.explanation
    assert check(plan, date_of_birth=date(2004, 2, 29), hire_date=date(2024, 1, 2), as_of=date(2025, 3, 1)).status == "eligible"


def test_leap_day_birthday_in_a_leap_year_is_february_29():
    result = check(rules(min_age=20), date_of_birth=date(2004, 2, 29), hire_date=date(2023, 1, 2), as_of=date(2024, 2, 29))
    assert result.status == "eligible"
    assert result.conditions_met_date == date(2024, 2, 29)
    assert "February 29" not in result.explanation


def test_later_of_age_and_service():
    plan = rules(min_age=21, service_months=3)
    # Service (2025-04-30) comes after the birthday (2025-01-10).
    result = check(plan, date_of_birth=date(2004, 1, 10), hire_date=date(2025, 1, 31), as_of=date(2025, 4, 30))
    assert (result.status, result.conditions_met_date) == ("eligible", date(2025, 4, 30))
    assert "3 months of service" in result.explanation


# --- elapsed-time service ---------------------------------------------------------------------


def test_three_months_from_january_31_is_april_30():
    plan = rules(service_months=3)
    before = check(plan, hire_date=date(2025, 1, 31), as_of=date(2025, 4, 29))
    assert (before.status, before.conditions_met_date, before.entry_date) == ("waiting", date(2025, 4, 30), date(2025, 4, 30))
    assert before.explanation == "You can join on 2025-04-30, the day you complete 3 months of service."
    on = check(plan, hire_date=date(2025, 1, 31), as_of=date(2025, 4, 30))
    assert on.status == "eligible"


@pytest.mark.parametrize("hire, months, met", [
    (date(2024, 11, 30), 3, date(2025, 2, 28)),
    (date(2023, 11, 30), 3, date(2024, 2, 29)),
    (date(2025, 1, 31), 1, date(2025, 2, 28)),
    (date(2025, 3, 15), 6, date(2025, 9, 15)),
    (date(2025, 8, 31), 11, date(2026, 7, 31)),
])
def test_elapsed_months_clamp_to_month_end(hire, months, met):
    assert check(rules(service_months=months), hire_date=hire, as_of=hire).conditions_met_date == met


def test_no_service_requirement_is_met_at_hire():
    result = check(rules(), hire_date=date(2025, 3, 3), as_of=date(2025, 3, 3))
    assert (result.status, result.entry_date) == ("eligible", date(2025, 3, 3))
    assert result.explanation == "You have been eligible to join since 2025-03-03, the day you were hired."


# --- year of service (1,000 hours) ------------------------------------------------------------

YEAR = rules(service_months=12, long_term_part_time=False)
HIRE = date(2024, 3, 10)


def test_exactly_1000_hours_in_first_period():
    result = check(YEAR, hire_date=HIRE, as_of=date(2025, 3, 10), hours_by_period={HIRE: 1000})
    assert result == EligibilityResult(
        status="eligible",
        conditions_met_date=date(2025, 3, 10),
        entry_date=date(2025, 3, 10),
        basis="standard",
        explanation="You have been eligible to join since 2025-03-10, the day you completed a year of service "
        "(1,000 hours in the 12 months from 2024-03-10 to 2025-03-09).",
    )


def test_1000_hours_reached_mid_period_waits_for_the_anniversary():
    result = check(YEAR, hire_date=HIRE, as_of=date(2025, 3, 9), hours_by_period={HIRE: 1000})
    assert (result.status, result.conditions_met_date) == ("waiting", date(2025, 3, 10))


def test_999_hours_is_not_a_year_of_service():
    result = check(YEAR, hire_date=HIRE, as_of=date(2025, 3, 10), hours_by_period={HIRE: 999})
    assert result == EligibilityResult(
        status="pending_hours",
        conditions_met_date=None,
        entry_date=None,
        basis=None,
        explanation="You can join once you work 1,000 hours in one of your 12-month service periods; so far you "
        "have 0 hours in the current period, from 2025-03-10 to 2026-03-09.",
    )


def test_pending_during_first_period():
    result = check(YEAR, hire_date=HIRE, as_of=date(2024, 9, 1), hours_by_period={HIRE: 400})
    assert result.status == "pending_hours"
    assert "400 hours in the current period, from 2024-03-10 to 2025-03-09" in result.explanation


def test_second_period_qualifies():
    hours = {HIRE: 999, date(2025, 3, 10): 1000}
    before = check(YEAR, hire_date=HIRE, as_of=date(2026, 3, 9), hours_by_period=hours)
    assert (before.status, before.conditions_met_date) == ("waiting", date(2026, 3, 10))
    on = check(YEAR, hire_date=HIRE, as_of=date(2026, 3, 10), hours_by_period=hours)
    assert (on.status, on.entry_date) == ("eligible", date(2026, 3, 10))


def test_first_qualifying_period_wins():
    hours = {HIRE: 1500, date(2025, 3, 10): 1500}
    assert check(YEAR, hire_date=HIRE, as_of=date(2027, 1, 1), hours_by_period=hours).conditions_met_date == date(2025, 3, 10)


def test_leap_day_hire_anniversaries_fall_on_march_first():
    hire = date(2024, 2, 29)
    hours = {hire: 10, date(2025, 3, 1): 1000}
    result = check(YEAR, hire_date=hire, as_of=date(2026, 3, 1), hours_by_period=hours)
    assert (result.status, result.conditions_met_date) == ("eligible", date(2026, 3, 1))


def test_leap_day_hire_accepts_month_clamped_period_keys():
    hire = date(2024, 2, 29)
    hours = {hire: 10, date(2025, 2, 28): 10, date(2026, 2, 28): 1000}
    result = check(YEAR, hire_date=hire, as_of=date(2027, 3, 1), hours_by_period=hours)
    assert (result.status, result.conditions_met_date) == ("eligible", date(2027, 3, 1))


def test_hours_keyed_off_the_computation_period_are_rejected():
    with pytest.raises(ValueError, match="not the start of a computation period"):
        check(YEAR, hire_date=HIRE, as_of=date(2025, 6, 1), hours_by_period={date(2025, 1, 1): 1200})
    with pytest.raises(ValueError, match="before the hire date"):
        check(YEAR, hire_date=HIRE, as_of=date(2025, 6, 1), hours_by_period={date(2024, 1, 1): 1200})
    with pytest.raises(ValueError, match="non-negative int"):
        check(YEAR, hire_date=HIRE, as_of=date(2025, 6, 1), hours_by_period={HIRE: -5})


def test_age_still_pending_with_hours_pending():
    result = check(
        rules(min_age=21, service_months=12),
        date_of_birth=date(2005, 6, 14),
        hire_date=HIRE,
        as_of=date(2025, 5, 1),
        hours_by_period={HIRE: 900},
    )
    assert result.status == "pending_hours"
    assert result.explanation == (
        "You can join once you turn 21 (on 2026-06-14) and work 1,000 hours in one of your 12-month service "
        "periods (or at least 500 in each of two consecutive periods); so far you have 0 hours in the current "
        "period, from 2025-03-10 to 2026-03-09."
    )


# --- long-term part-time ----------------------------------------------------------------------

LTPT = rules(min_age=21, service_months=12)
PT_HIRE = date(2022, 7, 1)


def test_ltpt_two_periods_of_500_enter_at_first_2025_plan_year():
    hours = {PT_HIRE: 500, date(2023, 7, 1): 500}
    result = check(LTPT, hire_date=PT_HIRE, as_of=date(2025, 1, 1), hours_by_period=hours)
    assert result == EligibilityResult(
        status="eligible",
        conditions_met_date=date(2024, 7, 1),
        entry_date=date(2025, 1, 1),
        basis="long_term_part_time",
        explanation="You have been eligible to join since 2025-01-01 under the long-term part-time rules, the first "
        "entry date in your plan's first plan year covered by those rules, which started on 2025-01-01; you "
        "completed two consecutive 12-month periods with at least 500 hours each on 2024-07-01 (the periods "
        "starting 2022-07-01 and 2023-07-01).",
    )
    assert check(LTPT, hire_date=PT_HIRE, as_of=date(2024, 12, 31), hours_by_period=hours).status == "waiting"


def test_ltpt_499_hours_does_not_count():
    hours = {PT_HIRE: 500, date(2023, 7, 1): 499}
    assert check(LTPT, hire_date=PT_HIRE, as_of=date(2025, 1, 1), hours_by_period=hours).status == "pending_hours"
    hours = {PT_HIRE: 499, date(2023, 7, 1): 500}
    assert check(LTPT, hire_date=PT_HIRE, as_of=date(2025, 1, 1), hours_by_period=hours).status == "pending_hours"


def test_ltpt_later_pair_of_periods():
    hours = {PT_HIRE: 499, date(2023, 7, 1): 500, date(2024, 7, 1): 500}
    result = check(LTPT, hire_date=PT_HIRE, as_of=date(2025, 7, 1), hours_by_period=hours)
    assert (result.status, result.basis, result.conditions_met_date, result.entry_date) == (
        "eligible", "long_term_part_time", date(2025, 7, 1), date(2025, 7, 1),
    )
    assert result.explanation.endswith("the day you completed two consecutive 12-month periods with at least 500 "
                                       "hours each (the periods starting 2023-07-01 and 2024-07-01).")


def test_ltpt_known_date_while_second_period_is_running():
    hours = {date(2023, 9, 1): 600, date(2024, 9, 1): 500}
    result = check(LTPT, hire_date=date(2023, 9, 1), as_of=date(2025, 5, 1), hours_by_period=hours)
    assert (result.status, result.conditions_met_date, result.entry_date) == ("waiting", date(2025, 9, 1), date(2025, 9, 1))


def test_ltpt_respects_non_calendar_plan_year_start():
    plan = rules(min_age=21, service_months=12, plan_year_start=(7, 1), entry_frequency="semi_annual")
    hours = {PT_HIRE: 800, date(2023, 7, 1): 800}
    before = check(plan, hire_date=PT_HIRE, as_of=date(2025, 6, 30), hours_by_period=hours)
    assert (before.status, before.conditions_met_date, before.entry_date) == ("waiting", date(2024, 7, 1), date(2025, 7, 1))
    assert "2025-07-01" in before.explanation
    on = check(plan, hire_date=PT_HIRE, as_of=date(2025, 7, 1), hours_by_period=hours)
    assert on.status == "eligible"


def test_ltpt_periods_before_2021_are_disregarded():
    hire = date(2019, 7, 1)
    hours = {hire: 600, date(2020, 7, 1): 600, date(2021, 7, 1): 400}
    assert check(LTPT, hire_date=hire, as_of=date(2025, 3, 1), hours_by_period=hours).status == "pending_hours"
    hours = {date(2020, 7, 1): 600, date(2021, 7, 1): 600, date(2022, 7, 1): 600}
    result = check(LTPT, hire_date=hire, as_of=date(2025, 3, 1), hours_by_period=hours)
    # The 2020-07-01 period starts before 2021, so the first pair is the 2021 and 2022 periods.
    assert (result.conditions_met_date, result.entry_date) == (date(2023, 7, 1), date(2025, 1, 1))


def test_ltpt_age_must_be_reached_by_the_close_of_the_second_period():
    dob = date(2003, 8, 1)  # 21 on 2024-08-01, after the pair closes on 2024-06-30
    hours = {PT_HIRE: 500, date(2023, 7, 1): 500}
    kwargs = dict(date_of_birth=dob, hire_date=PT_HIRE, as_of=date(2025, 1, 1))
    assert check(LTPT, hours_by_period=hours, **kwargs).status == "pending_hours"
    hours[date(2024, 7, 1)] = 500
    result = check(LTPT, hours_by_period=hours, **dict(kwargs, as_of=date(2025, 7, 1)))
    assert (result.status, result.conditions_met_date) == ("eligible", date(2025, 7, 1))


def test_ltpt_switched_off():
    plan = rules(min_age=21, service_months=12, long_term_part_time=False)
    hours = {PT_HIRE: 500, date(2023, 7, 1): 500}
    assert check(plan, hire_date=PT_HIRE, as_of=date(2025, 1, 1), hours_by_period=hours).status == "pending_hours"


def test_ltpt_needs_a_one_year_service_plan():
    # With elapsed-time service there is no hours rule to relieve; the standard basis applies.
    result = check(rules(min_age=21, service_months=6), hire_date=PT_HIRE, as_of=date(2023, 1, 1))
    assert (result.basis, result.entry_date) == ("standard", date(2023, 1, 1))


def test_standard_basis_wins_when_earlier_and_on_ties():
    hours = {date(2023, 1, 1): 1000}
    result = check(LTPT, hire_date=date(2023, 1, 1), as_of=date(2024, 1, 1), hours_by_period=hours)
    assert (result.basis, result.entry_date) == ("standard", date(2024, 1, 1))
    tie = {date(2023, 1, 1): 600, date(2024, 1, 1): 1000}
    result = check(LTPT, hire_date=date(2023, 1, 1), as_of=date(2025, 1, 1), hours_by_period=tie)
    assert (result.basis, result.entry_date) == ("standard", date(2025, 1, 1))


# --- entry frequencies ------------------------------------------------------------------------


@pytest.mark.parametrize("frequency, plan_year_start, met, entry", [
    ("immediate", (1, 1), date(2025, 3, 17), date(2025, 3, 17)),
    # monthly, calendar plan year
    ("monthly", (1, 1), date(2025, 3, 31), date(2025, 4, 1)),
    ("monthly", (1, 1), date(2025, 4, 1), date(2025, 4, 1)),
    ("monthly", (1, 1), date(2025, 4, 2), date(2025, 5, 1)),
    ("monthly", (1, 1), date(2025, 12, 31), date(2026, 1, 1)),
    # monthly with a mid-month plan year: the plan year start is an entry date too (410(a)(4))
    ("monthly", (7, 15), date(2025, 7, 14), date(2025, 7, 15)),
    ("monthly", (7, 15), date(2025, 7, 15), date(2025, 7, 15)),
    ("monthly", (7, 15), date(2025, 7, 16), date(2025, 8, 1)),
    # quarterly, calendar plan year
    ("quarterly", (1, 1), date(2025, 3, 31), date(2025, 4, 1)),
    ("quarterly", (1, 1), date(2025, 4, 1), date(2025, 4, 1)),
    ("quarterly", (1, 1), date(2025, 4, 2), date(2025, 7, 1)),
    ("quarterly", (1, 1), date(2025, 12, 31), date(2026, 1, 1)),
    # quarterly, plan year from July 1: quarters start Jul 1, Oct 1, Jan 1, Apr 1
    ("quarterly", (7, 1), date(2025, 9, 30), date(2025, 10, 1)),
    ("quarterly", (7, 1), date(2025, 10, 1), date(2025, 10, 1)),
    ("quarterly", (7, 1), date(2025, 10, 2), date(2026, 1, 1)),
    ("quarterly", (7, 1), date(2026, 6, 30), date(2026, 7, 1)),
    # semi-annual, calendar plan year
    ("semi_annual", (1, 1), date(2025, 6, 30), date(2025, 7, 1)),
    ("semi_annual", (1, 1), date(2025, 7, 1), date(2025, 7, 1)),
    ("semi_annual", (1, 1), date(2025, 7, 2), date(2026, 1, 1)),
    # semi-annual, plan year from July 1: Jul 1 and Jan 1
    ("semi_annual", (7, 1), date(2025, 12, 31), date(2026, 1, 1)),
    ("semi_annual", (7, 1), date(2026, 1, 1), date(2026, 1, 1)),
    ("semi_annual", (7, 1), date(2026, 1, 2), date(2026, 7, 1)),
    ("semi_annual", (7, 1), date(2025, 6, 30), date(2025, 7, 1)),
    # semi-annual, plan year from April 1: Apr 1 and Oct 1
    ("semi_annual", (4, 1), date(2025, 9, 30), date(2025, 10, 1)),
    ("semi_annual", (4, 1), date(2025, 10, 2), date(2026, 4, 1)),
    # plan year starting on the 31st: quarters clamp to month ends
    ("quarterly", (1, 31), date(2025, 2, 1), date(2025, 4, 30)),
    ("semi_annual", (8, 31), date(2025, 9, 1), date(2026, 2, 28)),
])
def test_entry_dates(frequency, plan_year_start, met, entry):
    plan = rules(entry_frequency=frequency, plan_year_start=plan_year_start)
    assert entry_date_on_or_after(plan, met) == entry


def test_entry_via_compute_eligibility_quarterly_non_calendar_plan_year():
    plan = rules(entry_frequency="quarterly", plan_year_start=(7, 1))
    result = check(plan, hire_date=date(2025, 10, 2), as_of=date(2025, 10, 2))
    assert result.status == "waiting"
    assert result.explanation == "You can join on 2026-01-01, the first entry date after you were hired on 2025-10-02."


# --- plan effective date ----------------------------------------------------------------------


def test_plan_effective_date_later_than_conditions_met():
    plan = rules(min_age=21, entry_frequency="monthly", plan_effective_date=date(2025, 9, 15))
    result = check(plan, hire_date=date(2020, 1, 6), as_of=date(2025, 9, 1))
    assert (result.status, result.conditions_met_date, result.entry_date) == ("waiting", date(2020, 1, 6), date(2025, 9, 15))
    assert result.explanation == (
        "You can join on 2025-09-15, the day the plan takes effect; you were hired on 2020-01-06."
    )
    assert entry_date_on_or_after(plan, date(2025, 9, 15)) == date(2025, 9, 15)
    assert entry_date_on_or_after(plan, date(2025, 9, 16)) == date(2025, 10, 1)


# --- rehire and termination -------------------------------------------------------------------


def test_rehire_with_previously_met_conditions_enters_on_rehire():
    plan = rules(min_age=21, service_months=12, entry_frequency="monthly")
    result = check(
        plan, hire_date=date(2018, 3, 1), rehire_date=date(2024, 5, 20), termination_date=date(2021, 8, 31),
        previously_met_date=date(2019, 3, 1), as_of=date(2024, 5, 20),
    )
    assert (result.status, result.conditions_met_date, result.entry_date) == ("eligible", date(2019, 3, 1), date(2024, 5, 20))
    assert result.explanation == (
        "You have been eligible to join since 2024-05-20, the day you were rehired, because you met the plan's "
        "conditions on 2019-03-01 before you left."
    )


def test_rehire_before_original_entry_date_keeps_original_entry():
    plan = rules(service_months=3, entry_frequency="quarterly")
    result = check(
        plan, hire_date=date(2024, 2, 10), termination_date=date(2024, 5, 20), rehire_date=date(2024, 6, 1),
        previously_met_date=date(2024, 5, 10), as_of=date(2024, 6, 1),
    )
    assert (result.status, result.entry_date) == ("waiting", date(2024, 7, 1))
    assert "your original entry date" in result.explanation and "2024-05-10" in result.explanation


def test_rehire_without_previously_met_conditions_counts_service_from_rehire():
    plan = rules(service_months=3)
    result = check(
        plan, hire_date=date(2020, 1, 15), termination_date=date(2020, 2, 1), rehire_date=date(2024, 5, 20),
        as_of=date(2024, 6, 1),
    )
    assert (result.status, result.conditions_met_date) == ("waiting", date(2024, 8, 20))
    assert "2024-08-20" in result.explanation


def test_rehire_ignores_hours_from_the_earlier_employment():
    result = check(
        YEAR, hire_date=date(2020, 1, 15), termination_date=date(2021, 2, 1), rehire_date=date(2024, 5, 20),
        hours_by_period={date(2020, 1, 15): 2000, date(2024, 5, 20): 300}, as_of=date(2024, 9, 1),
    )
    assert result.status == "pending_hours"
    assert "300 hours in the current period, from 2024-05-20 to 2025-05-19" in result.explanation


def test_terminated_keeps_dates():
    result = check(rules(), hire_date=date(2024, 1, 8), termination_date=date(2024, 6, 30), as_of=date(2024, 7, 1))
    assert result == EligibilityResult(
        status="terminated",
        conditions_met_date=date(2024, 1, 8),
        entry_date=date(2024, 1, 8),
        basis="standard",
        explanation="Your employment ended on 2024-06-30; you had been eligible to join since 2024-01-08.",
    )


def test_terminated_on_as_of_day_and_before_entry():
    plan = rules(service_months=6)
    result = check(plan, hire_date=date(2024, 1, 8), termination_date=date(2024, 3, 1), as_of=date(2024, 3, 1))
    assert (result.status, result.entry_date) == ("terminated", date(2024, 7, 8))
    assert result.explanation == "Your employment ended on 2024-03-01, before your entry date of 2024-07-08."


def test_terminated_without_hours():
    result = check(YEAR, hire_date=HIRE, termination_date=date(2024, 8, 1), as_of=date(2024, 9, 1), hours_by_period={HIRE: 300})
    assert (result.status, result.entry_date) == ("terminated", None)
    assert "2024-08-01" in result.explanation


def test_future_termination_and_completed_rehire_are_not_terminated():
    plan = rules()
    assert check(plan, hire_date=date(2024, 1, 8), termination_date=date(2024, 6, 30), as_of=date(2024, 6, 29)).status == "eligible"
    rehired = check(
        plan, hire_date=date(2020, 1, 8), termination_date=date(2021, 6, 30), rehire_date=date(2024, 2, 5),
        as_of=date(2024, 3, 1),
    )
    assert (rehired.status, rehired.entry_date) == ("eligible", date(2024, 2, 5))
    assert rehired.explanation == "You have been eligible to join since 2024-02-05, the day you were rehired."


# --- properties -------------------------------------------------------------------------------


def add_months(day, months):
    year, index = divmod(day.month - 1 + months, 12)
    year += day.year
    return date(year, index + 1, min(day.day, calendar.monthrange(year, index + 1)[1]))


def next_plan_year_start_after(plan, day):
    month, month_day = plan.plan_year_start
    start = date(day.year, month, month_day)
    return start if start > day else date(day.year + 1, month, month_day)


@st.composite
def plan_rules(draw):
    month = draw(st.integers(1, 12))
    day = draw(st.integers(1, 28 if month == 2 else calendar.monthrange(2001, month)[1]))
    return rules(
        entry_frequency=draw(st.sampled_from(ENTRY_FREQUENCIES)),
        plan_year_start=(month, day),
        plan_effective_date=draw(st.dates(min_value=date(1990, 1, 1), max_value=date(2030, 12, 31))),
    )


days = st.dates(min_value=date(1985, 1, 1), max_value=date(2040, 12, 31))


@given(plan_rules(), days)
def test_entry_never_before_conditions_or_later_than_410a4_bound(plan, met):
    entry = entry_date_on_or_after(plan, met)
    assert entry >= met
    assert entry >= plan.plan_effective_date
    if met > plan.plan_effective_date:
        assert entry <= min(next_plan_year_start_after(plan, met), add_months(met, 6))
    else:
        assert entry == plan.plan_effective_date


@given(plan_rules(), days)
def test_entry_dates_are_fixed_points(plan, met):
    entry = entry_date_on_or_after(plan, met)
    assert entry_date_on_or_after(plan, entry) == entry


@given(
    plan_rules(),
    st.integers(0, 21),
    st.sampled_from((0, 1, 3, 6, 11, 12)),
    st.dates(min_value=date(2015, 1, 1), max_value=date(2026, 12, 31)),
    st.integers(0, 4000),
    st.lists(st.integers(0, 2000), max_size=6),
    st.dates(min_value=date(1960, 1, 1), max_value=date(2012, 12, 31)),
)
def test_compute_eligibility_is_consistent(plan, min_age, service_months, hire, days_later, hours, birth):
    plan = rules(
        min_age=min_age, service_months=service_months, entry_frequency=plan.entry_frequency,
        plan_year_start=plan.plan_year_start, plan_effective_date=plan.plan_effective_date,
    )
    hire = hire.replace(day=min(hire.day, 28))  # keeps the anniversaries below trivially exact
    as_of = hire + timedelta(days=days_later)
    hours_by_period = {hire.replace(year=hire.year + k): h for k, h in enumerate(hours)}
    result = compute_eligibility(
        plan, date_of_birth=birth, hire_date=hire, as_of=as_of, hours_by_period=hours_by_period,
    )
    if result.status == "pending_hours":
        assert result.entry_date is None and result.conditions_met_date is None and service_months == 12
    else:
        assert result.status == ("eligible" if result.entry_date <= as_of else "waiting")
        assert result.entry_date >= result.conditions_met_date
        assert result.entry_date >= plan.plan_effective_date
        assert str(result.entry_date) in result.explanation


def test_still_employed_is_one_rule_with_rehires():
    assert not terminated_on(None, None, date(2026, 1, 1))
    assert not terminated_on(date(2026, 3, 1), None, date(2026, 2, 28))  # the last day is still ahead
    assert terminated_on(date(2026, 3, 1), None, date(2026, 3, 1))
    assert terminated_on(date(2026, 3, 1), date(2026, 6, 1), date(2026, 5, 31))  # rehired next week: not yet
    assert not terminated_on(date(2026, 3, 1), date(2026, 6, 1), date(2026, 6, 1))
