"""Presenters: elections, match previews and investment choices as the API answers them, for sponsors' and
participants' blueprints alike. A list is presented with a few batched queries, whatever its length."""
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.enrollment.approvals import election_etag, payroll_stages
from backend.enrollment.elections import MatchPreview, preview_match
from backend.enrollment.determinations import status_on
from backend.enrollment.models import DeferralElection, EligibilityDetermination
from backend.enrollment.payroll_messages import line_dict
from backend.money import percent_str
from backend.plans.models import Employee, Employer, Fund, Plan


def preview_view(preview: MatchPreview) -> dict:
    return {key: percent_str(value) if isinstance(value, Decimal) else value for key, value in preview.__dict__.items()}


def election_views(session: Session, elections: list[DeferralElection], today: date,
                   with_match: bool = False) -> list[dict]:
    """Each election with whether it is in effect today, its ETag, its stage on the way to payroll and, when
    asked, the match it earns."""
    if not elections:
        return []
    employee_ids = {e.employee_id for e in elections}
    in_effect = _in_effect_ids(session, employee_ids, today)
    stages = payroll_stages(session, elections)
    match_context = _match_context(session, elections) if with_match else {}
    views = []
    for election in elections:
        view = {
            "id": election.id, "employee_id": election.employee_id, "version": election.version,
            "kind": election.kind, "status": election.status, "in_effect": election.id in in_effect,
            "effective_date": election.effective_date, "submitted_at": election.submitted_at,
            "decided_at": election.decided_at, "rejection_reason": election.rejection_reason,
            "etag": election_etag(election), "lines": [line_dict(line) for line in election.lines],
            "match": None, "payroll": stages[election.id],
        }
        if with_match:
            plan, employee, employer = match_context[election.id]
            view["match"] = preview_view(preview_match(
                plan, employee, employer.pay_frequency,
                [{"percent": line.percent, "amount_cents": line.amount_cents} for line in election.lines]))
        views.append(view)
    return views


def election_view(session: Session, election: DeferralElection, today: date, with_match: bool = False) -> dict:
    return election_views(session, [election], today, with_match)[0]


def _in_effect_ids(session: Session, employee_ids: set[str], today: date) -> set[str]:
    """The id of the election in effect today for each of these employees (the latest approved one effective by
    today), in one query."""
    rows = session.execute(
        select(DeferralElection.employee_id, DeferralElection.id)
        .where(DeferralElection.employee_id.in_(employee_ids), DeferralElection.status == "approved",
               DeferralElection.effective_date <= today)
        .order_by(DeferralElection.effective_date, DeferralElection.version)).all()
    latest = {}
    for employee_id, election_id in rows:
        latest[employee_id] = election_id
    return set(latest.values())


def _match_context(session: Session, elections: list[DeferralElection]) -> dict:
    """(plan, employee, employer) of each election, each loaded once."""
    employees = {e.id: e for e in session.scalars(
        select(Employee).where(Employee.id.in_({e.employee_id for e in elections})))}
    employers = {e.id: e for e in session.scalars(
        select(Employer).where(Employer.id.in_({e.employer_id for e in employees.values()})))}
    plans = {p.id: p for p in session.scalars(select(Plan).where(Plan.id.in_({e.plan_id for e in elections})))}
    return {e.id: (plans[e.plan_id], employees[e.employee_id], employers[employees[e.employee_id].employer_id])
            for e in elections}


def investments_view(session: Session, election) -> dict:
    """How new contributions are invested: the participant's choice, or the plan's default fund."""
    if election is None:
        return {"version": 0, "created_at": None, "uses_default_fund": True, "allocations": []}
    funds = {f.id: f for f in session.scalars(
        select(Fund).where(Fund.id.in_({a.fund_id for a in election.allocations})))}
    allocations = [{"fund_id": a.fund_id, "ticker": funds[a.fund_id].ticker, "name": funds[a.fund_id].name,
                    "percent": percent_str(a.percent)} for a in election.allocations]
    uses_default = len(election.allocations) == 1 and funds[election.allocations[0].fund_id].is_default
    return {"version": election.version, "created_at": election.created_at, "uses_default_fund": uses_default,
            "allocations": allocations}


def eligibility_views(session: Session, employees: list[Employee], today: date) -> dict[str, dict | None]:
    """Each employee's eligibility as of today (None before the first determination), in one query."""
    determinations = {d.employee_id: d for d in session.scalars(
        select(EligibilityDetermination).where(EligibilityDetermination.employee_id.in_([e.id for e in employees])))}
    views: dict[str, dict | None] = {}
    for employee in employees:
        determination = determinations.get(employee.id)
        views[employee.id] = None if determination is None else {
            "status": status_on(determination, today, employee),
            "conditions_met_date": determination.conditions_met_date, "entry_date": determination.entry_date,
            "basis": determination.basis, "explanation": determination.explanation}
    return views


def pending_approval_count(session: Session, plan_id: str) -> int:
    """How many of the plan's elections wait for the sponsor's approval now (superseded ones not counted)."""
    return session.scalar(select(func.count()).select_from(DeferralElection).where(
        DeferralElection.plan_id == plan_id, DeferralElection.status == "pending_approval"))
