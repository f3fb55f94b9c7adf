from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.plans.match import (
    QACA_BASIC,
    SAFE_HARBOR_BASIC,
    SAFE_HARBOR_ENHANCED,
    MatchTier,
    full_match_deferral_percent,
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
