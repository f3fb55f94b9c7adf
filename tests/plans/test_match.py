from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.money import percent_of_cents
from backend.plans.match import (
    QACA_BASIC,
    SAFE_HARBOR_BASIC,
    SAFE_HARBOR_ENHANCED,
    MatchTier,
    MatchedPaychecks,
    full_match_deferral_percent,
    match_for_paycheck,
    match_for_paychecks,
    match_percent_of_pay,
    max_match_percent_of_pay,
    validate_tiers,
)


def tier(low, high, rate):
    return MatchTier(Decimal(low), Decimal(high), Decimal(rate))


def test_templates():
    assert SAFE_HARBOR_BASIC == (tier(0, 3, 100), tier(3, 5, 50))
    assert SAFE_HARBOR_ENHANCED == (tier(0, 4, 100),)
    assert QACA_BASIC == (tier(0, 1, 100), tier(1, 6, 50))
    for template in (SAFE_HARBOR_BASIC, SAFE_HARBOR_ENHANCED, QACA_BASIC):
        assert validate_tiers(template) == []


def test_match_tier_is_frozen():
    with pytest.raises(AttributeError):
        SAFE_HARBOR_BASIC[0].match_rate_percent = Decimal(50)


@pytest.mark.parametrize("deferral, match", [
    ("0", "0"), ("2", "2"), ("3", "3"), ("4", "3.5"), ("5", "4"), ("6", "4"), ("4.5", "3.75"), ("100", "4"),
])
def test_basic_safe_harbor(deferral, match):
    assert match_percent_of_pay(SAFE_HARBOR_BASIC, Decimal(deferral)) == Decimal(match)


@pytest.mark.parametrize("deferral, match", [("0.5", "0.5"), ("1", "1"), ("3", "2"), ("6", "3.5"), ("10", "3.5")])
def test_qaca_match(deferral, match):
    assert match_percent_of_pay(QACA_BASIC, Decimal(deferral)) == Decimal(match)


def test_enhanced_match():
    assert match_percent_of_pay(SAFE_HARBOR_ENHANCED, Decimal(4)) == Decimal(4)
    assert match_percent_of_pay(SAFE_HARBOR_ENHANCED, Decimal(6)) == Decimal(4)


def test_result_is_exact_decimal():
    result = match_percent_of_pay((tier(0, 6, "33.33"),), Decimal("5.55"))
    assert isinstance(result, Decimal)
    assert result == Decimal("1.849815")


def test_full_match_and_max():
    assert full_match_deferral_percent(SAFE_HARBOR_BASIC) == Decimal(5)
    assert max_match_percent_of_pay(SAFE_HARBOR_BASIC) == Decimal(4)
    assert full_match_deferral_percent(SAFE_HARBOR_ENHANCED) == Decimal(4)
    assert max_match_percent_of_pay(SAFE_HARBOR_ENHANCED) == Decimal(4)
    assert full_match_deferral_percent(QACA_BASIC) == Decimal(6)
    assert max_match_percent_of_pay(QACA_BASIC) == Decimal("3.5")
    assert full_match_deferral_percent(()) == Decimal(0)
    assert max_match_percent_of_pay(()) == Decimal(0)
    assert match_percent_of_pay((), Decimal(6)) == Decimal(0)


def test_gaps_are_allowed_and_unmatched():
    tiers = (tier(0, 2, 100), tier(4, 6, 50))
    assert validate_tiers(tiers) == []
    assert match_percent_of_pay(tiers, Decimal(3)) == Decimal(2)
    assert match_percent_of_pay(tiers, Decimal(5)) == Decimal("2.5")


def test_adjacent_tiers_do_not_overlap():
    assert validate_tiers((tier(3, 5, 50), tier(0, 3, 100))) == []


def test_overlapping_tiers_name_both_indexes():
    assert validate_tiers((tier(0, 4, 100), tier(3, 5, 50))) == [
        ("match_tiers[1].deferral_from_percent", "match tier 1 (3%-5%) overlaps match tier 0 (0%-4%)"),
    ]


def test_overlap_reported_on_original_indexes_when_unsorted():
    assert validate_tiers((tier(3, 5, 50), tier(0, 4, 100))) == [
        ("match_tiers[0].deferral_from_percent", "match tier 0 (3%-5%) overlaps match tier 1 (0%-4%)"),
    ]


def test_wide_tier_overlapping_several():
    problems = validate_tiers((tier(0, 10, 100), tier(2, 3, 50), tier(4, 5, 50)))
    assert [field for field, _ in problems] == [
        "match_tiers[1].deferral_from_percent",
        "match_tiers[2].deferral_from_percent",
    ]
    assert all("match tier 0" in message for _, message in problems)


@pytest.mark.parametrize("low, high", [(3, 3), (5, 3)])
def test_from_must_be_below_to(low, high):
    problems = validate_tiers((tier(low, high, 50),))
    assert problems == [
        ("match_tiers[0].deferral_to_percent", f"must be greater than deferral_from_percent ({low}%), got {high}%"),
    ]


@pytest.mark.parametrize("bad, field", [
    (tier(-1, 3, 100), "match_tiers[0].deferral_from_percent"),
    (tier(0, 101, 100), "match_tiers[0].deferral_to_percent"),
    (tier(0, 3, 0), "match_tiers[0].match_rate_percent"),
    (tier(0, 3, -50), "match_tiers[0].match_rate_percent"),
    (tier(0, 3, 401), "match_tiers[0].match_rate_percent"),
    (MatchTier(Decimal(0), Decimal(3), 100.0), "match_tiers[0].match_rate_percent"),
    (MatchTier(Decimal(0), Decimal("Infinity"), Decimal(100)), "match_tiers[0].deferral_to_percent"),
])
def test_field_level_problems(bad, field):
    assert [f for f, _ in validate_tiers((bad,))] == [field]


def test_rate_upper_bound_is_inclusive():
    assert validate_tiers((tier(0, 3, 400),)) == []


def test_second_tier_problem_is_indexed():
    assert validate_tiers((tier(0, 3, 100), tier(3, 5, 0)))[0][0] == "match_tiers[1].match_rate_percent"


def test_invalid_input_to_calculations():
    with pytest.raises(ValueError, match="overlaps"):
        match_percent_of_pay((tier(0, 4, 100), tier(3, 5, 50)), Decimal(4))
    with pytest.raises(ValueError):
        match_percent_of_pay(SAFE_HARBOR_BASIC, Decimal(-1))
    with pytest.raises(TypeError):
        match_percent_of_pay(SAFE_HARBOR_BASIC, 4.0)
    with pytest.raises(ValueError):
        full_match_deferral_percent((tier(5, 3, 50),))


percent = st.decimals(min_value=0, max_value=100, places=2, allow_nan=False, allow_infinity=False)
rate = st.decimals(min_value="0.01", max_value=400, places=2, allow_nan=False, allow_infinity=False)


@st.composite
def tier_sets(draw):
    bounds = sorted(set(draw(st.lists(percent, min_size=0, max_size=8))))
    tiers = []
    for low, high in zip(bounds, bounds[1:]):
        if draw(st.booleans()):  # sometimes leave a gap
            tiers.append(MatchTier(low, high, draw(rate)))
    return draw(st.permutations(tiers))


@given(tier_sets(), percent, percent)
def test_match_is_exact_monotone_and_capped(tiers, a, b):
    assert validate_tiers(tiers) == []
    low, high = min(a, b), max(a, b)
    at_low, at_high = match_percent_of_pay(tiers, low), match_percent_of_pay(tiers, high)
    assert Decimal(0) <= at_low <= at_high <= max_match_percent_of_pay(tiers)
    expected = Fraction(0)
    for t in tiers:
        matched = min(Fraction(high), Fraction(t.deferral_to_percent)) - Fraction(t.deferral_from_percent)
        expected += Fraction(t.match_rate_percent) * max(Fraction(0), matched) / 100
    assert Fraction(at_high) == expected
    if high >= full_match_deferral_percent(tiers):
        assert at_high == max_match_percent_of_pay(tiers)


# --- the match on a paycheck -------------------------------------------------------------------------------


def test_a_paycheck_is_matched_by_the_formula_on_its_deferral_percent():
    # $2,000 paycheck, $120 deferred (6%): the basic safe harbor matches 100% of 3% + 50% of 2% = 4% = $80.
    assert match_for_paycheck(SAFE_HARBOR_BASIC, 200_000, 12_000) == 8_000
    # $40 deferred (2%): 2% = $40.
    assert match_for_paycheck(SAFE_HARBOR_BASIC, 200_000, 4_000) == 4_000
    # $70 deferred (3.5%): 3% + 0.25% = 3.25% = $65.
    assert match_for_paycheck(SAFE_HARBOR_BASIC, 200_000, 7_000) == 6_500


def test_no_formula_no_pay_or_no_deferral_earns_no_match():
    assert match_for_paycheck((), 200_000, 12_000) == 0
    assert match_for_paycheck(SAFE_HARBOR_BASIC, 0, 12_000) == 0
    assert match_for_paycheck(SAFE_HARBOR_BASIC, 200_000, 0) == 0


def test_the_match_rounds_to_the_nearest_cent_halves_up():
    # 4% of 123,457 cents is 4,938.28 cents; 4% of 12,345 cents is 493.8 cents.
    assert match_for_paycheck(SAFE_HARBOR_ENHANCED, 123_457, 10_000) == 4_938
    assert match_for_paycheck(SAFE_HARBOR_ENHANCED, 12_345, 1_000) == 494


def test_only_the_pay_left_under_401a17_is_matched():
    # $19,230.77 paycheck deferring 6% ($1,153.85) with $13,846.14 of the 2026 limit left: the tiers match
    # deferrals up to their percent of the counted $13,846.14 (the deferral is 8.33% of it): 4% = $553.85.
    assert match_for_paycheck(SAFE_HARBOR_BASIC, 1_923_077, 115_385, 1_384_614) == 55_385
    assert match_for_paycheck(SAFE_HARBOR_BASIC, 1_923_077, 115_385, 0) == 0
    assert match_for_paycheck(SAFE_HARBOR_BASIC, 1_923_077, 115_385, -500) == 0  # already past the limit
    assert match_for_paycheck(SAFE_HARBOR_BASIC, 1_923_077, 115_385, 5_000_000) == 76_923  # room to spare


def test_deferrals_above_the_counted_pay_count_as_100_percent():
    # $100 of room left on a paycheck deferring $500: the deferral percent is capped at 100% of counted pay.
    assert match_for_paycheck((tier(0, 100, 50),), 200_000, 50_000, 10_000) == 5_000


def test_a_500000_earners_2026_match_stops_growing_at_360000_of_pay():
    # Biweekly: 26 paychecks of $19,230.77, 6% deferred ($1,153.85 each), basic safe harbor (4%). 18 paychecks
    # count in full ($346,153.86), the 19th counts the last $13,846.14 of 2026's $360,000, the rest nothing.
    pay, deferred, limit = 1_923_077, 115_385, 36_000_000
    room, matches = limit, []
    for _ in range(26):
        matches.append(match_for_paycheck(SAFE_HARBOR_BASIC, pay, deferred, room))
        room -= min(pay, max(room, 0))
    assert matches[:18] == [76_923] * 18 and matches[18] == 55_385 and matches[19:] == [0] * 7
    assert sum(matches) == 1_439_999  # 4% of $360,000 is $14,400.00; each paycheck rounds on its own
    assert match_for_paychecks(SAFE_HARBOR_BASIC, pay, deferred, 26, limit) == MatchedPaychecks(1_439_999, 0)
    # Uncapped, the projection used to price all 26 paychecks at $769.23: $20,000 of match the plan never pays.
    assert match_for_paychecks(SAFE_HARBOR_BASIC, pay, deferred, 26) == MatchedPaychecks(2_000_000 - 2, None)


def test_paychecks_priced_election_by_election_pass_the_room_on():
    pay = 1_923_077
    first = match_for_paychecks(SAFE_HARBOR_BASIC, pay, 115_385, 10, 36_000_000)
    assert first == MatchedPaychecks(769_230, 36_000_000 - 10 * pay)
    second = match_for_paychecks(SAFE_HARBOR_BASIC, pay, 57_692, 16, first.pay_room_cents)  # then 3%
    # 8 full paychecks at 3% ($576.92 each), then $13,846.14 counted: the $576.92 deferral is 4.1667% of it,
    # matched 3% + half of 1.1667% = 3.5833%: $496.15. Then none.
    assert second == MatchedPaychecks(8 * 57_692 + 49_615, 0)
    assert match_for_paychecks(SAFE_HARBOR_BASIC, pay, 115_385, 0, 1_000) == MatchedPaychecks(0, 1_000)


@pytest.mark.parametrize("call", [
    lambda: match_for_paycheck(SAFE_HARBOR_BASIC, 1000.0, 60),
    lambda: match_for_paycheck(SAFE_HARBOR_BASIC, 1000, Decimal(60)),
    lambda: match_for_paycheck(SAFE_HARBOR_BASIC, 1000, 60, 500.0),
    lambda: match_for_paychecks(SAFE_HARBOR_BASIC, 1000, 60, True),
])
def test_paycheck_amounts_must_be_integer_cents(call):
    with pytest.raises(TypeError):
        call()


def test_negative_pay_or_deferrals_are_refused():
    with pytest.raises(ValueError):
        match_for_paycheck(SAFE_HARBOR_BASIC, -1, 60)
    with pytest.raises(ValueError):
        match_for_paychecks(SAFE_HARBOR_BASIC, 1000, 60, -1)


cents_amount = st.integers(min_value=0, max_value=5_000_000)


@given(tier_sets(), cents_amount, cents_amount, st.integers(min_value=0, max_value=60),
       st.one_of(st.none(), st.integers(min_value=-1_000_000, max_value=50_000_000)))
def test_pricing_paychecks_together_equals_pricing_them_one_by_one(tiers, pay, deferred, count, room):
    total, left = 0, room
    for _ in range(count):
        total += match_for_paycheck(tiers, pay, deferred, left)
        if left is not None:
            left = max(0, left) - min(pay, max(0, left))
    expected_room = None if room is None else (max(0, room) if count == 0 else left)
    assert match_for_paychecks(tiers, pay, deferred, count, room) == MatchedPaychecks(total, expected_room)


@given(tier_sets(), cents_amount, cents_amount, st.integers(min_value=0, max_value=5_000_000))
def test_a_paycheck_match_never_passes_the_formulas_best_on_counted_pay(tiers, pay, deferred, room):
    counted = min(pay, room)
    match = match_for_paycheck(tiers, pay, deferred, room)
    assert 0 <= match <= percent_of_cents(counted, max_match_percent_of_pay(tiers))
    if room >= pay:
        assert match == match_for_paycheck(tiers, pay, deferred)  # room to spare: the cap changes nothing
