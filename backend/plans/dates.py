"""Plausible dates, in one home: what a census row, a plan and a pay run may say about when things happened. A date
far outside these bounds is a typo (0001-01-01, 9999-12-31), and year-10000 arithmetic on it would fail deep inside;
each check answers a message for the caller to list, or None. `today` is the app's clock (backend.clock)."""
from datetime import date

EARLIEST_BIRTH = date(1900, 1, 1)
# The youngest age for most non-farm work under the Fair Labor Standards Act (29 CFR 570.2(a)).
MIN_AGE_AT_HIRE = 14
# ERISA (Pub. L. 93-406) was enacted on 1974-09-02: no qualified plan under its rules starts before.
ERISA_ENACTED = date(1974, 9, 2)
# How far from today a pay date, a plan date or an employment date may plausibly be.
YEARS_FROM_TODAY = 2


def years_after(day: date, years: int) -> date:
    """The same day `years` later (February 29 becomes February 28), or date.max past year 9999."""
    year = day.year + years
    if year > date.max.year:
        return date.max
    if year < date.min.year:
        return date.min
    return day.replace(year=year, day=28) if (day.month, day.day) == (2, 29) else day.replace(year=year)


def birth_date_problem(born: date, today: date | None = None) -> str | None:
    if born <= EARLIEST_BIRTH:
        return f"must be after {EARLIEST_BIRTH.isoformat()}"
    if today is not None and born >= today:
        return "must be before today"
    return None


def hire_date_problem(born: date, hired: date, today: date | None = None) -> str | None:
    """Hired at 14 or older, and not more than two years ahead."""
    if hired < years_after(born, MIN_AGE_AT_HIRE):
        return f"is before the employee turned {MIN_AGE_AT_HIRE}"
    return employment_date_problem(hired, today)


def employment_date_problem(day: date, today: date | None) -> str | None:
    """A hire, rehire or termination date: at most two years from today."""
    if today is not None and day > years_after(today, YEARS_FROM_TODAY):
        return f"is more than {YEARS_FROM_TODAY} years from today"
    return None


def plan_date_problem(day: date, today: date | None = None) -> str | None:
    """A plan's effective date or its payroll's anchor pay date: from ERISA on, at most two years ahead."""
    if day < ERISA_ENACTED:
        return f"must be on or after {ERISA_ENACTED.isoformat()} (ERISA)"
    if today is not None and day > years_after(today, YEARS_FROM_TODAY):
        return f"is more than {YEARS_FROM_TODAY} years from today"
    return None


def pay_date_problem(day: date, today: date) -> str | None:
    """A pay run's dates: within two years of today, either way."""
    if not years_after(today, -YEARS_FROM_TODAY) <= day <= years_after(today, YEARS_FROM_TODAY):
        return f"must be within {YEARS_FROM_TODAY} years of today ({today.isoformat()})"
    return None
