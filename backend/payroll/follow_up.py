"""What a posted pay run changes beyond the ledger: elections payroll applied are marked observed, anyone whose
next paycheck would pass the 402(g) limit gets a cap-and-stop (and a resume on January 1), hours are credited
toward eligibility, and a final paycheck's termination date reaches the census."""
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from backend.enrollment import service as enrollment
from backend.events import CensusChanged, publish
from backend.payroll.snapshot import RunSnapshot
from backend.plans import service as plans
from backend.plans.models import Employee
from backend.plans.schedules import eligibility_period_start, next_pay_date


def observed_elections(snapshot: RunSnapshot, statements: list, findings: dict) -> list[str]:
    """Elections payroll withheld as asked on a posted statement (no deferral mismatch): the change arrived."""
    observed = []
    for st in statements:
        election = snapshot.elections.get(st.employee_id)
        if st.status != "posted" or election is None or not election.lines or election.observed_at is not None:
            continue
        codes = {f.code for f in findings.get(snapshot.external_id(st.employee_id), [])}
        if "deferral_mismatch" not in codes:
            observed.append(election.id)
    return observed


def stop_at_the_402g_limit(session: Session, snapshot: RunSnapshot, pay_date: date, statements: list) -> None:
    """Anyone whose next paycheck this calendar year would pass 402(g) plus their catch-up gets a cap-and-stop
    (the last deduction capped at what is left), and their election resumes on January 1."""
    employer = snapshot.employer
    next_pay = next_pay_date(employer.pay_frequency, employer.anchor_pay_date, pay_date)
    if next_pay.year != pay_date.year:
        return
    for st in statements:
        election = snapshot.elections.get(st.employee_id)
        if st.status != "posted" or election is None:
            continue
        upcoming = sum(snapshot.election_asks(st.employee_id, st.plan_compensation_cents).values())
        room = snapshot.deferral_room_cents(st.employee_id, upcoming) if upcoming else 0
        if not upcoming or upcoming <= room:
            continue
        employee = session.get(Employee, st.employee_id)
        resume_on = date(pay_date.year + 1, 1, 1)
        # Once a calendar year: a later run (or a replay) finds the stop already sent.
        if enrollment.send_deferral_change(session, employee, action="stop", effective=next_pay, reason="402g_limit",
                                           subject_id=f"402g_limit:{employee.id}:{pay_date.year}", once=True,
                                           cap_cents=max(room, 0), resume_on=resume_on.isoformat()) is None:
            continue
        enrollment.send_deferral_change(session, employee, action="set", effective=resume_on, reason="402g_resume",
                                        subject_id=f"402g_resume:{employee.id}:{resume_on.year}",
                                        lines=election.lines, election=election, once=True)


def credit_hours_and_terminations(session: Session, snapshot: RunSnapshot, statements: list[dict],
                                  known: dict, today: date) -> None:
    """Hours count toward eligibility, so they are credited to people not yet in the plan (for those already in,
    nothing reads them), and a final paycheck's termination date updates the census (and stops deferrals)."""
    changes = []
    for st in statements:
        row = known[st["external_id"]]
        needs_hours = st.get("hours") is not None and snapshot.statuses.get(row.id) != "eligible"
        terminates = st.get("termination_date") and row.termination_date != st["termination_date"]
        if needs_hours or terminates:
            changes.append((st, row.id, needs_hours, terminates))
    # The people changed, loaded in a few queries (8 of the 14 s a run crediting 10,000 waiting people took went to
    # a query and a flush each); eligibility's handler then finds them in the session.
    employees = plans.employees_by_id(session, [employee_id for _, employee_id, _, _ in changes])
    changed = []
    for st, employee_id, needs_hours, terminates in changes:
        employee = employees[employee_id]
        if needs_hours:
            key = eligibility_period_start(employee.rehire_date or employee.hire_date, snapshot.pay_date).isoformat()
            hours = dict(employee.hours_by_period or {})
            hours[key] = int(hours.get(key, 0) + Decimal(str(st["hours"])))
            employee.hours_by_period = hours
        if terminates:
            employee.termination_date = st["termination_date"]
            # Once per last day: a rehire may end again.
            enrollment.send_deferral_change(session, employee, action="stop", effective=st["termination_date"],
                                            reason="termination", once=True,
                                            subject_id=f"termination:{employee.id}:{st['termination_date'].isoformat()}")
        changed.append(employee)
    if changed:
        publish(session, CensusChanged(snapshot.employer.id, tuple(e.id for e in changed), today))
