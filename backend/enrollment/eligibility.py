"""Who may join the plan, and from which entry date (RULES.md section 6).

Standard basis: the plan's age and service conditions, capped by IRC 410(a)(1)(A) at age 21 and one
year of service. Long-term part-time basis: two consecutive 12-month periods of 500+ hours open
elective deferrals to employees the 1,000-hour rule keeps out (IRC 401(k)(2)(D)(ii), 401(k)(15),
SECURE 2.0 section 125). Whichever basis yields the earlier entry date wins.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from types import MappingProxyType

from backend.plans.schedules import add_months, anniversary, check_date

ENTRY_FREQUENCIES = ("immediate", "monthly", "quarterly", "semi_annual")
STATUSES = ("eligible", "waiting", "pending_hours", "terminated")
BASES = ("standard", "long_term_part_time")

MAX_MIN_AGE = 21  # IRC 410(a)(1)(A)(i)
# IRC 410(a)(1)(A)(ii); the 2-year option of 410(a)(1)(B)(i) is closed to 401(k) deferrals by 401(k)(2)(D).
MAX_SERVICE_MONTHS = 12
YEAR_OF_SERVICE_HOURS = 1000  # IRC 410(a)(3)(A)
LTPT_HOURS = 500  # IRC 401(k)(2)(D)(ii)
LTPT_CONSECUTIVE_PERIODS = 2  # SECURE 2.0 section 125 cut the SECURE Act's 3 periods to 2
# SECURE Act section 112: 12-month periods beginning before 2021 are not counted toward LTPT.
LTPT_FIRST_COUNTED_PERIOD_START = date(2021, 1, 1)
# SECURE 2.0 section 125: the two-period rule applies to plan years beginning after 2024. The
# SECURE Act's three-period rule for 2024 plan years is deliberately not modelled (RULES.md s.6 only
# describes the 2025+ rule); its three-period entrants would also qualify under two periods in 2025.
LTPT_FIRST_PLAN_YEAR_ON_OR_AFTER = date(2025, 1, 1)

_NO_HOURS: Mapping[date, int] = MappingProxyType({})
_ENTRY_STEP_MONTHS = {"quarterly": 3, "semi_annual": 6}


@dataclass(frozen=True)
class EligibilityRules:
    min_age: int
    service_months: int
    entry_frequency: str
    plan_year_start: tuple[int, int]
    plan_effective_date: date
    long_term_part_time: bool = True

    def __post_init__(self) -> None:
        if not _is_int(self.min_age) or not 0 <= self.min_age <= MAX_MIN_AGE:
            raise ValueError(
                f"min_age must be an int from 0 to {MAX_MIN_AGE} (IRC 410(a)(1)(A)(i)), got {self.min_age!r}"
            )
        if not _is_int(self.service_months) or not 0 <= self.service_months <= MAX_SERVICE_MONTHS:
            raise ValueError(
                f"service_months must be an int from 0 to {MAX_SERVICE_MONTHS} (IRC 410(a)(1)(A)(ii)), "
                f"got {self.service_months!r}"
            )
        if self.entry_frequency not in ENTRY_FREQUENCIES:
            raise ValueError(
                f"entry_frequency must be one of {', '.join(ENTRY_FREQUENCIES)}, got {self.entry_frequency!r}"
            )
        month_day = self.plan_year_start
        if (
            not isinstance(month_day, tuple)
            or len(month_day) != 2
            or not all(_is_int(part) for part in month_day)
            or not _is_valid_every_year(*month_day)
        ):
            # February 29 is refused: a plan year must begin on the same date every year.
            raise ValueError(f"plan_year_start must be a (month, day) valid in every year, got {month_day!r}")
        check_date("plan_effective_date", self.plan_effective_date)
        if not isinstance(self.long_term_part_time, bool):
            raise TypeError("long_term_part_time must be a bool")


@dataclass(frozen=True)
class EligibilityResult:
    status: str
    conditions_met_date: date | None
    entry_date: date | None
    basis: str | None
    explanation: str


def entry_date_on_or_after(rules: EligibilityRules, conditions_met: date) -> date:
    """The plan entry date for someone who satisfies every condition on `conditions_met`."""
    check_date("conditions_met", conditions_met)
    if conditions_met <= rules.plan_effective_date:
        # Employees who already qualify when the plan starts enter on its effective date; 410(a)(4)
        # can't be measured against a plan year that didn't exist yet.
        return rules.plan_effective_date
    entry = _next_entry_date(rules, conditions_met)
    # IRC 410(a)(4): entry no later than the earlier of the first day of the next plan year or six
    # months after the conditions are met. All four frequencies satisfy it by construction; this
    # check keeps it that way if a frequency is ever added.
    latest = min(plan_year_start_after(rules, conditions_met), add_months(conditions_met, 6))
    if entry > latest:
        raise AssertionError(
            f"{rules.entry_frequency} entry {entry} for conditions met {conditions_met} breaks IRC 410(a)(4) "
            f"(latest allowed {latest})"
        )
    return entry


def compute_eligibility(
    rules: EligibilityRules,
    *,
    date_of_birth: date,
    hire_date: date,
    as_of: date,
    hours_by_period: Mapping[date, int] = _NO_HOURS,
    rehire_date: date | None = None,
    termination_date: date | None = None,
    previously_met_date: date | None = None,
) -> EligibilityResult:
    """Eligibility as of `as_of`.

    `hours_by_period` maps the start of each 12-month computation period (the service start date and
    each anniversary of it) to the hours credited in that period so far. It matters only when
    rules.service_months is 12.
    """
    if not isinstance(rules, EligibilityRules):
        raise TypeError("rules must be an EligibilityRules")
    for name, value in (("date_of_birth", date_of_birth), ("hire_date", hire_date), ("as_of", as_of)):
        check_date(name, value)
    for name, value in (
        ("rehire_date", rehire_date),
        ("termination_date", termination_date),
        ("previously_met_date", previously_met_date),
    ):
        if value is not None:
            check_date(name, value)
    if rehire_date is not None and rehire_date < hire_date:
        raise ValueError(f"rehire_date {rehire_date} is before hire_date {hire_date}")
    if termination_date is not None and termination_date < hire_date:
        raise ValueError(f"termination_date {termination_date} is before hire_date {hire_date}")

    if previously_met_date is not None:
        outcome = _returning_participant(rules, previously_met_date, rehire_date, as_of)
    else:
        # Simplified, rule-of-parity-free reading: without previously met conditions, a rehire's
        # service is counted afresh from the rehire date and pre-rehire hours are ignored. This never
        # credits service the break-in-service rules (IRC 410(a)(5)) might let the plan disregard,
        # but it can credit less than they would require for someone with a short break.
        service_start = rehire_date if rehire_date is not None else hire_date
        outcome = _new_participant(
            rules,
            date_of_birth=date_of_birth,
            hire_date=hire_date,
            service_start=service_start,
            rehired=rehire_date is not None,
            as_of=as_of,
            hours_by_period=hours_by_period,
        )

    if terminated_on(termination_date, rehire_date, as_of):
        return EligibilityResult(
            status="terminated",
            conditions_met_date=outcome.conditions_met_date,
            entry_date=outcome.entry_date,
            basis=outcome.basis,
            explanation=_terminated_explanation(termination_date, outcome.entry_date),
        )
    return outcome


# --- bases -------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Event:
    """One condition being satisfied, phrased for a participant."""

    on: date
    future: str
    past: str
    detail: str = ""


@dataclass(frozen=True)
class _Candidate:
    basis: str
    conditions_met: date
    entry_from: date  # the date entry is measured from; later than conditions_met only for the LTPT start
    entry: date
    events: tuple[_Event, ...]


def _new_participant(
    rules: EligibilityRules,
    *,
    date_of_birth: date,
    hire_date: date,
    service_start: date,
    rehired: bool,
    as_of: date,
    hours_by_period: Mapping[date, int],
) -> EligibilityResult:
    age_event = _age_event(rules.min_age, date_of_birth)
    hours = _hours_by_period_index(hours_by_period, hire_date, service_start) if rules.service_months == 12 else {}
    current = _current_period_index(service_start, as_of)

    candidates: list[_Candidate] = []
    service_event = _service_event(rules.service_months, service_start, rehired, hours, current)
    if service_event is not None:
        events = (service_event,) if age_event is None else (age_event, service_event)
        met = max(event.on for event in events)
        candidates.append(_Candidate("standard", met, met, entry_date_on_or_after(rules, met), events))
    if rules.long_term_part_time and rules.service_months == 12:
        ltpt_event = _ltpt_event(rules, date_of_birth, service_start, hours, current)
        if ltpt_event is not None:
            met = ltpt_event.on
            # Entry can't precede the first plan year the LTPT rule governs (SECURE 2.0 section 125).
            entry_from = max(met, _plan_year_start_on_or_after(rules, LTPT_FIRST_PLAN_YEAR_ON_OR_AFTER))
            entry = entry_date_on_or_after(rules, entry_from)
            candidates.append(_Candidate("long_term_part_time", met, entry_from, entry, (ltpt_event,)))

    if not candidates:
        return EligibilityResult(
            status="pending_hours",
            conditions_met_date=None,
            entry_date=None,
            basis=None,
            explanation=_pending_explanation(rules, age_event, service_start, hours, current, as_of),
        )
    # Ties go to the standard basis: standard entrants are owed employer contributions, LTPT
    # entrants are not (IRC 401(k)(15); Prop. Treas. Reg. 1.401(k)-5), so the label must not
    # understate their rights.
    best = min(candidates, key=lambda candidate: (candidate.entry, BASES.index(candidate.basis)))
    return EligibilityResult(
        status="eligible" if best.entry <= as_of else "waiting",
        conditions_met_date=best.conditions_met,
        entry_date=best.entry,
        basis=best.basis,
        explanation=_entry_explanation(rules, best, as_of),
    )


def _returning_participant(
    rules: EligibilityRules, previously_met: date, rehire_date: date | None, as_of: date
) -> EligibilityResult:
    # Treas. Reg. 1.410(a)-4(b)(1): someone who met the conditions before leaving participates
    # immediately on return, or on the entry date they would have had, whichever is later.
    original_entry = entry_date_on_or_after(rules, previously_met)
    entry = original_entry if rehire_date is None else max(rehire_date, original_entry)
    lead = _lead(entry, as_of)
    met_clause = f"you met the plan's conditions on {previously_met}"
    if rehire_date is None:
        explanation = f"{lead} {entry}, because {met_clause}."
    elif entry == rehire_date:
        were = "are" if rehire_date > as_of else "were"
        explanation = f"{lead} {entry}, the day you {were} rehired, because {met_clause} before you left."
    else:
        explanation = f"{lead} {entry}, your original entry date, because {met_clause} before you left."
    return EligibilityResult(
        status="eligible" if entry <= as_of else "waiting",
        conditions_met_date=previously_met,
        entry_date=entry,
        basis="standard",
        explanation=explanation,
    )


def _age_event(min_age: int, date_of_birth: date) -> _Event | None:
    if min_age == 0:
        return None
    birthday = anniversary(date_of_birth, min_age)
    detail = ""
    if (date_of_birth.month, date_of_birth.day) == (2, 29) and birthday.month == 3:
        # Plumb's reading for leap-day birthdays: in a non-leap year the birthday is March 1, the
        # first day on which a full number of years has passed.
        detail = " (your birthday is February 29, so in a non-leap year it counts as March 1)"
    return _Event(birthday, f"turn {min_age}", f"turned {min_age}", detail)


def _service_event(
    service_months: int, service_start: date, rehired: bool, hours: Mapping[int, int], current: int
) -> _Event | None:
    hired = "rehired" if rehired else "hired"
    if service_months == 0:
        return _Event(service_start, f"are {hired}", f"were {hired}")
    if service_months < 12:
        # Treas. Reg. 1.410(a)-7: elapsed time, so no hours count. A start on the 31st completes
        # its months on the last day of a shorter month (Jan 31 + 3 months = Apr 30).
        months = "month" if service_months == 1 else "months"
        completed = add_months(service_start, service_months)
        return _Event(
            completed,
            f"complete {service_months} {months} of service",
            f"completed {service_months} {months} of service",
        )
    # IRC 410(a)(3)(A): a year of service is a 12-month computation period (from the service start
    # and then each anniversary, 29 CFR 2530.202-2(a)) with at least 1,000 hours. It is credited when
    # the period ends, so 1,000 hours reached mid-period give a known future date, not eligibility now.
    for index in range(current + 1):
        credited = hours.get(index, 0)
        if credited >= YEAR_OF_SERVICE_HOURS:
            start, end = _period_bounds(service_start, index)
            return _Event(
                end + timedelta(days=1),
                "complete a year of service",
                "completed a year of service",
                f" ({credited:,} hours in the 12 months from {start} to {end})",
            )
    return None


def _ltpt_event(
    rules: EligibilityRules, date_of_birth: date, service_start: date, hours: Mapping[int, int], current: int
) -> _Event | None:
    # The plan's own age condition applies (IRC 410(a)(1)(A)(i) caps it at 21, the figure RULES.md
    # gives), and it must be reached by the close of the last period of the run (IRC 401(k)(15);
    # Prop. Treas. Reg. 1.401(k)-5): someone who turns 21 later qualifies through a later run instead.
    age_date = anniversary(date_of_birth, rules.min_age)
    for first in range(current - LTPT_CONSECUTIVE_PERIODS + 2):
        run = range(first, first + LTPT_CONSECUTIVE_PERIODS)
        if anniversary(service_start, first) < LTPT_FIRST_COUNTED_PERIOD_START:
            continue
        if all(hours.get(index, 0) >= LTPT_HOURS for index in run):
            _, close = _period_bounds(service_start, run[-1])
            if age_date <= close:
                starts = " and ".join(str(anniversary(service_start, index)) for index in run)
                return _Event(
                    close + timedelta(days=1),
                    f"complete two consecutive 12-month periods with at least {LTPT_HOURS} hours each",
                    f"completed two consecutive 12-month periods with at least {LTPT_HOURS} hours each",
                    f" (the periods starting {starts})",
                )
    return None


# --- explanations ------------------------------------------------------------------------------


def _lead(entry: date, as_of: date) -> str:
    return "You have been eligible to join since" if entry <= as_of else "You can join on"


def _entry_explanation(rules: EligibilityRules, candidate: _Candidate, as_of: date) -> str:
    binding = [event for event in candidate.events if event.on == candidate.conditions_met]
    verbs = " and ".join(event.past if event.on <= as_of else event.future for event in binding)
    details = "".join(event.detail for event in binding)
    met = candidate.conditions_met
    under = " under the long-term part-time rules" if candidate.basis == "long_term_part_time" else ""
    lead = f"{_lead(candidate.entry, as_of)} {candidate.entry}{under}"

    if candidate.entry_from <= rules.plan_effective_date:
        takes = "takes" if rules.plan_effective_date > as_of else "took"
        return f"{lead}, the day the plan {takes} effect; you {verbs} on {met}{details}."
    if candidate.entry_from > met:
        starts = "starts" if candidate.entry_from > as_of else "started"
        return (
            f"{lead}, the first entry date in your plan's first plan year covered by those rules, which "
            f"{starts} on {candidate.entry_from}; you {verbs} on {met}{details}."
        )
    if candidate.entry == met:
        return f"{lead}, the day you {verbs}{details}."
    return f"{lead}, the first entry date after you {verbs} on {met}{details}."


def _pending_explanation(
    rules: EligibilityRules,
    age_event: _Event | None,
    service_start: date,
    hours: Mapping[int, int],
    current: int,
    as_of: date,
) -> str:
    start, end = _period_bounds(service_start, current)
    age_part = ""
    if age_event is not None and age_event.on > as_of:
        age_part = f"turn {rules.min_age} (on {age_event.on}{age_event.detail}) and "
    ltpt = rules.long_term_part_time and rules.service_months == 12
    alternative = f" (or at least {LTPT_HOURS} in each of two consecutive periods)" if ltpt else ""
    return (
        f"You can join once you {age_part}work {YEAR_OF_SERVICE_HOURS:,} hours in one of your 12-month service "
        f"periods{alternative}; so far you have {hours.get(current, 0):,} hours in the current period, "
        f"from {start} to {end}."
    )


def _terminated_explanation(termination_date: date, entry: date | None) -> str:
    if entry is None:
        return f"Your employment ended on {termination_date}, before you met the plan's service requirement."
    if entry <= termination_date:
        return f"Your employment ended on {termination_date}; you had been eligible to join since {entry}."
    return f"Your employment ended on {termination_date}, before your entry date of {entry}."


# --- dates -------------------------------------------------------------------------------------


def terminated_on(termination_date: date | None, rehire_date: date | None, day: date) -> bool:
    """Whether employment has ended by `day`: the one "still employed" rule that eligibility, automatic
    enrollment, escalation and the status shown to sponsors share."""
    if termination_date is None or termination_date > day:
        return False
    # A termination followed by a rehire that has already happened is history, not current status.
    return not (rehire_date is not None and termination_date < rehire_date <= day)


def _next_entry_date(rules: EligibilityRules, on_or_after: date) -> date:
    frequency = rules.entry_frequency
    if frequency == "immediate":
        return on_or_after
    plan_year = _plan_year_start_on_or_before(rules, on_or_after)
    if frequency == "monthly":
        first_of_month = on_or_after if on_or_after.day == 1 else add_months(on_or_after.replace(day=1), 1)
        # A plan year beginning mid-month is an entry date too; otherwise someone qualifying just
        # before it would enter after the next plan year began, breaking IRC 410(a)(4).
        return min(first_of_month, _plan_year_start_on_or_after(rules, on_or_after))
    step = _ENTRY_STEP_MONTHS[frequency]
    for months in range(0, 12 + 1, step):
        candidate = add_months(plan_year, months)
        if candidate >= on_or_after:
            return candidate
    raise AssertionError("unreachable: the next plan year start is always an entry date")


def _plan_year_start_on_or_before(rules: EligibilityRules, day: date) -> date:
    month, month_day = rules.plan_year_start
    start = date(day.year, month, month_day)
    return start if start <= day else date(day.year - 1, month, month_day)


def _plan_year_start_on_or_after(rules: EligibilityRules, day: date) -> date:
    month, month_day = rules.plan_year_start
    start = date(day.year, month, month_day)
    return start if start >= day else date(day.year + 1, month, month_day)


def plan_year_start_after(rules: EligibilityRules, day: date) -> date:
    return _plan_year_start_on_or_after(rules, day + timedelta(days=1))


def _hours_by_period_index(
    hours_by_period: Mapping[date, int], hire_date: date, service_start: date
) -> dict[int, int]:
    by_index: dict[int, int] = {}
    for start, credited in hours_by_period.items():
        check_date("hours_by_period key", start)
        if not _is_int(credited) or credited < 0:
            raise ValueError(f"hours for the period starting {start} must be a non-negative int, got {credited!r}")
        if start < hire_date:
            raise ValueError(f"hours_by_period key {start} is before the hire date {hire_date}")
        if start < service_start:
            continue  # an earlier employment; see the rehire comment in compute_eligibility
        index = start.year - service_start.year
        # For a February 29 start, February 28 is accepted as that year's period start too: it is
        # what month-clamped arithmetic (schedules.add_months) produces, and no other period could
        # be meant by it.
        leap_day_alias = (service_start.month, service_start.day, start.month, start.day) == (2, 29, 2, 28)
        if anniversary(service_start, index) != start and not leap_day_alias:
            # Silently ignoring misaligned hours (say, calendar-year totals) would leave the employee
            # pending forever, so refuse them.
            raise ValueError(
                f"hours_by_period key {start} is not the start of a computation period; periods start on "
                f"{service_start} and each anniversary of it"
            )
        by_index[index] = credited
    return by_index


def _current_period_index(service_start: date, as_of: date) -> int:
    if as_of <= service_start:
        return 0
    index = as_of.year - service_start.year
    if anniversary(service_start, index) > as_of:
        index -= 1
    return index


def _period_bounds(service_start: date, index: int) -> tuple[date, date]:
    return anniversary(service_start, index), anniversary(service_start, index + 1) - timedelta(days=1)


def _is_valid_every_year(month: int, day: int) -> bool:
    # 2001 is not a leap year, so February 29 fails here as intended.
    try:
        date(2001, month, day)
    except ValueError:
        return False
    return True


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
