from datetime import date
from decimal import Decimal

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from backend.compliance.adp_acp import (
    EmployeeRatio,
    adp_members,
    contribution_ratio,
    passes,
    run_ratio_test,
)
from backend.compliance.annual import annual_limit_results
from backend.compliance.correction import (
    HceOutlook,
    correct_by_refunds,
    correction_deadlines,
    highest_hce_election,
    level_dollars,
    level_ratios,
    minimum_nhce_average_to_pass,
    nhce_increase_to_pass,
    qnec_to_pass,
)
from backend.money import percent_of_cents
from tests.compliance.people import cents, person

D = Decimal
YEAR_END = date(2026, 12, 31)


def adp(people, hce_ids, **options):
    annual = annual_limit_results(people, 2026)
    return run_ratio_test("ADP", adp_members(people, annual, frozenset(hce_ids)), **options)


def example_b(**a_fields):
    """26 CFR 1.401(k)-2(b)(2)(viii): NHCE average 3%, so HCEs may average at most 5%."""
    a = person("A", 200_000, a_fields.pop("deferral", 12_000), **a_fields)
    b = person("B", 128_000, 8_960)
    return adp([a, b], {"A", "B"}, method="prior", prior_nhce_average=D(3))


def dollars(mapping):
    return {k: D(v) / 100 for k, v in mapping.items()}


# --- Example B ------------------------------------------------------------------------------------


def test_example_b_leveling_ratios_finds_4560():
    result = example_b()
    assert (result.hce_average, result.limit, result.passed) == (D("6.50"), D("5.00"), False)
    leveling = level_ratios(result.hces, result.limit)
    assert leveling.hce_ratio_cap == D("5.00")
    assert dollars(leveling.reductions_cents) == {"A": 2_000, "B": 2_560}
    assert leveling.total_excess_cents == cents(4_560)


def test_example_b_leveling_dollars_refunds_3800_and_760():
    correction = correct_by_refunds(example_b(), plan_year_end=YEAR_END)
    assert dollars(correction.refunds_cents) == {"A": 3_800, "B": 760}
    assert correction.unallocated_cents == 0 and correction.recharacterized_catch_up_cents == {}


def test_example_b_refund_capped_at_what_went_to_this_plan():
    # Only 3,000 of A's 12,000 went to this plan (the rest to another plan of the employer).
    correction = correct_by_refunds(example_b(deferral=3_000, other_plan_deferrals=9_000), plan_year_end=YEAR_END)
    assert correction.total_excess_cents == cents(4_560)
    assert dollars(correction.refunds_cents) == {"A": 3_000, "B": 1_560}


def test_example_b_with_catch_up_room_recharacterizes_instead_of_refunding():
    # A is 55 in 2026 with 8,000 of unused catch-up room: A's 3,800 stays as catch-up.
    correction = correct_by_refunds(example_b(born=date(1971, 1, 1)), plan_year_end=YEAR_END)
    assert dollars(correction.recharacterized_catch_up_cents) == {"A": 3_800}
    assert dollars(correction.refunds_cents) == {"B": 760}


def test_leveling_to_a_ratio_between_two_hces():
    # Four HCEs: 3%, 5%, 3%, 7%; the HCE average may be 3.70%. B and D level to 4.40%.
    people = [person("A", 150_000, 4_500), person("B", 140_000, 7_000), person("C", 100_000, 3_000),
              person("D", 90_000, 6_300)]
    result = adp(people, {"A", "B", "C", "D"}, method="prior", prior_nhce_average=D("1.85"))
    assert result.limit == D("3.70")
    leveling = level_ratios(result.hces, result.limit)
    assert leveling.hce_ratio_cap == D("4.40")
    assert dollars(leveling.reductions_cents) == {"B": 840, "D": 2_340}
    correction = correct_by_refunds(result, plan_year_end=YEAR_END)
    assert dollars(correction.refunds_cents) == {"B": 1_940, "D": 1_240}


def test_odd_cents_are_split_among_the_tied():
    hces = [EmployeeRatio("x", True, 100, 1_000, 1_000, 0, D(0)), EmployeeRatio("y", True, 100, 1_000, 1_000, 0, D(0))]
    apportioned, left = level_dollars(hces, 3)
    assert sorted(apportioned.values()) == [1, 2] and left == 0


def test_excess_beyond_what_the_plan_holds_is_reported_unallocated():
    hces = [EmployeeRatio("x", True, 100, 1_000, 300, 0, D(0))]
    assert level_dollars(hces, 500) == ({"x": 300}, 200)


# --- deadlines ------------------------------------------------------------------------------------


def test_deadlines():
    deadlines = correction_deadlines(date(2026, 12, 31))
    assert deadlines.without_excise_tax == date(2027, 3, 15)
    assert deadlines.latest == date(2027, 12, 31)
    assert deadlines.qnec_latest == date(2027, 12, 31)
    assert correction_deadlines(date(2026, 12, 31), eaca=True).without_excise_tax == date(2027, 6, 30)
    assert correction_deadlines(date(2026, 6, 30)).without_excise_tax == date(2026, 9, 15)


# --- Example C and the QNEC -------------------------------------------------------------------------


def example_c(qnec_percent=0):
    """26 CFR 1.401(k)-2(a)(7) Example 4."""
    pays = {"M": (100_000, 3_000), "N": (100_000, 2_000), "O": (60_000, 1_800), "P": (40_000, 0),
            "Q": (30_000, 0), "R": (5_000, 0), "S": (20_000, 0)}
    return [person(i, pay, deferral, qnec=D(pay) * qnec_percent / 100) for i, (pay, deferral) in pays.items()]


def test_example_c_fails_then_passes_with_a_2_percent_qnec_to_everyone():
    before = adp(example_c(), {"M", "N"})
    assert (before.hce_average, before.nhce_average, before.passed) == (D("2.50"), D("0.60"), False)
    after = adp(example_c(qnec_percent=2), {"M", "N"})
    assert (after.hce_average, after.nhce_average, after.passed) == (D("4.50"), D("2.60"), True)


def test_example_c_cheapest_qnec_to_nhces_only():
    result = adp(example_c(), {"M", "N"})
    qnec = qnec_to_pass(result)
    # NHCE average 0.60 + 0.65 = 1.25, and 2 x 1.25 = 2.50 >= the HCEs' 2.50; 0.64 would leave 2.48.
    assert qnec.percent == D("0.65")
    assert qnec.cost_cents == cents("1007.50")
    assert qnec.nhce_average_after == D("1.25")


def test_qnec_counts_only_up_to_5_percent_or_twice_the_representative_rate():
    # One NHCE gets a 10% QNEC, the others none: the representative rate is 0, so only 5% of pay counts.
    people = [person("H", 100_000, 10_000), person("N1", 50_000, qnec=5_000), person("N2", 50_000),
              person("N3", 50_000)]
    result = adp(people, {"H"})
    assert [m.ratio for m in result.nhces] == [D("5.00"), D("0.00"), D("0.00")]


def test_nhce_increase_needed():
    result = adp(example_c(), {"M", "N"})
    increase = nhce_increase_to_pass(result)
    assert increase.nhce_average_needed == D("1.25") and increase.points == D("0.65")
    assert increase.extra_contributions_cents == cents("1007.50")
    # Two of the four non-deferring NHCEs deferring 3% (the deferring NHCEs' average) would pass.
    assert (increase.nonparticipants, increase.nonparticipants_needed, increase.at_percent) == (4, 2, D("3.00"))


def test_minimum_nhce_average_to_pass():
    assert minimum_nhce_average_to_pass(D("6.50")) == D("4.50")
    assert minimum_nhce_average_to_pass(D("2.50")) == D("1.25")
    assert minimum_nhce_average_to_pass(D("15.00")) == D("12.00")
    assert minimum_nhce_average_to_pass(D("0")) == D("0.00")


def test_nothing_to_correct_when_passing():
    result = adp([person("A", 100_000, 4_000), person("B", 100_000, 4_000)], {"A"})
    assert result.passed
    correction = correct_by_refunds(result, plan_year_end=YEAR_END)
    assert correction.total_excess_cents == 0 and correction.refunds_cents == {}
    assert qnec_to_pass(result) is None and nhce_increase_to_pass(result) is None


# --- properties ---------------------------------------------------------------------------------


pay_cents = st.integers(min_value=2_000_000, max_value=60_000_000)  # 20,000 to 600,000 dollars


@st.composite
def hce_groups(draw):
    count = draw(st.integers(min_value=1, max_value=7))
    hces = []
    for index in range(count):
        pay = draw(pay_cents)
        counted = draw(st.integers(min_value=0, max_value=pay * 20 // 100) if index else
                       st.integers(min_value=pay * 12 // 100, max_value=pay * 25 // 100))
        refundable = draw(st.one_of(st.just(counted), st.integers(min_value=0, max_value=counted)))
        room = draw(st.sampled_from([0, 0, 750_000, 1_125_000]))
        hces.append(EmployeeRatio(f"h{index}", True, pay, counted, refundable, room,
                                   contribution_ratio(counted, pay)))
    nhce_average = D(draw(st.integers(min_value=0, max_value=600))).scaleb(-2)
    return hces, nhce_average


def rerun(hces, nhce_average, new_counted):
    members = [EmployeeRatio(m.employee_id, True, m.compensation_cents, new_counted[m.employee_id],
                              new_counted[m.employee_id], 0, contribution_ratio(new_counted[m.employee_id],
                                                                                m.compensation_cents))
               for m in hces]
    return run_ratio_test("ADP", members, method="prior", prior_nhce_average=nhce_average)


@settings(max_examples=300, deadline=None)
@given(hce_groups())
def test_correction_makes_the_test_pass_and_refunds_no_more_than_needed(group):
    hces, nhce_average = group
    result = run_ratio_test("ADP", hces, method="prior", prior_nhce_average=nhce_average)
    assume(not result.passed)
    correction = correct_by_refunds(result, plan_year_end=YEAR_END)

    # The leveling-ratio reductions make the re-run test pass.
    after = {m.employee_id: m.counted_cents - correction.leveling_reductions_cents.get(m.employee_id, 0) for m in hces}
    assert all(value >= 0 for value in after.values())
    assert rerun(hces, nhce_average, after).passed

    # Leveling one hundredth higher would fail: no smaller leveled excess passes.
    higher = correction.hce_ratio_cap + D("0.01")
    capped = {m.employee_id: m.compensation_cents * int(higher * 100) // 10_000 if m.ratio > higher else m.counted_cents
              for m in hces}
    assert not rerun(hces, nhce_average, capped).passed

    # Exactly the leveling excess is apportioned (or reported as unallocatable), never more than the plan holds.
    apportioned = correction.apportioned_cents
    assert sum(apportioned.values()) + correction.unallocated_cents == correction.total_excess_cents
    for m in hces:
        given = apportioned.get(m.employee_id, 0)
        assert 0 <= given <= m.refundable_cents
        assert correction.refunds_cents.get(m.employee_id, 0) + correction.recharacterized_catch_up_cents.get(
            m.employee_id, 0) == given
        assert correction.recharacterized_catch_up_cents.get(m.employee_id, 0) <= m.unused_catch_up_cents

    # Leveling dollars: whoever is still being lowered ends at the highest remaining amount (to the cent).
    remaining = {m.employee_id: m.counted_cents - apportioned.get(m.employee_id, 0) for m in hces}
    for m in hces:
        given = apportioned.get(m.employee_id, 0)
        if 0 < given < m.refundable_cents:
            assert all(remaining[o.employee_id] <= remaining[m.employee_id] + 1 for o in hces
                       if apportioned.get(o.employee_id, 0) < o.refundable_cents)


@st.composite
def failing_plans(draw):
    hces = [EmployeeRatio(f"h{i}", True, pay, counted, counted, 0, contribution_ratio(counted, pay))
            for i, (pay, counted) in enumerate(draw(st.lists(
                pay_cents.flatmap(lambda p: st.tuples(st.just(p), st.integers(p // 50, p * 15 // 100))),
                min_size=1, max_size=4)))]
    nhces = [EmployeeRatio(f"n{i}", False, pay, counted, counted, 0, contribution_ratio(counted, pay))
             for i, (pay, counted) in enumerate(draw(st.lists(
                 st.integers(100_000, 15_000_000).flatmap(lambda p: st.tuples(st.just(p), st.integers(0, p // 20))),
                 min_size=1, max_size=8)))]
    return hces + nhces


@settings(max_examples=200, deadline=None)
@given(failing_plans())
def test_qnec_found_is_the_smallest_that_passes(members):
    result = run_ratio_test("ADP", members)
    assume(not result.passed)
    qnec = qnec_to_pass(result)
    assert qnec is not None

    def with_qnec(percent):
        new = []
        for m in members:
            if m.hce:
                new.append(m)
            else:
                counted = m.counted_cents + percent_of_cents(m.compensation_cents, percent)
                new.append(EmployeeRatio(m.employee_id, False, m.compensation_cents, counted, counted, 0,
                                          contribution_ratio(counted, m.compensation_cents)))
        return run_ratio_test("ADP", new)

    assert with_qnec(qnec.percent).passed
    assert with_qnec(qnec.percent).nhce_average == qnec.nhce_average_after
    if qnec.percent > D("0.01"):
        assert not with_qnec(qnec.percent - D("0.01")).passed
    needed = minimum_nhce_average_to_pass(result.hce_average)
    assert passes(result.hce_average, needed) and not passes(result.hce_average, needed - D("0.01"))


# --- the highest election HCEs can still make ----------------------------------------------------


def test_highest_hce_election_worked_example():
    # Two HCEs paid 100,000 for the year, 25,000 still to come; 3,000 and 5,000 deferred so far; limit 6.00%.
    # At r on the remaining pay the ratios are 3 + r/4 and 5 + r/4, whose average is 6.00 at r = 8.00. Each
    # ratio is rounded to hundredths first (1.401(k)-2(a)(3)): at 8.01 they are 5.0025 -> 5.00 and 7.0025 ->
    # 7.00, still passing; at 8.02, 5.005 -> 5.01 and 7.005 -> 7.01 fail.
    hces = [HceOutlook("A", cents(3000), cents(25000), cents(100000), cents(20000)),
            HceOutlook("B", cents(5000), cents(25000), cents(100000), cents(18000))]
    assert highest_hce_election(hces, D("6.00")) == D("8.01")
    # 402(g) room bounds what a rate can add: with 1,000 of room each, nothing they elect can fail the test.
    capped = [HceOutlook(h.employee_id, h.counted_cents, h.remaining_pay_cents, h.compensation_cents, cents(1000))
              for h in hces]
    assert highest_hce_election(capped, D("6.00")) == D("100.00")
    # Already over the limit on what is deferred: no election passes.
    assert highest_hce_election(hces, D("3.99")) is None


@given(st.lists(st.tuples(st.integers(0, 3_000_000), st.integers(0, 10_000_000), st.integers(1, 36_000_000),
                          st.integers(0, 2_450_000)), min_size=1, max_size=6),
       st.decimals(min_value=D("0"), max_value=D("20"), places=2))
@settings(max_examples=200, deadline=None)
def test_highest_hce_election_passes_and_one_hundredth_more_fails(people, limit):
    hces = [HceOutlook(f"H{i}", counted, remaining, pay, room) for i, (counted, remaining, pay, room) in enumerate(people)]

    def average(rate):
        ratios = [contribution_ratio(h.counted_cents + min(h.room_cents, percent_of_cents(h.remaining_pay_cents, rate)),
                                     h.compensation_cents) for h in hces]
        return sum(ratios, D(0)) / len(ratios)

    cap = highest_hce_election(hces, limit)
    if cap is None:
        assert average(D(0)).quantize(D("0.01"), rounding="ROUND_HALF_UP") > limit
        return
    assert average(cap).quantize(D("0.01"), rounding="ROUND_HALF_UP") <= limit
    if cap < 100:
        assert average(cap + D("0.01")).quantize(D("0.01"), rounding="ROUND_HALF_UP") > limit
