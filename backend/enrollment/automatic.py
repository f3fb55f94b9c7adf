"""What the platform starts by itself: automatic enrollment at the entry date and automatic escalation each plan
year (IRC 414A, 414(w); RULES.md §6). (The stops a pay run calls for, termination and the 402(g) limit, are in
backend/payroll/follow_up.py.)

Each function is idempotent: run it as often as you like (`plumb daily`, or the worker's hourly pass) and a change
is made once."""
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit import Actor, record_audit
from backend.enrollment import eligibility
from backend.enrollment.approvals import approve_election
from backend.enrollment.determinations import eligibility_rules
from backend.enrollment.elections import approved_elections, next_version
from backend.enrollment.models import DeferralElection, ElectionLine, EligibilityDetermination
from backend.errors import Conflict, NotFound
from backend.plans.models import Employee, Employer, Plan
from backend.plans.schedules import next_pay_date

AUTO = Actor.system("automatic")
# Participants hear about an escalation this long before it takes effect, and may skip it until then.
ESCALATION_NOTICE_DAYS = 30
# A scheduled escalation goes to payroll this long before it takes effect; until then it may be skipped.
ESCALATION_RELEASE_DAYS = 7


def _platform_election(session: Session, employee: Employee, plan: Plan, kind: str, percent: Decimal,
                       effective: date, status: str = "approved") -> DeferralElection:
    election = DeferralElection(employee_id=employee.id, plan_id=plan.id,
                                version=next_version(session, DeferralElection, employee.id), kind=kind,
                                status=status, effective_date=effective, submitted_by=None)
    election.lines = [ElectionLine(position=0, money_type="pretax", percent=percent)]
    session.add(election)
    session.flush()
    record_audit(session, AUTO, f"election.{kind}", "election", election.id, employer_id=employee.employer_id,
                 changes={"percent": str(percent), "effective_date": effective.isoformat(), "status": status})
    return election


def enroll_automatically(session: Session, plan: Plan, today: date) -> list[DeferralElection]:
    """Employees within the notice period of their entry date who have made no election of any kind get the
    plan's default election, effective on the first pay date on or after their entry date and the notice."""
    if not plan.auto_enroll or plan.auto_enroll_percent is None:
        return []
    employer = session.get(Employer, plan.employer_id)
    has_election = select(DeferralElection.id).where(DeferralElection.employee_id == Employee.id).exists()
    rows = session.execute(
        select(Employee, EligibilityDetermination.entry_date)
        .join(EligibilityDetermination, EligibilityDetermination.employee_id == Employee.id)
        .where(Employee.employer_id == plan.employer_id, EligibilityDetermination.status.in_(("eligible", "waiting")),
               EligibilityDetermination.entry_date.is_not(None),
               EligibilityDetermination.entry_date <= today + timedelta(days=plan.auto_enroll_notice_days), ~has_election)
    ).all()
    created = []
    for employee, entry in rows:
        if eligibility.terminated_on(employee.termination_date, employee.rehire_date, today):
            continue  # the stored status predates the last day: time has moved on
        start = max(entry, today + timedelta(days=plan.auto_enroll_notice_days))
        effective = next_pay_date(employer.pay_frequency, employer.anchor_pay_date, start - timedelta(days=1))
        election = _platform_election(session, employee, plan, "auto_enroll", plan.auto_enroll_percent, effective)
        approve_election(session, AUTO, election, employer, today)
        created.append(election)
    return created


def schedule_escalations(session: Session, plan: Plan, today: date) -> list[DeferralElection]:
    """Within the notice period before a plan year begins, announce the next step for everyone whose current
    automatic rate is below the cap: a scheduled escalation the participant may skip."""
    step, cap = plan.auto_escalate_step_percent, plan.auto_escalate_cap_percent
    if not plan.auto_enroll or not step or cap is None:
        return []
    year_start = eligibility.plan_year_start_after(eligibility_rules(plan), today)
    if (year_start - today).days > ESCALATION_NOTICE_DAYS:
        return []
    employer = session.get(Employer, plan.employer_id)
    effective = next_pay_date(employer.pay_frequency, employer.anchor_pay_date, year_start - timedelta(days=1))
    # The plan's approved elections and the escalations already announced for that date, read once for everyone.
    elections = approved_elections(session, plan.id)
    announced = set(session.scalars(select(DeferralElection.employee_id).where(
        DeferralElection.plan_id == plan.id, DeferralElection.kind == "escalation",
        DeferralElection.effective_date == effective)))
    created = []
    for employee in session.scalars(select(Employee).where(Employee.employer_id == plan.employer_id)):
        if eligibility.terminated_on(employee.termination_date, employee.rehire_date, today) or \
                employee.id in announced:
            continue  # a rehired employee escalates like anyone employed
        current = _in_effect_or_scheduled(elections.get(employee.id, ()), today)
        if current is None or current.kind not in ("auto_enroll", "escalation") or current.effective_date >= year_start:
            continue  # only automatic rates escalate; a participant's own choice stands
        percent = sum((line.percent or 0 for line in current.lines), Decimal(0))
        if percent >= cap:
            continue
        created.append(_platform_election(session, employee, plan, "escalation", min(cap, percent + step), effective,
                                          status="scheduled"))
    return created


def _in_effect_or_scheduled(elections, today: date):
    """The election in effect today (the last one effective by then), or else the newest one still to come."""
    in_effect = [e for e in elections if e.effective_date <= today]
    if in_effect:
        return in_effect[-1]
    to_come = [e for e in elections if e.effective_date > today]
    return max(to_come, key=lambda e: e.version) if to_come else None


def release_escalations(session: Session, plan: Plan, today: date) -> list[DeferralElection]:
    """Scheduled escalations whose notice period has passed go to payroll (a skipped one never does)."""
    employer = session.get(Employer, plan.employer_id)
    released = []
    for election in session.scalars(select(DeferralElection).where(
            DeferralElection.plan_id == plan.id, DeferralElection.status == "scheduled",
            DeferralElection.effective_date <= today + timedelta(days=ESCALATION_RELEASE_DAYS))):
        approve_election(session, AUTO, election, employer, today)
        released.append(election)
    return released


def skip_escalation(session: Session, actor: Actor, employee: Employee, election_id: str) -> DeferralElection:
    election = session.get(DeferralElection, election_id)
    if election is None or election.employee_id != employee.id or election.kind != "escalation":
        raise NotFound("No such escalation.")
    if election.status != "scheduled":
        raise Conflict(f"This escalation is {election.status}; only a scheduled one can be skipped.")
    election.status = "skipped"
    record_audit(session, actor, "election.escalation_skipped", "election", election.id,
                 employer_id=employee.employer_id)
    return election


def run_daily(session: Session, today: date) -> dict:
    counts = {"auto_enrolled": 0, "escalations_scheduled": 0, "escalations_released": 0}
    for plan in session.scalars(select(Plan)):
        counts["auto_enrolled"] += len(enroll_automatically(session, plan, today))
        counts["escalations_scheduled"] += len(schedule_escalations(session, plan, today))
        counts["escalations_released"] += len(release_escalations(session, plan, today))
    return counts
