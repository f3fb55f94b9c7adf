from decimal import Decimal

import pytest

from backend.compliance.adp_acp import (
    acp_members,
    adp_members,
    contribution_ratio,
    group_average,
    highest_passing_hce_average,
    passes,
    run_ratio_test,
)
from backend.compliance.annual import annual_limit_results
from backend.compliance.engine_input import PlanTestInput
from backend.compliance.report import run_plan_tests
from tests.compliance.people import cents, person

D = Decimal


def adp(people, hce_ids, year=2026, **options):
    annual = annual_limit_results(people, year)
    return run_ratio_test("ADP", adp_members(people, annual, frozenset(hce_ids)), **options)


def example_a(a_deferral):
    """26 CFR 1.401(k)-2(a)(7) Examples 1 and 2."""
    return [person("A", 100_000, a_deferral), person("B", 60_000, 2_860), person("C", 45_000, 1_250)]


def test_ratio_rounds_half_up_to_hundredths_in_decimal():
    assert contribution_ratio(3_775, 100_000) == D("3.78")
    assert contribution_ratio(cents(2_860), cents(60_000)) == D("4.77")
    assert contribution_ratio(cents(1_250), cents(45_000)) == D("2.78")
    assert contribution_ratio(0, cents(45_000)) == D("0.00")
    assert contribution_ratio(0, 0) == D("0.00")


def test_group_average_is_mean_of_rounded_ratios_rounded_again():
    assert group_average([D("4.77"), D("2.78")]) == D("3.78")  # 3.775
    assert group_average([]) is None


def test_example_a_passes_the_125_test():
    result = adp(example_a(4_340), {"A"})
    assert (result.hce_average, result.nhce_average) == (D("4.34"), D("3.78"))
    assert result.limit == D("5.78")
    assert result.passed


def test_example_a_at_577_fails_125_but_passes_the_alternative():
    result = adp(example_a(5_770), {"A"})
    assert result.hce_average == D("5.77")
    assert result.hce_average > D("3.78") * D("1.25")
    assert result.passed and result.limit == D("5.78")
    assert not adp(example_a(5_790), {"A"}).passed  # 5.79 > 5.78


@pytest.mark.parametrize("nhce, limit", [
    (D("3.78"), D("5.78")),  # N + 2
    (D("1.00"), D("2.00")),  # 2N
    (D("0"), D("0.00")),
    (D("10"), D("12.50")),  # 1.25N
    (D("8.01"), D("10.01")),  # 1.25N = 10.0125 floored: 10.02 would fail
    (D("3"), D("5.00")),
])
def test_highest_passing_hce_average(nhce, limit):
    assert highest_passing_hce_average(nhce) == limit
    assert passes(limit, nhce)
    assert not passes(limit + D("0.01"), nhce)


def test_every_eligible_employee_counts_and_ineligible_ones_do_not():
    people = example_a(4_340) + [person("D", 30_000), person("E", 30_000, eligible=False)]
    result = adp(people, {"A"})
    assert {m.employee_id for m in result.members} == {"A", "B", "C", "D"}
    assert result.nhce_average == D("2.52")  # (4.77 + 2.78 + 0) / 3


def test_roth_counts_and_so_does_money_payroll_labelled_catch_up_under_402g():
    # A is under 50 and 9,000 in all is far under 402(g): nothing is over a limit, so nothing is catch-up,
    # whatever column payroll used (26 CFR 1.414(v)-1(a)(1), (b)(1)). Catch-ups proper: the test below.
    people = [person("A", 100_000, 3_000, roth=1_000, catch_up=5_000), person("B", 50_000, 1_000)]
    result = adp(people, {"A"})
    assert result.hce_average == D("9.00")


def test_reclassed_catch_up_is_left_out_of_the_adp():
    from datetime import date
    people = [person("A", 300_000, 31_000, born=date(1970, 1, 1)), person("B", 50_000, 1_000)]
    result = adp(people, {"A"})
    # 2026: 24,500 counted, 6,500 catch-up
    assert result.hce_average == contribution_ratio(cents(24_500), cents(300_000))


def test_compensation_is_capped_at_401a17():
    people = [person("A", 720_000, 18_000), person("B", 50_000, 1_000)]
    assert adp(people, {"A"}).hce_average == D("5.00")  # 18,000 / 360,000


def test_hce_deferrals_to_other_plans_of_the_employer_count():
    people = [person("A", 200_000, 3_000, other_plan_deferrals=9_000), person("B", 50_000, 1_000)]
    result = adp(people, {"A"})
    assert result.hce_average == D("6.00")
    assert result.hces[0].refundable_cents == cents(3_000)


def test_nhce_distributed_excess_deferrals_are_left_out_but_hce_ones_stay():
    people = [person("A", 100_000, 25_000), person("B", 100_000, 25_000)]  # both 500 over 2026's 24,500
    result = adp(people, {"A"})
    assert (result.hce_average, result.nhce_average) == (D("25.00"), D("24.50"))
    # The 500 already going back under 402(g) cannot also be an ADP refund.
    assert result.hces[0].refundable_cents == cents(24_500)


def test_no_eligible_nhce_passes():
    result = adp([person("A", 100_000, 10_000)], {"A"})
    assert result.passed and result.nhce_average is None and result.limit is None


def test_prior_year_method_uses_last_years_nhce_average():
    result = adp(example_a(5_770), {"A"}, method="prior", prior_nhce_average=D("2"))
    assert result.nhce_average == D("2") and result.limit == D("4.00")
    assert not result.passed and result.nhce_basis == "prior_year"


def test_first_plan_year_under_prior_year_method_deems_3_percent():
    result = adp(example_a(5_000), {"A"}, method="prior", first_plan_year=True)
    assert result.nhce_average == D("3") and result.limit == D("5.00") and result.passed
    assert result.nhce_basis == "deemed_first_year"


def test_prior_year_method_without_a_figure_is_an_error():
    with pytest.raises(ValueError, match="prior-year"):
        adp(example_a(5_000), {"A"}, method="prior")


def test_acp_uses_match_plus_after_tax():
    people = [person("A", 100_000, match=3_000, after_tax=2_000), person("B", 50_000, match=1_000)]
    annual = annual_limit_results(people, 2026)
    result = run_ratio_test("ACP", acp_members(people, annual, frozenset({"A"})))
    assert (result.hce_average, result.nhce_average, result.limit) == (D("5.00"), D("2.00"), D("4.00"))
    assert not result.passed


def plan(people, **options):
    return run_plan_tests(PlanTestInput(year=2026, participants=tuple(people), **options))


def test_safe_harbor_plans_are_exempt_from_adp_and_match_plans_from_acp():
    people = [person("A", 200_000, 20_000, prior_pay=200_000, match=8_000), person("B", 50_000, match=0)]
    result = plan(people, safe_harbor="basic_match")
    assert result["adp"]["exempt"] and result["adp"]["passed"]
    assert result["acp"]["exempt"] and result["acp"]["passed"]
    assert result["adp"]["hce_average"] == D("10.00")  # shown for information
    nonelective = plan(people, safe_harbor="nonelective")
    assert nonelective["adp"]["exempt"]
    assert not nonelective["acp"]["exempt"] and not nonelective["acp"]["passed"]
    traditional = plan(people)
    assert not traditional["adp"]["exempt"] and not traditional["adp"]["passed"]


def test_safe_harbor_match_still_tests_after_tax_contributions():
    people = [person("A", 200_000, 10_000, prior_pay=200_000, match=8_000, after_tax=10_000),
              person("B", 50_000, 2_000, match=1_000)]
    result = plan(people, safe_harbor="qaca_match")
    assert not result["acp"]["exempt"]
    assert result["acp"]["hce_average"] == D("5.00")  # after-tax only: 10,000 / 200,000
    assert result["acp"]["nhce_average"] == D("0.00") and not result["acp"]["passed"]
