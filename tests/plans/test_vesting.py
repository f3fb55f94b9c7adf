from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from backend.plans.vesting import (
    EMPLOYEE_SOURCES,
    EMPLOYER_SOURCES,
    NAMED_SCHEDULES,
    named_schedule,
    validate_vesting,
    vested_percent,
)


def sched(*percents):
    return {year: Decimal(p) for year, p in enumerate(percents)}


def test_named_schedules():
    assert NAMED_SCHEDULES == ("immediate", "cliff_2", "cliff_3", "graded_4", "graded_5", "graded_6")
    assert named_schedule("immediate") == {0: Decimal(100)}
    assert named_schedule("cliff_2") == sched(0, 0, 100)
    assert named_schedule("cliff_3") == {0: Decimal(0), 1: Decimal(0), 2: Decimal(0), 3: Decimal(100)}
    assert named_schedule("graded_4") == sched(0, 25, 50, 75, 100)
    assert named_schedule("graded_5") == sched(0, 20, 40, 60, 80, 100)
    assert named_schedule("graded_6") == sched(0, 0, 20, 40, 60, 80, 100)
    assert all(isinstance(p, Decimal) for name in NAMED_SCHEDULES for p in named_schedule(name).values())


def test_named_schedule_returns_a_copy():
    mine = named_schedule("cliff_3")
    mine[3] = Decimal(0)
    assert named_schedule("cliff_3")[3] == Decimal(100)


def test_unknown_named_schedule():
    with pytest.raises(ValueError, match="unknown vesting schedule"):
        named_schedule("cliff_7")


def test_vested_percent_graded_6_every_year():
    graded = named_schedule("graded_6")
    assert [vested_percent(graded, n) for n in range(9)] == [Decimal(p) for p in (0, 0, 20, 40, 60, 80, 100, 100, 100)]


def test_vested_percent_cliff_boundary():
    cliff = named_schedule("cliff_3")
    assert vested_percent(cliff, 2) == Decimal(0)
    assert vested_percent(cliff, 3) == Decimal(100)


def test_vested_percent_sparse_keys_use_largest_key_at_or_below():
    schedule = {2: Decimal(50), 4: Decimal(100)}
    assert vested_percent(schedule, 1) == Decimal(0)
    assert vested_percent(schedule, 2) == Decimal(50)
    assert vested_percent(schedule, 3) == Decimal(50)
    assert vested_percent(schedule, 4) == Decimal(100)


def test_vested_percent_is_100_beyond_last_key():
    assert vested_percent({0: Decimal(0), 1: Decimal(40)}, 2) == Decimal(100)


def test_vested_percent_rejects_bad_input():
    with pytest.raises(ValueError):
        vested_percent(named_schedule("cliff_3"), -1)
    with pytest.raises(ValueError):
        vested_percent({}, 1)
    with pytest.raises(TypeError):
        vested_percent({0: 100.0}, 0)


@pytest.mark.parametrize("schedule", [
    named_schedule("cliff_3"),
    {0: Decimal(0), 1: Decimal(0), 2: Decimal(0), 3: Decimal(100)},
    named_schedule("graded_6"),
    named_schedule("graded_5"),
    named_schedule("graded_4"),
    named_schedule("cliff_2"),
    named_schedule("immediate"),
    {2: Decimal(20), 3: Decimal(40), 4: Decimal(60), 5: Decimal(80), 6: Decimal(100)},
    sched(0, 10, 20, 40, 60, 80, 100),
    sched(0, "0", "33.33", "66.67", 100),
])
@pytest.mark.parametrize("source", EMPLOYER_SOURCES)
def test_allowed_employer_schedules(source, schedule):
    assert validate_vesting(source, schedule, None) == []


def test_four_year_cliff_is_too_slow():
    [problem] = validate_vesting("employer_match", sched(0, 0, 0, 0, 100), None)
    assert "411(a)(2)(B)" in problem
    assert "0% at year 3 where the 3-year cliff requires 100%" in problem
    assert "0% at year 2 where the graded schedule requires 20%" in problem


def test_slower_than_graded_is_too_slow():
    schedule = {2: Decimal(10), 3: Decimal(40), 4: Decimal(60), 5: Decimal(80), 6: Decimal(100)}
    [problem] = validate_vesting("nonelective", schedule, None)
    assert "10% at year 2 where the graded schedule requires 20%" in problem


def test_mix_of_both_minimums_is_not_enough():
    # Faster than the cliff in years 1-2 and than the graded schedule through year 3, then behind both.
    [problem] = validate_vesting("profit_sharing", sched(0, 50, 50, 50, 50, 100), None)
    assert "50% at year 3 where the 3-year cliff requires 100%" in problem
    assert "50% at year 4 where the graded schedule requires 60%" in problem


def test_pointwise_weaker_of_the_two_minimums_is_not_enough():
    # Meets one minimum at each year (graded from year 3, cliff before), but neither throughout.
    assert validate_vesting("employer_match", sched(0, 0, 0, 40, 60, 80, 100), None) != []


def test_decreasing_schedule():
    problems = validate_vesting("employer_match", sched(0, 50, 40, 100), None)
    assert problems == ["The employer_match vesting schedule goes down from 50% at year 1 to 40% at year 2; "
                        "vested percentages can never decrease (IRC 411(a)(2))."]


def test_last_entry_must_be_100():
    problems = validate_vesting("employer_match", sched(100, 100, 100, 90), None)
    assert any("must end at 100%" in p for p in problems)


@pytest.mark.parametrize("schedule, fragment", [
    ({0: Decimal(0), 1: Decimal(101)}, "between 0% and 100%"),
    ({0: Decimal(-1), 1: Decimal(100)}, "between 0% and 100%"),
    ({-1: Decimal(0), 0: Decimal(100)}, "negative year"),
    ({0: 50.0, 1: Decimal(100)}, "must be a Decimal"),
    ({0: Decimal("NaN"), 1: Decimal(100)}, "between 0% and 100%"),
    ({"1": Decimal(100)}, "non-integer year"),
])
def test_malformed_schedules(schedule, fragment):
    problems = validate_vesting("employer_match", schedule, None)
    assert any(fragment in p for p in problems), problems


def test_empty_schedule_and_unknown_source():
    assert validate_vesting("employer_match", {}, None) != []
    assert "Unknown contribution source" in validate_vesting("bonus", named_schedule("immediate"), None)[0]


@pytest.mark.parametrize("source", EMPLOYEE_SOURCES)
def test_employee_sources_must_be_immediate(source):
    assert validate_vesting(source, named_schedule("immediate"), None) == []
    assert validate_vesting(source, {0: Decimal(100), 5: Decimal(100)}, None) == []
    for name in ("cliff_2", "cliff_3", "graded_6"):
        [problem] = validate_vesting(source, named_schedule(name), None)
        assert "100% vested immediately" in problem and "0% at year 0" in problem


def test_pretax_with_cliff_is_rejected():
    assert validate_vesting("pretax", named_schedule("cliff_3"), None) == [
        "Pretax contributions must be 100% vested immediately (IRC 401(k)(2)(C), 411(a)(1)), but this schedule "
        "is 0% at year 0."
    ]


@pytest.mark.parametrize("design", [None, "basic_match", "enhanced_match", "nonelective"])
def test_non_qaca_safe_harbor_must_be_immediate(design):
    assert validate_vesting("safe_harbor", named_schedule("immediate"), design) == []
    [problem] = validate_vesting("safe_harbor", named_schedule("cliff_3"), design)
    assert "401(k)(12)(E)(i)" in problem
    assert validate_vesting("safe_harbor", named_schedule("cliff_2"), design) != []


@pytest.mark.parametrize("design", ["qaca_match", "qaca_nonelective"])
def test_qaca_may_use_two_year_cliff(design):
    assert validate_vesting("safe_harbor", named_schedule("cliff_2"), design) == []
    assert validate_vesting("safe_harbor", sched(0, 50, 100), design) == []
    assert validate_vesting("safe_harbor", named_schedule("immediate"), design) == []
    [problem] = validate_vesting("safe_harbor", named_schedule("cliff_3"), design)
    assert "401(k)(13)(D)(iii)(I)" in problem and "0% at year 2" in problem
    assert validate_vesting("safe_harbor", named_schedule("graded_6"), design) != []


increments = st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=10)


def monotone(steps):
    percents, running = [], 0
    for step in steps:
        running = min(100, running + step)
        percents.append(running)
    percents[-1] = 100
    return {year: Decimal(p) for year, p in enumerate(percents)}


@given(increments)
def test_employer_schedule_valid_exactly_when_it_dominates_a_minimum(steps):
    schedule = monotone(steps)
    horizon = range(12)
    cliff, graded = named_schedule("cliff_3"), named_schedule("graded_6")
    dominates_cliff = all(vested_percent(schedule, n) >= vested_percent(cliff, n) for n in horizon)
    dominates_graded = all(vested_percent(schedule, n) >= vested_percent(graded, n) for n in horizon)
    assert (validate_vesting("employer_match", schedule, None) == []) == (dominates_cliff or dominates_graded)


@given(increments, st.integers(min_value=0, max_value=15))
def test_vested_percent_never_decreases_for_a_monotone_schedule(steps, years):
    schedule = monotone(steps)
    assert Decimal(0) <= vested_percent(schedule, years) <= vested_percent(schedule, years + 1) <= Decimal(100)
