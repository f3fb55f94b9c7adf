"""Payroll schedules: the dates an employer runs payroll on.

Deferrals are withheld per paycheck (a deferral election may only cover pay not yet currently
available, Treas. Reg. 1.401(k)-1(a)(3)(iii)), so enrollment, deferral changes and match true-ups
all need one shared answer to "which pay dates fall in this window?" and "when is the next
payroll?".
"""

from __future__ import annotations

import calendar
from datetime import date, datetime, timedelta

PAY_FREQUENCIES = ("weekly", "biweekly", "semi_monthly", "monthly")

# Nominal counts: a calendar year that happens to hold 53 weekly (or 27 biweekly) pay dates is
# still annualized with 52 (26), which is how payroll providers spread annual limits per check.
_PERIODS_PER_YEAR = {"weekly": 52, "biweekly": 26, "semi_monthly": 24, "monthly": 12}
_STEP_DAYS = {"weekly": 7, "biweekly": 14}

# Semi-monthly payrolls whose second date lands this late are end-of-month payrolls: they stay on
# the month's last day so February (28/29) and 30-day months don't drift to the 13th-15th pattern.
_SEMI_MONTHLY_END_OF_MONTH_FROM = 28


def periods_per_year(frequency: str) -> int:
    _check_frequency(frequency)
    return _PERIODS_PER_YEAR[frequency]


def pay_dates_between(frequency: str, anchor: date, start: date, end: date) -> list[date]:
    """Pay dates d with start <= d <= end, ascending; `anchor` is any one pay date of the schedule."""
    _check_frequency(frequency)
    for name, value in (("anchor", anchor), ("start", start), ("end", end)):
        check_date(name, value)
    if start > end:
        return []
    if frequency in _STEP_DAYS:
        step = _STEP_DAYS[frequency]
        # Ordinals rather than date arithmetic so windows near date.max can't overflow.
        offset = start.toordinal() - anchor.toordinal()
        first = anchor.toordinal() + -(-offset // step) * step
        return [date.fromordinal(o) for o in range(first, end.toordinal() + 1, step)]
    dates: list[date] = []
    year, month = start.year, start.month
    while True:
        dates.extend(d for d in _dates_in_month(frequency, anchor, year, month) if start <= d <= end)
        if (year, month) == (end.year, end.month):
            return dates
        year, month = _next_month(year, month)


def next_pay_date(frequency: str, anchor: date, after: date) -> date:
    """The first pay date strictly after `after`."""
    _check_frequency(frequency)
    check_date("anchor", anchor)
    check_date("after", after)
    if frequency in _STEP_DAYS:
        step = _STEP_DAYS[frequency]
        offset = after.toordinal() - anchor.toordinal()
        ordinal = anchor.toordinal() + (offset // step + 1) * step
        if ordinal > date.max.toordinal():
            raise ValueError(f"no {frequency} pay date after {after.isoformat()} before date.max")
        return date.fromordinal(ordinal)
    year, month = after.year, after.month
    # Every month holds at least one pay date, so the answer is in this month or the next.
    for _ in range(2):
        for d in _dates_in_month(frequency, anchor, year, month):
            if d > after:
                return d
        year, month = _next_month(year, month)
    raise AssertionError("unreachable: each month has a pay date")


def _dates_in_month(frequency: str, anchor: date, year: int, month: int) -> tuple[date, ...]:
    last = calendar.monthrange(year, month)[1]
    if frequency == "monthly":
        # Anchor 31 pays on Feb 28/29 and Apr 30 rather than skipping short months.
        return (date(year, month, min(anchor.day, last)),)
    first_day = anchor.day if anchor.day <= 15 else anchor.day - 15
    second_day = first_day + 15
    if second_day >= _SEMI_MONTHLY_END_OF_MONTH_FROM:
        second_day = last
    return (date(year, month, first_day), date(year, month, second_day))


def _next_month(year: int, month: int) -> tuple[int, int]:
    if month == 12:
        if year >= date.max.year:
            raise ValueError("pay schedule runs past date.max")
        return year + 1, 1
    return year, month + 1


def _check_frequency(frequency: str) -> None:
    if frequency not in PAY_FREQUENCIES:
        raise ValueError(f"unknown pay frequency {frequency!r}; expected one of {', '.join(PAY_FREQUENCIES)}")


def check_date(name: str, value: object) -> None:
    """A plain date, or a TypeError naming the argument."""
    # datetime subclasses date but can't be compared with one, so it would fail later and obscurely.
    if not isinstance(value, date) or isinstance(value, datetime):
        raise TypeError(f"{name} must be a datetime.date, got {type(value).__name__}")


def add_months(start: date, months: int) -> date:
    """The same day `months` later (or earlier), clamped to the month's last day (Jan 31 + 1 month = Feb 28/29)."""
    index = start.year * 12 + start.month - 1 + months
    year, month = divmod(index, 12)
    return date(year, month + 1, min(start.day, calendar.monthrange(year, month + 1)[1]))


def eligibility_period_start(hire_or_rehire: date, on: date) -> date:
    """The first day of the 12-month eligibility computation period that contains `on`.

    The first period begins on the day employment (or re-employment) begins and each later one on its
    anniversary (IRC 410(a)(3)(A); 29 CFR 2530.202-2(a), (b)(1)). Hours are credited to the period holding the
    day they are paid for, and the period's start is the key they are stored under. A day before the hire date
    belongs to no period; it gets the first one, so hours a census reports early are kept, not dropped.
    """
    check_date("hire_or_rehire", hire_or_rehire)
    check_date("on", on)
    if on <= hire_or_rehire:
        return hire_or_rehire
    start = anniversary(hire_or_rehire, on.year - hire_or_rehire.year)
    if start > on:
        start = anniversary(hire_or_rehire, on.year - hire_or_rehire.year - 1)
    return start


def anniversary(start: date, years: int) -> date:
    """`start` moved `years` years on, counted from `start` itself so a February 29 never drifts to the 28th."""
    try:
        return start.replace(year=start.year + years)
    except ValueError:
        # February 29 in a common year: a 12-month period from February 29 ends on February 28, so the next
        # begins on March 1 (the same reading serves leap-day birthdays in the eligibility rules).
        return date(start.year + years, 3, 1)


def plan_year_bounds(plan, today: date) -> tuple[date, date]:
    """The first and last day of the plan year holding `today` (the plan year start is never February 29)."""
    start = date(today.year, plan.plan_year_start_month, plan.plan_year_start_day)
    if start > today:
        start = start.replace(year=today.year - 1)
    return start, start.replace(year=start.year + 1) - timedelta(days=1)
