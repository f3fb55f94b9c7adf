"""Vesting schedules per contribution source.

A schedule maps completed years of vesting service to the vested percent (Decimal, 0..100). Years
not listed take the percent of the nearest listed year below them; past the last listed year the
account is fully vested.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

_HUNDRED = Decimal(100)
_ZERO = Decimal(0)

_TEMPLATES: dict[str, tuple[int, ...]] = {
    "immediate": (100,),
    "cliff_2": (0, 0, 100),
    "cliff_3": (0, 0, 0, 100),
    "graded_4": (0, 25, 50, 75, 100),
    "graded_5": (0, 20, 40, 60, 80, 100),
    "graded_6": (0, 0, 20, 40, 60, 80, 100),
}
NAMED_SCHEDULES = tuple(_TEMPLATES)

# Employee money is nonforfeitable from the start: elective deferrals (including catch-ups, which
# are elective deferrals under IRC 414(v)) by IRC 401(k)(2)(C); after-tax and rollover money because
# benefits derived from employee contributions are always vested, IRC 411(a)(1).
EMPLOYEE_SOURCES = ("pretax", "roth", "pretax_catchup", "roth_catchup", "after_tax", "rollover")
EMPLOYER_SOURCES = ("employer_match", "nonelective", "profit_sharing")
SAFE_HARBOR_SOURCE = "safe_harbor"
SOURCES = EMPLOYEE_SOURCES + EMPLOYER_SOURCES + (SAFE_HARBOR_SOURCE,)

QACA_DESIGNS = ("qaca_match", "qaca_nonelective")

# The two minimum schedules of IRC 411(a)(2)(B) for defined contribution plans. Since PPA 2006 the
# top-heavy minimums of IRC 416(b)(1) are the same two schedules, so passing here also satisfies
# top-heavy vesting and no separate 416 check is needed.
_THREE_YEAR_CLIFF = _TEMPLATES["cliff_3"]  # IRC 411(a)(2)(B)(ii)
_TWO_TO_SIX_GRADED = _TEMPLATES["graded_6"]  # IRC 411(a)(2)(B)(iii)

# IRC 401(k)(13)(D)(iii)(I): QACA contributions must be fully vested after 2 years of service.
_QACA_FULL_VESTING_YEAR = 2


def named_schedule(name: str) -> dict[int, Decimal]:
    if name not in _TEMPLATES:
        raise ValueError(f"unknown vesting schedule {name!r}; expected one of {', '.join(NAMED_SCHEDULES)}")
    # A fresh dict each call so a caller editing its copy can't change the template for everyone.
    return {year: Decimal(percent) for year, percent in enumerate(_TEMPLATES[name])}


def vested_percent(schedule: dict[int, Decimal], years_of_service: int) -> Decimal:
    if not _is_int(years_of_service):
        raise TypeError(f"years_of_service must be an int, got {type(years_of_service).__name__}")
    if years_of_service < 0:
        raise ValueError(f"years_of_service must be >= 0, got {years_of_service}")
    if not schedule:
        # Refuse rather than guess: an empty schedule is a data error, not "fully vested".
        raise ValueError("vesting schedule is empty")
    if years_of_service > max(schedule):
        return _HUNDRED
    reached = [year for year in schedule if year <= years_of_service]
    if not reached:
        return _ZERO
    percent = schedule[max(reached)]
    if not _is_percent_number(percent):
        raise TypeError(f"vesting percent must be a Decimal, got {type(percent).__name__}")
    return Decimal(percent)


def validate_vesting(source: str, schedule: dict[int, Decimal], safe_harbor: str | None) -> list[str]:
    """Human-readable problems with using `schedule` for `source`; an empty list means it is allowed.

    `safe_harbor` is the plan's safe-harbor design (e.g. "qaca_match"), or None for a plan without one.
    """
    if source not in SOURCES:
        return [f"Unknown contribution source {source!r}; expected one of {', '.join(SOURCES)}."]
    if not schedule:
        return [f"The {source} vesting schedule is empty; give at least year 0."]

    problems = _shape_problems(source, schedule)
    if problems:
        # The comparisons below assume integer years and finite percents, so stop at malformed data.
        return problems

    years = sorted(schedule)
    for earlier, later in zip(years, years[1:]):
        if schedule[later] < schedule[earlier]:
            problems.append(
                f"The {source} vesting schedule goes down from {_fmt(schedule[earlier])}% at year {earlier} "
                f"to {_fmt(schedule[later])}% at year {later}; vested percentages can never decrease "
                f"(IRC 411(a)(2))."
            )
    if schedule[years[-1]] != _HUNDRED:
        # vested_percent treats years past the last entry as 100%; requiring the 100% to be written
        # out keeps what the sponsor sees identical to what the recordkeeper applies.
        problems.append(
            f"The {source} vesting schedule must end at 100%, but its last entry (year {years[-1]}) is "
            f"{_fmt(schedule[years[-1]])}%."
        )

    if source in EMPLOYEE_SOURCES:
        problems.extend(_immediate_problems(source, schedule, "IRC 401(k)(2)(C), 411(a)(1)"))
    elif source == SAFE_HARBOR_SOURCE:
        if safe_harbor in QACA_DESIGNS:
            at_two = vested_percent(schedule, _QACA_FULL_VESTING_YEAR)
            if at_two != _HUNDRED:
                problems.append(
                    f"QACA safe-harbor contributions must be 100% vested after {_QACA_FULL_VESTING_YEAR} years "
                    f"of service (IRC 401(k)(13)(D)(iii)(I)), but this schedule is {_fmt(at_two)}% at year "
                    f"{_QACA_FULL_VESTING_YEAR}."
                )
        else:
            problems.extend(_immediate_problems(source, schedule, "IRC 401(k)(12)(E)(i)"))
    else:
        problems.extend(_minimum_vesting_problems(source, schedule))
    return problems


def _shape_problems(source: str, schedule: dict[int, Decimal]) -> list[str]:
    problems = []
    for year, percent in schedule.items():
        if not _is_int(year):
            problems.append(f"The {source} vesting schedule has a non-integer year {year!r}.")
            continue
        if year < 0:
            problems.append(f"The {source} vesting schedule has a negative year ({year}).")
        if not _is_percent_number(percent):
            # Floats are refused outright: 33.3 as a float is not 33.3, and vesting must be exact.
            problems.append(
                f"The {source} vesting percent for year {year} must be a Decimal, not {type(percent).__name__}."
            )
        elif not Decimal(percent).is_finite() or not _ZERO <= percent <= _HUNDRED:
            problems.append(
                f"The {source} vesting percent for year {year} is {percent}%; it must be between 0% and 100%."
            )
    return problems


def _immediate_problems(source: str, schedule: dict[int, Decimal], citation: str) -> list[str]:
    at_zero = vested_percent(schedule, 0)
    if at_zero == _HUNDRED:
        return []
    return [
        f"{_label(source)} contributions must be 100% vested immediately ({citation}), but this schedule "
        f"is {_fmt(at_zero)}% at year 0."
    ]


def _minimum_vesting_problems(source: str, schedule: dict[int, Decimal]) -> list[str]:
    # IRC 411(a)(2)(B): the schedule must be at least as fast as ONE of the two minimums at EVERY
    # year. Beating the cliff early and the graded schedule late is a mix neither allows.
    horizon = max(max(schedule), len(_TWO_TO_SIX_GRADED) - 1)
    cliff_gap = _first_shortfall(schedule, _THREE_YEAR_CLIFF, horizon)
    graded_gap = _first_shortfall(schedule, _TWO_TO_SIX_GRADED, horizon)
    if cliff_gap is None or graded_gap is None:
        return []
    (cliff_year, cliff_has, cliff_needs) = cliff_gap
    (graded_year, graded_has, graded_needs) = graded_gap
    return [
        f"{_label(source)} vesting is slower than the law allows (IRC 411(a)(2)(B), 416(b)): it must keep up "
        f"with the 3-year cliff at every year or with the 2-to-6-year graded schedule at every year, but it "
        f"is {_fmt(cliff_has)}% at year {cliff_year} where the 3-year cliff requires {_fmt(cliff_needs)}%, "
        f"and {_fmt(graded_has)}% at year {graded_year} where the graded schedule requires {_fmt(graded_needs)}%."
    ]


def _first_shortfall(
    schedule: dict[int, Decimal], minimum: tuple[int, ...], horizon: int
) -> tuple[int, Decimal, Decimal] | None:
    for year in range(horizon + 1):
        required = Decimal(minimum[min(year, len(minimum) - 1)])
        has = vested_percent(schedule, year)
        if has < required:
            return year, has, required
    return None


def _label(source: str) -> str:
    return source.replace("_", " ").capitalize()


def _fmt(percent: Decimal) -> str:
    # "20" rather than "20.00" or "2E+1" in messages people read.
    return format(Decimal(percent).normalize(), "f")


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_percent_number(value: object) -> bool:
    return isinstance(value, Decimal) or _is_int(value)


def schedule_of(value) -> dict[int, Decimal] | None:
    """A plan's schedule setting (a name from NAMED_SCHEDULES, or {years: percent}) as {years: percent}; None when
    it is neither."""
    if isinstance(value, str):
        return named_schedule(value) if value in NAMED_SCHEDULES else None
    try:
        return {int(k): Decimal(str(v)) for k, v in value.items()}
    except (ValueError, ArithmeticError, AttributeError):
        return None


def plan_vested_percent(plan, source: str, years: int) -> Decimal:
    """How much of a source's money the participant owns under this plan. Employee money and safe-harbor money are
    always fully vested (IRC 411(a)(1), 401(k)(12)(E)); a QACA's safe-harbor money may vest on its 2-year schedule."""
    if source not in EMPLOYER_SOURCES:
        return _HUNDRED
    match_is_safe_harbor = plan.safe_harbor in ("basic_match", "enhanced_match")
    nonelective_is_safe_harbor = plan.safe_harbor == "nonelective"
    if (source == "employer_match" and match_is_safe_harbor) or (source == "nonelective" and nonelective_is_safe_harbor):
        return _HUNDRED
    schedule = schedule_of((plan.vesting or {}).get(source, "immediate"))
    return vested_percent(schedule or named_schedule("immediate"), years)


def years_of_service(hire_date: date, as_of: date) -> int:
    """Completed years since hire (elapsed time, 29 CFR 2530.200b / 26 CFR 1.410(a)-7)."""
    years = as_of.year - hire_date.year - ((as_of.month, as_of.day) < (hire_date.month, hire_date.day))
    return max(0, years)
