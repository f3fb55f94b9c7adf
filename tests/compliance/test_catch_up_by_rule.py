"""Catch-up is decided by the rule, not by payroll's column (26 CFR 1.414(v)-1(a)(1)): the same dollars give the same
ADP ratios, limits, excesses and refunds whether payroll sent them as pre-tax, Roth or catch-up."""
from dataclasses import replace
from datetime import date
from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from backend.compliance.adp_acp import adp_members, run_ratio_test
from backend.compliance.annual import annual_limit_results
from backend.compliance.engine_input import Participant, PlanTestInput
from backend.compliance.report import run_plan_tests
from tests.compliance.people import cents, person

D = Decimal
AGE_55_IN_2026 = date(1971, 3, 1)


def adp(people, hce_ids):
    return run_ratio_test("ADP", adp_members(people, annual_limit_results(people, 2026), frozenset(hce_ids)))


def member(result, employee_id):
    return next(m for m in result.members if m.employee_id == employee_id)


def test_an_hces_excess_deferrals_stay_in_the_adp_whatever_column_payroll_used():
    # H, 55, paid 300,000 in 2026, deferred 36,500: 24,500 regular, 8,000 catch-up (1.414(v)-1(c)) and 4,000
    # excess deferrals. Payroll sent 12,000 as catch-up; only 8,000 of it can be. An HCE's excess deferrals
    # count in the ADP even when distributed (1.401(k)-2(a)(4)(iii)): 28,500 / 300,000 = 9.50%, not the 8.17%
    # the label gave when it dropped the 4,000 out of the test.
    n = person("N", 60_000, 3_000)
    labelled = person("H", 300_000, 24_500, catch_up=12_000, born=AGE_55_IN_2026)
    unlabelled = person("H", 300_000, 36_500, born=AGE_55_IN_2026)
    for h in (labelled, unlabelled):
        result = adp([h, n], {"H"})
        assert result.hce_average == D("9.50")
        # The 4,000 goes back under 402(g) by April 15 and cannot be refunded a second time for the ADP.
        assert (member(result, "H").counted_cents, member(result, "H").refundable_cents) == (cents(28_500),
                                                                                          cents(24_500))
        assert annual_limit_results([h], 2026)["H"].excess_deferral_cents == cents(4_000)


def test_an_nhces_excess_deferrals_are_left_out_of_the_adp_once_whatever_column_payroll_used():
    # The same deferrals for an NHCE paid 100,000: the 4,000 of excess deferrals is left out of the test
    # (1.401(k)-2(a)(5)(ii)) once, and the 8,000 of catch-up too (1.414(v)-1(d)(3)): 24,500 / 100,000 = 24.50%.
    # The label used to take the 4,000 off the 24,500 a second time: 20.50%.
    for n in (person("N", 100_000, 24_500, catch_up=12_000, born=AGE_55_IN_2026),
              person("N", 100_000, 36_500, born=AGE_55_IN_2026)):
        result = adp([person("H", 300_000, 9_000), n], {"H"})
        assert result.nhce_average == D("24.50")
        assert member(result, "N").counted_cents == cents(24_500)


def test_money_labelled_catch_up_by_someone_under_50_is_an_ordinary_deferral():
    # 1.414(v)-1(g)(3): only a catch-up eligible participant (50 by year end) makes catch-ups. 30,000 at 40 is
    # 24,500 regular and 5,500 excess, the label notwithstanding.
    young = annual_limit_results([person("Y", 200_000, 20_000, catch_up=10_000)], 2026)["Y"]
    assert (young.catch_up_cents, young.deferrals.regular_cents, young.excess_deferral_cents) == (
        0, cents(24_500), cents(5_500))


def test_the_reported_catch_up_is_the_rules_not_payrolls():
    report = run_plan_tests(PlanTestInput(2026, (person("H", 300_000, 24_500, catch_up=12_000, born=AGE_55_IN_2026,
                                                        prior_pay=300_000),
                                                 person("N", 60_000, 3_000, prior_pay=60_000))))
    assert report["catch_up_reclassified"] == {"H": D("8000.00")}
    assert report["limit_402g"] == {"H": D("4000.00")}


# --- the property --------------------------------------------------------------------------------------------

BIRTHS = [date(1990, 5, 1), date(1976, 12, 31), date(1971, 3, 1), date(1965, 7, 1), date(1962, 1, 1)]


@st.composite
def participants(draw, index):
    pay = draw(st.integers(min_value=0, max_value=50_000_000))
    deferred = draw(st.integers(min_value=0, max_value=min(4_500_000, pay) if pay else 0))
    pretax = draw(st.integers(min_value=0, max_value=deferred))
    roth = draw(st.integers(min_value=0, max_value=deferred - pretax))
    return Participant(
        employee_id=f"E{index}", birth_year=draw(st.sampled_from(BIRTHS)).year, hire_date=date(2015, 1, 1),
        compensation_cents=pay, pretax_cents=pretax, roth_cents=roth, catch_up_cents=deferred - pretax - roth,
        match_cents=draw(st.integers(min_value=0, max_value=2_000_000)),
        after_tax_cents=draw(st.sampled_from([0, 0, 0, 500_000, 5_000_000])),
        qnec_cents=draw(st.sampled_from([0, 0, 100_000])),
        outside_deferrals_cents=draw(st.sampled_from([0, 0, 0, 1_000_000, 2_500_000])),
        other_plan_deferrals_cents=draw(st.sampled_from([0, 0, 0, 300_000])),
        prior_year_compensation_cents=draw(st.sampled_from([3_000_000, 8_000_000, 12_000_000, 20_000_000, 40_000_000])),
        eligible=draw(st.booleans()) or index < 2,
    )


@st.composite
def plans_and_moves(draw):
    count = draw(st.integers(min_value=2, max_value=8))
    people = tuple(draw(participants(i)) for i in range(count))
    method = draw(st.sampled_from(["current", "prior"]))
    first_year = draw(st.booleans())
    last_year = {}
    if method == "prior" and not first_year:
        last_year = {name: draw(st.sampled_from([D("0.50"), D("2.00"), D("4.37")]))
                     for name in ("prior_nhce_adp", "prior_nhce_acp")}
    plan = PlanTestInput(2026, people, method=method, first_plan_year=first_year, **last_year)
    moves = []
    for p in people:
        # Any dollars from one column to another: pre-tax, Roth and catch-up are the same money to the rule.
        columns = ["pretax_cents", "roth_cents", "catch_up_cents"]
        source, target = draw(st.permutations(columns))[:2]
        amount = draw(st.integers(min_value=0, max_value=getattr(p, source)))
        moves.append((source, target, amount))
    return plan, moves


@settings(max_examples=300, deadline=None)
@given(plans_and_moves())
def test_moving_dollars_between_payrolls_columns_never_changes_any_result(plan_and_moves):
    plan, moves = plan_and_moves
    moved = tuple(replace(p, **{source: getattr(p, source) - amount, target: getattr(p, target) + amount})
                  for p, (source, target, amount) in zip(plan.participants, moves))
    before_members, after_members = {}, {}
    before = run_plan_tests(plan, before_members)
    after = run_plan_tests(replace(plan, participants=moved), after_members)
    # Every ratio, average, limit, margin, excess, refund, re-characterization, QNEC and deadline, and the
    # 402(g), 415(c), top-heavy and coverage figures: the whole report.
    assert after == before
    assert after_members == before_members


def test_the_property_reaches_failing_tests_with_refunds_and_catch_ups():
    # The example the property is most about, written out: an HCE over every limit fails the ADP and gets a
    # refund; moving the payroll-labelled catch-up into pre-tax changes nothing.
    people = (person("H", 300_000, 20_000, catch_up=16_000, born=AGE_55_IN_2026, prior_pay=300_000),
              person("N", 60_000, 600, prior_pay=60_000))
    plan = PlanTestInput(2026, people)
    report = run_plan_tests(plan)
    assert report["adp"]["passed"] is False and report["adp"]["refunds"]
    moved = (replace(people[0], pretax_cents=cents(36_000), catch_up_cents=0), people[1])
    assert run_plan_tests(replace(plan, participants=moved)) == report
