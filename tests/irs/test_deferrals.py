"""One person's deferrals for a year: regular, catch-up or excess by the rule (26 CFR 1.414(v)-1), and the 402(g)
room every caller shares. Amounts in the examples are dollars; the functions take cents."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.irs.deferrals import (
    DeferralClassification,
    classify_deferrals,
    deferral_limit_cents,
    deferral_room_cents,
)
from backend.irs.limits import MissingLimits

DOLLAR = 100


def classify(year, age, plan, elsewhere=0, **options):
    options = {name: dollars * DOLLAR for name, dollars in options.items()}
    return classify_deferrals(year, age, plan * DOLLAR, elsewhere * DOLLAR, **options)


def split(result: DeferralClassification):
    """(regular, catch-up, excess in this plan, excess over every plan, unused catch-up room) in dollars."""
    return tuple(value / DOLLAR for value in (result.regular_cents, result.catch_up_cents, result.excess_in_plan_cents,
                                             result.excess_cents, result.unused_catch_up_cents))


# --- classifying ---------------------------------------------------------------------------------------------


def test_under_the_402g_limit_every_deferral_is_regular_whatever_the_age():
    # 1.414(v)-1(a)(1): a catch-up is a deferral over an applicable limit; 20,000 is over none in 2026.
    assert split(classify(2026, 55, 20_000)) == (20_000, 0, 0, 0, 8_000)


def test_over_402g_a_50_year_old_has_catch_up_up_to_the_catch_up_limit_then_excess():
    # 2026: 402(g) 24,500, catch-up 8,000 at 55 (IRC 402(g)(1)(C), 414(v)(2)(B)(i)).
    assert split(classify(2026, 55, 30_000)) == (24_500, 5_500, 0, 0, 2_500)
    assert split(classify(2026, 55, 32_500)) == (24_500, 8_000, 0, 0, 0)
    assert split(classify(2026, 55, 36_500)) == (24_500, 8_000, 4_000, 4_000, 0)


def test_under_50_everything_over_402g_is_excess():
    assert split(classify(2026, 49, 26_000)) == (24_500, 0, 1_500, 1_500, 0)


def test_the_age_is_the_age_reached_by_december_31():
    # IRC 414(v)(5)(A): someone turning 50 on December 31 may catch up all year; 60-63 get 11,250 (414(v)(2)(E)).
    assert classify(2025, 50, 25_000).catch_up_cents == 1_500 * DOLLAR
    assert classify(2025, 61, 34_750).catch_up_cents == 11_250 * DOLLAR
    assert classify(2025, 64, 34_750).excess_cents == 3_750 * DOLLAR
    assert classify(2024, 61, 30_500).catch_up_limit_cents == 7_500 * DOLLAR  # no 60-63 figure before 2025


def test_deferrals_elsewhere_fill_the_limits_first_and_this_plan_holds_what_is_over():
    # 15,000 at a former employer then 17,000 here, at 55 in 2026: 32,000 in all is 24,500 regular and 7,500
    # catch-up; this plan's 17,000 is the year's last dollars: 9,500 regular, 7,500 catch-up.
    assert split(classify(2026, 55, 17_000, elsewhere=15_000)) == (9_500, 7_500, 0, 0, 500)
    # 30,000 elsewhere used 5,500 of the 8,000 catch-up: here 2,500 more is catch-up and 2,500 is excess.
    assert split(classify(2026, 55, 5_000, elsewhere=30_000)) == (0, 2_500, 2_500, 2_500, 0)
    # An excess this plan does not hold is still the person's excess.
    assert split(classify(2026, 40, 0, elsewhere=25_000)) == (0, 0, 0, 500, 0)


def test_deferrals_over_415c_are_catch_up_while_room_is_left():
    # 55 in 2026, paid 20,000 (so 415(c) allows 20,000): 15,500 deferred + 6,000 match is 1,500 over; 1,500 of
    # the deferrals is catch-up instead (26 CFR 1.414(v)-1(b)(1)(i)).
    result = classify(2026, 55, 15_500, other_additions_cents=6_000, additions_limit_cents=20_000)
    assert split(result) == (14_000, 1_500, 0, 0, 6_500)
    assert result.catch_up_over_415c_cents == 1_500 * DOLLAR
    # Under 50 there is no room: the 1,500 stays regular (and over 415(c), for the engine to report).
    assert classify(2026, 45, 15_500, other_additions_cents=6_000, additions_limit_cents=20_000).catch_up_cents == 0
    # Room used by 402(g) first: 31,000 leaves 1,500 of room for 415(c).
    result = classify(2026, 55, 31_000, other_additions_cents=60_000, additions_limit_cents=72_000)
    assert split(result) == (23_000, 8_000, 0, 0, 0) and result.catch_up_over_415c_cents == 1_500 * DOLLAR


def test_without_a_415c_limit_only_402g_is_applied():
    assert classify(2026, 55, 15_500, other_additions_cents=60_000).catch_up_cents == 0


@pytest.mark.parametrize("call, error", [
    (lambda: classify_deferrals(2026, 55, 1000.0), TypeError),
    (lambda: classify_deferrals(2026, 55, True), TypeError),
    (lambda: classify_deferrals(2026, "55", 1000), TypeError),
    (lambda: classify_deferrals(2026, 55, -1), ValueError),
    (lambda: classify_deferrals(2026, 55, 1000, -1), ValueError),
    (lambda: classify_deferrals(2026, 55, 1000, additions_limit_cents=-1), ValueError),
    (lambda: classify_deferrals(2031, 55, 1000), MissingLimits),
])
def test_bad_input_is_refused(call, error):
    with pytest.raises(error):
        call()


# --- the room left -------------------------------------------------------------------------------------------


@pytest.mark.parametrize("age, room", [(None, 4_500), (45, 4_500), (50, 12_500), (61, 15_750), (64, 12_500)])
def test_the_room_is_402g_plus_the_catch_up_for_the_age_less_what_was_deferred(age, room):
    # 2026, 20,000 deferred so far: 24,500 (+ 8,000 at 50 or 64, + 11,250 at 61) less 20,000.
    assert deferral_room_cents(2026, age, 20_000 * DOLLAR) == room * DOLLAR


def test_deferrals_elsewhere_use_the_room_up_too_and_the_room_is_never_negative():
    assert deferral_room_cents(2026, 55, 10_000 * DOLLAR, 15_000 * DOLLAR) == 7_500 * DOLLAR
    assert deferral_room_cents(2026, 40, 30_000 * DOLLAR) == 0


def test_the_limit_without_an_age_is_402g_alone():
    assert deferral_limit_cents(2026, None) == 24_500 * DOLLAR
    assert deferral_limit_cents(2026, 55) == 32_500 * DOLLAR
    assert deferral_limit_cents(2025, 62) == 34_750 * DOLLAR


years = st.sampled_from([2024, 2025, 2026])
ages = st.integers(min_value=18, max_value=80)
amounts = st.integers(min_value=0, max_value=6_000_000)


@given(years, ages, amounts, amounts, amounts, st.one_of(st.none(), st.integers(min_value=0, max_value=8_000_000)))
def test_every_deferral_is_regular_catch_up_or_excess_and_none_passes_its_limit(year, age, plan, elsewhere, other,
                                                                              additions_limit):
    result = classify_deferrals(year, age, plan, elsewhere, other_additions_cents=other,
                                additions_limit_cents=additions_limit)
    assert result.plan_deferrals_cents == plan
    assert min(result.regular_cents, result.catch_up_cents, result.excess_in_plan_cents,
               result.unused_catch_up_cents) >= 0
    assert result.regular_cents <= deferral_limit_cents(year, None)
    assert result.catch_up_cents + result.unused_catch_up_cents <= result.catch_up_limit_cents
    assert result.excess_in_plan_cents <= result.excess_cents
    assert result.excess_cents == max(0, plan + elsewhere - deferral_limit_cents(year, age))
    if additions_limit is not None and result.unused_catch_up_cents:
        assert result.regular_cents + other <= additions_limit or result.regular_cents == 0


@given(years, ages, st.integers(min_value=0, max_value=4_000_000), st.integers(min_value=0, max_value=4_000_000))
def test_deferring_the_room_is_exactly_allowed_and_a_cent_more_is_excess(year, age, deferred, elsewhere):
    room = deferral_room_cents(year, age, deferred, elsewhere)
    already = classify_deferrals(year, age, deferred, elsewhere).excess_cents
    assert classify_deferrals(year, age, deferred + room, elsewhere).excess_cents == already
    assert classify_deferrals(year, age, deferred + room + 1, elsewhere).excess_cents == already + 1
    assert deferral_room_cents(year, None, deferred, elsewhere) <= room  # asking without the age is safe
