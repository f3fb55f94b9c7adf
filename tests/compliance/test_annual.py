from datetime import date

import pytest

from backend.compliance.annual import apply_annual_limits
from tests.compliance.people import cents, person

AGE_55_IN_2025 = date(1970, 3, 1)
AGE_61_IN_2025 = date(1964, 7, 1)
AGE_61_IN_2026 = date(1965, 7, 1)
AGE_64_IN_2025 = date(1961, 1, 1)
TURNS_50_ON_DEC_31_2025 = date(1975, 12, 31)


def test_deferrals_over_402g_by_a_50_plus_participant_are_catch_up():
    result = apply_annual_limits(person("a", 200_000, 30_000, born=AGE_55_IN_2025), 2025)
    assert result.catch_up_cents == cents(6_500)
    assert result.deferrals_not_catch_up_cents == cents(23_500)
    assert result.unused_catch_up_cents == cents(1_000)
    assert result.excess_deferral_cents == 0


def test_turning_50_on_december_31_counts():
    result = apply_annual_limits(person("a", 200_000, 25_000, born=TURNS_50_ON_DEC_31_2025), 2025)
    assert result.catch_up_cents == cents(1_500)


def test_beyond_402g_and_catch_up_is_an_excess_deferral():
    result = apply_annual_limits(person("a", 200_000, 32_000, born=AGE_55_IN_2025), 2025)
    assert result.catch_up_cents == cents(7_500)
    assert result.excess_deferral_cents == cents(1_000)
    assert result.excess_deferral_in_plan_cents == cents(1_000)


def test_under_50_everything_over_402g_is_excess():
    result = apply_annual_limits(person("a", 200_000, 25_000), 2025)
    assert result.catch_up_cents == 0
    assert result.excess_deferral_cents == cents(1_500)


def test_roth_and_pretax_count_together():
    result = apply_annual_limits(person("a", 200_000, 20_000, roth=4_000), 2025)
    assert result.excess_deferral_cents == cents(500)


@pytest.mark.parametrize("year, born, deferral, catch_up", [
    (2025, AGE_61_IN_2025, 34_750, 11_250),
    (2026, AGE_61_IN_2026, 35_750, 11_250),
    (2025, AGE_64_IN_2025, 31_000, 7_500),
])
def test_60_to_63_catch_up_limit_in_2025_and_2026(year, born, deferral, catch_up):
    result = apply_annual_limits(person("a", 300_000, deferral, born=born), year)
    assert result.catch_up_limit_cents == cents(catch_up)
    assert result.catch_up_cents == cents(catch_up)
    assert result.excess_deferral_cents == 0
    over = apply_annual_limits(person("a", 300_000, deferral + 1, born=born), year)
    assert over.excess_deferral_cents == cents(1)


def test_2024_has_no_60_to_63_figure():
    result = apply_annual_limits(person("a", 300_000, 34_750, born=date(1963, 1, 1)), 2024)
    assert result.catch_up_limit_cents == cents(7_500)
    assert result.excess_deferral_cents == cents(34_750 - 23_000 - 7_500)


def test_payrolls_catch_up_column_is_counted_with_the_other_deferrals():
    # Payroll's label no longer decides (26 CFR 1.414(v)-1(a)(1)): 32,000 deferred in all is 23,500 regular,
    # 7,500 catch-up and 1,000 excess, as if all of it had arrived pre-tax.
    result = apply_annual_limits(person("a", 200_000, 25_000, catch_up=7_000, born=AGE_55_IN_2025), 2025)
    assert result.catch_up_cents == cents(7_500)
    assert result.deferrals.regular_cents == cents(23_500)
    assert result.excess_deferral_cents == cents(1_000)


def test_outside_deferrals_count_against_the_personal_402g_limit():
    result = apply_annual_limits(person("a", 100_000, 15_000, outside_deferrals=10_000), 2025)
    assert result.excess_deferral_cents == cents(1_500)
    assert result.excess_deferral_in_plan_cents == cents(1_500)


def test_415c_is_capped_at_100_percent_of_pay():
    result = apply_annual_limits(person("a", 20_000, 15_000, match=6_000), 2025)
    assert result.annual_additions_limit_cents == cents(20_000)
    assert result.annual_additions_cents == cents(21_000)
    assert result.excess_annual_additions_cents == cents(1_000)


def test_415c_dollar_limit_and_after_tax():
    result = apply_annual_limits(person("a", 300_000, 23_500, match=20_000, after_tax=30_000), 2025)
    assert result.annual_additions_limit_cents == cents(70_000)
    assert result.excess_annual_additions_cents == cents(3_500)


def test_catch_ups_are_not_annual_additions_and_absorb_a_415c_excess():
    # 55 years old, pay 20,000: 15,500 deferred (500 of it in payroll's catch-up column, which alone makes
    # nothing catch-up: 26 CFR 1.414(v)-1(a)(1)) + 6,000 match exceeds 100% of pay by 1,500; that 1,500 of
    # deferrals is catch-up instead (26 CFR 1.414(v)-1(b)(1)(i)).
    result = apply_annual_limits(person("a", 20_000, 15_000, match=6_000, catch_up=500, born=AGE_55_IN_2025), 2025)
    assert result.catch_up_cents == result.deferrals.catch_up_over_415c_cents == cents(1_500)
    assert result.annual_additions_cents == cents(20_000)
    assert result.excess_annual_additions_cents == 0


def test_401a17_caps_the_compensation_the_plan_counts():
    assert apply_annual_limits(person("a", 500_000), 2025).plan_compensation_cents == cents(350_000)
    assert apply_annual_limits(person("a", 500_000), 2026).plan_compensation_cents == cents(360_000)
    assert apply_annual_limits(person("a", 100_000), 2026).plan_compensation_cents == cents(100_000)
