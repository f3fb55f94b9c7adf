"""The sponsor's payroll exceptions queue: accept a held statement (it posts), correct one (the earlier posting
reversed, the corrected withholdings checked as a pay run's are, then posted or held again), or reject one (its
money goes back to payroll)."""
from datetime import date

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from backend.accounts import service as ledger
from backend.accounts.service import PAYROLL_CLEARING, TRUST_CASH, EntrySpec, LineSpec
from backend.audit import Actor, record_audit
from backend.db import utcnow
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.events import PayRunPosted, publish
from backend.identity import policy
from backend.identity.service import Principal
from backend.payroll.findings import withholding_findings
from backend.payroll.ingest import statement_problems
from backend.payroll.models import PayrollException, PayRun, PayStatement
from backend.payroll.posting import computed_match, contribution_spec, run_totals
from backend.payroll.snapshot import load_snapshot
from backend.plans import service as plans
from backend.plans.models import Employee, Employer, Plan
from backend.plans.pii import PiiVault


def exception_for(session: Session, principal: Principal, exception_id: str) -> PayrollException:
    exception = session.get(PayrollException, exception_id)
    if exception is None:
        raise NotFound("No such payroll exception.")
    plans.employer_for(session, principal, exception.employer_id, missing="No such payroll exception.")
    return exception


def resolve_exception(session: Session, vault: PiiVault, actor: Actor, principal: Principal, exception_id: str, action: str,
                      note: str | None, corrected: dict[str, int] | None, today: date) -> PayrollException:
    """accept: the statement stands (a held one is posted); correct: the corrected withholdings pass the checks and
    findings a pay run's do (a posted statement is reversed first), then the statement is posted, or held again
    with the new findings open; reject: a held statement is not posted and its money goes back to payroll, a
    posted one is reversed."""
    policy.RESOLVE_PAYROLL.check(principal)
    exception = exception_for(session, principal, exception_id)
    if exception.status != "open":
        raise Conflict(f"This exception is already {exception.status}.")
    if action == "correct" and not corrected:
        raise ValidationFailed([("withholdings", "are required to correct a statement")])
    statement = session.get(PayStatement, exception.statement_id)
    run = session.get(PayRun, statement.pay_run_id)
    if run.status == "superseded":
        raise Conflict("This pay run was corrected by a later version; resolve that version's exceptions.")
    if action == "correct":
        problems = statement_problems({"gross_pay_cents": statement.gross_cents,
                                       "plan_compensation_cents": statement.plan_compensation_cents,
                                       "withholdings": corrected})
        if problems:
            raise ValidationFailed(problems)
    employer = session.get(Employer, run.employer_id)
    plan = session.get(Plan, run.plan_id)
    siblings = list(session.scalars(select(PayrollException).where(PayrollException.statement_id == statement.id,
                                                                   PayrollException.status == "open")))
    revision = 1 + sum(1 for _ in session.scalars(select(PayrollException.id).where(
        PayrollException.statement_id == statement.id, PayrollException.status == "corrected")))
    outcome = {"accept": "accepted", "correct": "corrected", "reject": "rejected"}[action]
    _claim(session, actor, exception, outcome, note)
    in_trust = sum(statement.withholdings.values()) + statement.employer_match_cents  # what payroll deposited
    if action in ("correct", "reject") and statement.status == "posted":
        # Take the posted money back out of the participant's accounts (reversals, never edits).
        ledger.reverse_pay_run_entries(session, plan.id, run.id, employee_id=statement.employee_id,
                                       kind="contribution")
    findings = []
    if action == "correct":
        # Read after the reversal: the year's deferrals no longer count the amounts being corrected.
        snapshot = _snapshot(session, vault, plan, employer, run, statement)
        statement.withholdings = {k: v for k, v in corrected.items() if v}
        findings = withholding_findings(snapshot, statement.employee_id, statement.plan_compensation_cents,
                                        statement.withholdings)
        if statement.match_source == "computed":
            statement.employer_match_cents = computed_match(snapshot, statement.employee_id,
                                                            statement.plan_compensation_cents, statement.withholdings)
        held = any(f.severity == "hold" for f in findings)
        spec = contribution_spec(snapshot, run, statement)
        spec.key = f"{spec.key}:r{revision}"
        # Payroll sends (or takes back) the difference, so the trust still holds exactly what was posted.
        delta = sum(statement.withholdings.values()) + statement.employer_match_cents - in_trust
        adjustment = EntrySpec(key=f"deposit-adjustment:{statement.id}:r{revision}", kind="deposit",
                               effective_date=run.pay_date, pay_run_id=run.id, employee_id=statement.employee_id,
                               lines=[LineSpec(PAYROLL_CLEARING, -delta), LineSpec(TRUST_CASH, delta)] if delta else [])
        # A held correction's money waits in trust cash, as a held statement's does on ingest.
        ledger.post_entries(session, plan.id, [e for e in (adjustment, None if held else spec) if e and e.lines])
        statement.status, statement.posted_at = ("held", None) if held else ("posted", utcnow())
    elif action == "accept" and statement.status == "held":
        spec = contribution_spec(_snapshot(session, vault, plan, employer, run, statement), run, statement)
        if revision > 1:  # corrected before: the first posting's key is taken (and reversed), so a fresh one
            spec.key = f"{spec.key}:r{revision}"
        ledger.post_entries(session, plan.id, [spec] if spec.lines else [])
        statement.status, statement.posted_at = "posted", utcnow()
    elif action == "reject":
        # The money goes back to payroll (to refund the employee): out of the trust, back to clearing.
        statement.status = "rejected"
        if in_trust:  # a statement that carried no money has nothing to send back: no entry
            ledger.post_entries(session, plan.id, [EntrySpec(
                key=f"refund:{statement.id}", kind="refund", effective_date=run.pay_date, pay_run_id=run.id,
                employee_id=statement.employee_id,
                lines=[LineSpec(TRUST_CASH, -in_trust), LineSpec(PAYROLL_CLEARING, in_trust)])])
    for item in siblings:
        if item.id == exception.id or item.severity == "hold" or action != "accept":
            item.status, item.resolved_by, item.resolved_at = outcome, actor.user_id, utcnow()
            item.resolution_note = note
    now = utcnow()
    session.add_all([PayrollException(
        employer_id=employer.id, pay_run_id=run.id, statement_id=statement.id,
        employee_id=statement.employee_id, code=f.code, severity=f.severity, message=f.message, details=f.details,
        status="open", created_at=now) for f in findings])
    run.totals = run_totals(run.statements)
    run.status = "posted_with_holds" if any(st.status == "held" for st in run.statements) else "posted"
    record_audit(session, actor, f"payroll_exception.{outcome}", "payroll_exception", exception.id,
                 {"code": exception.code, "note": note, "corrected": corrected}, employer_id=employer.id)
    publish(session, PayRunPosted(plan.id, run.id, today))
    return exception


def _claim(session: Session, actor: Actor, exception: PayrollException, outcome: str, note: str | None) -> None:
    """Resolve the exception only if it is still open as the database sees it now, before anything is posted: of
    several resolutions sent at once one wins and the others are refused (409), where a read-then-write would let
    each of them post. It is the resolution's first write, so SQLite serializes them here too."""
    claimed = session.execute(
        update(PayrollException).where(PayrollException.id == exception.id, PayrollException.status == "open")
        .values(status=outcome, resolved_by=actor.user_id, resolved_at=utcnow(), resolution_note=note)
        .execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        raise Conflict("This exception was resolved by a request made at the same time.")
    session.refresh(exception)


def _snapshot(session: Session, vault: PiiVault, plan: Plan, employer: Employer, run: PayRun, statement: PayStatement):
    """The run's snapshot for the one participant whose statement is being resolved."""
    employee = session.get(Employee, statement.employee_id)
    return load_snapshot(session, vault, plan, employer, [employee], run.pay_date, employee_id=employee.id)


def open_exceptions_count(session: Session, plan_id: str) -> int:
    """How many payroll exceptions of the plan's pay runs wait for the sponsor."""
    return session.scalar(select(func.count(PayrollException.id))
                          .join(PayRun, PayRun.id == PayrollException.pay_run_id)
                          .where(PayRun.plan_id == plan_id, PayrollException.status == "open"))
