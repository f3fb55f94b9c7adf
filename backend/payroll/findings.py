"""What a pay statement is checked for as it arrives, each rule a function over the run's snapshot and the
statement: no session, no network, so each is tested directly with worked examples.

A `hold` keeps the statement's money in trust cash until the sponsor decides; a `warning` posts it and asks the
sponsor to look."""
from dataclasses import dataclass, field

from backend.enrollment.eligibility import terminated_on
from backend.enrollment.models import MONEY_TYPES as DEFERRAL_TYPES
from backend.money import format_dollars
from backend.payroll.snapshot import RunSnapshot, deferred_cents

# A percent election withheld within a cent of the exact figure per line is payroll's rounding, not a mismatch.
MISMATCH_TOLERANCE_CENTS = 1


@dataclass
class Finding:
    code: str
    severity: str  # hold | warning
    message: str
    details: dict = field(default_factory=dict)


def new_hire_added(employee) -> Finding:
    name = f"{employee.first_name} {employee.last_name}"
    return Finding("new_hire_added", "warning", f"{name} was not on the census "
                   "and has been added from this pay run; check their details.", {"employee_name": name})


def not_eligible(snapshot: RunSnapshot, employee_id: str, deferred: int) -> Finding | None:
    """Deferrals withheld before the employee's entry date (IRC 410(a); the plan's eligibility rules)."""
    entry = snapshot.entry_dates.get(employee_id)
    if entry is not None and entry <= snapshot.pay_date:
        return None
    return Finding("not_eligible", "hold", f"Deferrals of {format_dollars(deferred)} were withheld before the employee's "
                   f"entry date ({entry or 'not yet known'}).",
                   {"entry_date": entry.isoformat() if entry else None, "deferred_cents": deferred})


def opted_out(snapshot: RunSnapshot, employee_id: str, deferred: int) -> Finding | None:
    """Deferrals withheld although the participant opted out of automatic enrollment (IRC 414(w))."""
    election = snapshot.elections.get(employee_id)
    if election is None or election.kind != "opt_out":
        return None
    return Finding("opted_out", "hold", f"Deferrals of {format_dollars(deferred)} were withheld although the employee "
                   f"opted out from {election.effective_date}.",
                   {"deferred_cents": deferred, "opted_out_on": election.effective_date.isoformat()})


def over_402g(snapshot: RunSnapshot, employee_id: str, deferred: int) -> Finding | None:
    """This paycheck would take the year's deferrals past 402(g) plus the catch-up the person's age allows."""
    room = snapshot.deferral_room_cents(employee_id, deferred)
    if deferred <= room:
        return None
    return Finding("over_402g", "hold", f"This paycheck's deferrals ({format_dollars(deferred)}) pass the "
                   f"{snapshot.pay_date.year} limit of 402(g) plus catch-up by {format_dollars(deferred - max(room, 0))}.",
                   {"room_cents": max(room, 0), "deferred_cents": deferred, "year": snapshot.pay_date.year})


def deferral_mismatches(snapshot: RunSnapshot, employee_id: str, compensation_cents: int,
                        withholdings: dict[str, int]) -> list[Finding]:
    """Each money type withheld differently from the election in effect. Under-withholding is a missed deferral
    opportunity the employer may have to make up (IRS 401(k) Fix-It Guide, mistake 7)."""
    election = snapshot.elections.get(employee_id)
    expected = snapshot.election_asks(employee_id, compensation_cents)
    found = []
    for money_type in DEFERRAL_TYPES:
        want, got = expected.get(money_type, 0), withholdings.get(money_type, 0)
        if abs(want - got) <= MISMATCH_TOLERANCE_CENTS:
            continue
        consequence = ("" if got > want else " A missed deferral opportunity: the employer may owe a corrective "
                                             "contribution (IRS 401(k) Fix-It Guide, mistake 7).")
        found.append(Finding("deferral_mismatch", "warning",
                             f"{money_type} withheld {format_dollars(got)}, the election in effect asks for {format_dollars(want)} "
                             f"({'over' if got > want else 'under'}-withheld by {format_dollars(abs(got - want))})."
                             f"{consequence}",
                             {"money_type": money_type, "expected_cents": want, "withheld_cents": got,
                              "election_id": election.id if election else None}))
    return found


def paid_after_termination(snapshot: RunSnapshot, employee, statement: dict) -> Finding | None:
    """Paid after the last day (the one "still employed" rule: a rehire since is employed again), unless this
    is the final paycheck that carries the termination date."""
    if not terminated_on(employee.termination_date, employee.rehire_date, snapshot.pay_date) \
            or snapshot.pay_date == employee.termination_date or statement.get("termination_date") is not None:
        return None
    return Finding("paid_after_termination", "warning", f"Paid on {snapshot.pay_date} after termination on "
                   f"{employee.termination_date}.", {"termination_date": employee.termination_date.isoformat(),
                                                        "pay_date": snapshot.pay_date.isoformat()})


def missing_hours(statement: dict) -> Finding | None:
    if statement.get("hours") is not None:
        return None
    return Finding("missing_hours", "warning", "No hours were sent; eligibility and long-term part-time status count "
                   "hours.")


def statement_findings(snapshot: RunSnapshot, employee, statement: dict, withholdings: dict[str, int], *,
                       new_hire: bool) -> list[Finding]:
    """Every finding for one statement, in the order the sponsor reads them."""
    found: list[Finding] = [new_hire_added(employee)] if new_hire else []
    found += withholding_findings(snapshot, employee.id, statement["plan_compensation_cents"], withholdings)
    found += [f for f in (paid_after_termination(snapshot, employee, statement), missing_hours(statement)) if f]
    return found


def withholding_findings(snapshot: RunSnapshot, employee_id: str, compensation_cents: int,
                         withholdings: dict[str, int]) -> list[Finding]:
    """The findings on what was withheld (eligibility, opt-out, 402(g), the election in effect): a statement's as it
    arrives, and a sponsor's correction of one, which must pass the same rules."""
    found: list[Finding] = []
    deferred = deferred_cents(withholdings)
    if deferred:
        found += [f for f in (not_eligible(snapshot, employee_id, deferred) or opted_out(snapshot, employee_id, deferred),
                              over_402g(snapshot, employee_id, deferred)) if f]
    if not any(f.code in ("not_eligible", "opted_out") for f in found):
        # Deferring at all is the problem there; comparing amounts with an election would say it twice.
        found += deferral_mismatches(snapshot, employee_id, compensation_cents, withholdings)
    return found
