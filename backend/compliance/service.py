"""The plan's compliance from its live data: year-to-date actuals from the ledger and pay statements, and a
year-end projection that applies each employee's election in effect to their remaining pay dates.

The tests themselves are the pure engine (report.run_plan_tests); this module only gathers its input from the one
database, so there is no census to export: the sponsor sees the plan's state whenever they look."""
from collections import defaultdict
from dataclasses import replace
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.accounts.models import LedgerAccount, LedgerEntry, LedgerLine
from backend.compliance.model import Participant, PlanTestInput
from backend.compliance.report import run_plan_tests
from backend.db import utcnow
from backend.events import Delivery, register_deliverer, subscribe
from backend.enrollment.models import EligibilityDetermination
from backend.money import HUNDRED, percent_of_cents
from backend.payroll.models import PayRun, PayStatement
from backend.plans.models import Employee, Employer, Plan
from backend.plans.pii import PiiVault
from backend.plans.schedules import pay_dates_between, periods_per_year

_SOURCE_FIELD = {"pretax": "pretax_cents", "roth": "roth_cents", "pretax_catchup": "catch_up_cents",
                 "roth_catchup": "catch_up_cents", "employer_match": "match_cents", "after_tax": "after_tax_cents",
                 "nonelective": "nonelective_cents", "safe_harbor": "nonelective_cents"}


def _year_to_date(session: Session, plan: Plan, year: int, as_of: date) -> tuple[dict, dict, dict]:
    """(money by employee and engine field, plan compensation by employee, balances by employee) for the
    calendar year up to `as_of`."""
    money: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for employee_id, source, cents in session.execute(
            select(LedgerAccount.employee_id, LedgerAccount.source, func.sum(LedgerLine.amount_cents))
            .join(LedgerLine, LedgerLine.account_id == LedgerAccount.id)
            .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
            .where(LedgerAccount.plan_id == plan.id, LedgerAccount.employee_id.is_not(None),
                   LedgerEntry.kind != "investment",
                   LedgerEntry.effective_date.between(date(year, 1, 1), min(as_of, date(year, 12, 31))))
            .group_by(LedgerAccount.employee_id, LedgerAccount.source)).all():
        if source in _SOURCE_FIELD:
            money[employee_id][_SOURCE_FIELD[source]] += int(cents)
    compensation = dict(session.execute(
        select(PayStatement.employee_id, func.sum(PayStatement.plan_compensation_cents))
        .join(PayRun, PayRun.id == PayStatement.pay_run_id)
        .where(PayRun.plan_id == plan.id, PayRun.status != "superseded", PayStatement.status == "posted",
               PayRun.pay_date.between(date(year, 1, 1), min(as_of, date(year, 12, 31))))
        .group_by(PayStatement.employee_id)).all())
    balances = dict(session.execute(
        select(LedgerAccount.employee_id, func.sum(LedgerLine.amount_cents))
        .join(LedgerLine, LedgerLine.account_id == LedgerAccount.id)
        .where(LedgerAccount.plan_id == plan.id, LedgerAccount.employee_id.is_not(None))
        .group_by(LedgerAccount.employee_id)).all())
    return money, {k: int(v) for k, v in compensation.items()}, {k: int(v) for k, v in balances.items()}


def plan_year_inputs(session: Session, vault: PiiVault, plan: Plan, as_of: date,
                     what_if: dict[str, Decimal] | None = None) -> tuple[PlanTestInput, PlanTestInput]:
    """The engine's input twice: as of today, and projected to the year's end (each employee's current election,
    or the `what_if` deferral percent given for them, applied to each remaining pay date)."""
    year = as_of.year
    employer = session.get(Employer, plan.employer_id)
    money, compensation, balances = _year_to_date(session, plan, year, as_of)
    remaining = pay_dates_between(employer.pay_frequency, employer.anchor_pay_date,
                                  date.fromordinal(as_of.toordinal() + 1), date(year, 12, 31))
    per_year = periods_per_year(employer.pay_frequency)
    determinations = {d.employee_id: d for d in session.scalars(
        select(EligibilityDetermination).join(Employee, Employee.id == EligibilityDetermination.employee_id)
        .where(Employee.employer_id == employer.id))}
    elections = _approved_elections(session, plan)
    today_rows, projected_rows = [], []
    for employee in session.scalars(select(Employee).where(Employee.employer_id == employer.id)
                                    .order_by(Employee.external_id)):
        determination = determinations.get(employee.id)
        eligible = bool(determination and determination.entry_date and determination.entry_date <= date(year, 12, 31))
        ytd = money.get(employee.id, {})
        per_check = employee.annual_compensation_cents // per_year
        employed = not (employee.termination_date and employee.termination_date <= as_of)
        future_checks = [d for d in remaining if not employee.termination_date or d <= employee.termination_date]
        base = Participant(
            employee_id=employee.external_id, date_of_birth=vault.open_date(employee.date_of_birth_enc),
            hire_date=employee.hire_date, compensation_cents=compensation.get(employee.id, 0),
            account_balance_cents=max(0, balances.get(employee.id, 0)), ownership_percent=employee.ownership_percent,
            # The census carries one annual pay; it stands in for the look-back year's (HCE status, 414(q)).
            prior_year_compensation_cents=employee.annual_compensation_cents, officer=employee.officer,
            eligible=eligible, employed_at_year_end=employed, **{k: v for k, v in ytd.items()})
        today_rows.append(base)
        extra = _projected_cents(plan, elections.get(employee.id, []), per_check, future_checks,
                                 (what_if or {}).get(employee.external_id), eligible)
        projected_rows.append(replace(base, compensation_cents=base.compensation_cents + per_check * len(future_checks),
                                      pretax_cents=base.pretax_cents + extra["pretax"],
                                      roth_cents=base.roth_cents + extra["roth"],
                                      match_cents=base.match_cents + extra["match"]))
    safe_harbor = None if plan.safe_harbor == "none" else plan.safe_harbor
    first_year = plan.effective_date.year == year
    make = lambda rows: PlanTestInput(year=year, participants=tuple(rows), safe_harbor=safe_harbor,  # noqa: E731
                                      first_plan_year=first_year, eaca=plan.auto_enroll)
    return make(today_rows), make(projected_rows)


def _approved_elections(session: Session, plan: Plan) -> dict[str, list]:
    """Every approved election of the plan with its lines, by employee, in the order they take effect (two
    queries for the whole plan, not one per employee and pay date)."""
    from backend.enrollment.models import DeferralElection, ElectionLine

    lines = defaultdict(list)
    for election_id, money_type, percent, amount in session.execute(
            select(ElectionLine.election_id, ElectionLine.money_type, ElectionLine.percent, ElectionLine.amount_cents)
            .join(DeferralElection, DeferralElection.id == ElectionLine.election_id)
            .where(DeferralElection.plan_id == plan.id, DeferralElection.status == "approved")).all():
        lines[election_id].append((money_type, percent, amount))
    by_employee = defaultdict(list)
    for election_id, employee_id, effective in session.execute(
            select(DeferralElection.id, DeferralElection.employee_id, DeferralElection.effective_date)
            .where(DeferralElection.plan_id == plan.id, DeferralElection.status == "approved")
            .order_by(DeferralElection.effective_date, DeferralElection.version)).all():
        by_employee[employee_id].append((effective, lines[election_id]))
    return by_employee


def _projected_cents(plan: Plan, elections: list, per_check: int, checks: list[date], what_if: Decimal | None,
                     eligible: bool) -> dict[str, int]:
    """What the rest of the year adds: the election in effect on each remaining pay date, and its match."""
    from backend.plans import match as match_rules
    from backend.plans.service import match_tiers

    extra = {"pretax": 0, "roth": 0, "match": 0}
    if not eligible or not checks:
        return extra
    tiers = match_tiers(plan)
    for pay_date in checks:
        if what_if is not None:
            lines = {"pretax": percent_of_cents(per_check, what_if)}
        else:
            in_effect = [election_lines for effective, election_lines in elections if effective <= pay_date]
            lines = defaultdict(int)
            for money_type, percent, amount in in_effect[-1] if in_effect else []:
                cents = amount if amount is not None else percent_of_cents(per_check, percent)
                lines["roth" if money_type.startswith("roth") else "pretax"] += cents
        deferred = sum(lines.values())
        extra["pretax"] += lines.get("pretax", 0)
        extra["roth"] += lines.get("roth", 0)
        if tiers and per_check and deferred:
            percent = min(HUNDRED, Decimal(deferred) * HUNDRED / per_check)
            extra["match"] += percent_of_cents(per_check, match_rules.match_percent_of_pay(tiers, percent))
    return extra


def compliance_state(session: Session, vault: PiiVault, plan: Plan, as_of: date,
                     what_if: dict[str, Decimal] | None = None) -> dict:
    """Year-to-date and projected results of every test, with what would fix a failing projection."""
    today_input, projected_input = plan_year_inputs(session, vault, plan, as_of, what_if)
    today_result, projected = run_plan_tests(today_input), run_plan_tests(projected_input)
    failing = [name for name in ("adp", "acp") if not projected[name]["passed"]]
    return {"as_of": as_of.isoformat(), "year": as_of.year, "status": "on_track" if not failing else "at_risk",
            "failing_tests": failing, "year_to_date": today_result, "projection": projected}


# ---- kept current --------------------------------------------------------------------------------------------

RECOMPUTE_TOPIC = "compliance.recompute"


def request_recompute(session: Session, plan_id: str, trigger: str, as_of: date) -> None:
    """Ask for the plan's state to be recomputed, in the same transaction as the change that moves it. The
    worker does it moments later; requests already waiting for the plan are not repeated."""
    from backend.events import OutboxMessage, enqueue

    waiting = session.scalar(select(OutboxMessage.id).where(OutboxMessage.topic == RECOMPUTE_TOPIC,
                                                            OutboxMessage.subject_id == plan_id,
                                                            OutboxMessage.status == "pending").limit(1))
    if waiting is None:
        enqueue(session, RECOMPUTE_TOPIC, f"compliance:{plan_id}",
                {"plan_id": plan_id, "trigger": trigger, "as_of": as_of.isoformat()}, subject_id=plan_id)


def _figures(state: dict) -> dict:
    projection = state["projection"]
    return {name: {key: projection[name][key] for key in ("hce_average", "nhce_average", "limit", "margin", "passed")}
            for name in ("adp", "acp")}


def recompute(session: Session, vault: PiiVault, plan: Plan, as_of: date, trigger: str) -> dict:
    """Compute, store the state and a history point, and raise an early warning when the projection turns at
    risk (once per change of status, never on every pay run while it stays at risk)."""
    import json as _json

    from backend.compliance.models import ComplianceSnapshot, ComplianceState, ComplianceWarning

    # Stored as the API shows it: Decimals as their exact digits in strings.
    state = _json.loads(_json.dumps(compliance_state(session, vault, plan, as_of), default=str))
    stored = session.get(ComplianceState, (plan.id, as_of.year))
    previous = stored.status if stored else "on_track"
    if stored is None:
        stored = ComplianceState(plan_id=plan.id, year=as_of.year, status=state["status"], trigger=trigger, result=state)
        session.add(stored)
    else:
        stored.status, stored.trigger, stored.result, stored.computed_at = state["status"], trigger, state, utcnow()
    session.add(ComplianceSnapshot(plan_id=plan.id, year=as_of.year, status=state["status"], figures=_figures(state)))
    if state["status"] == "at_risk" and previous != "at_risk":
        fix = {name: {key: state["projection"][name][key] for key in ("refunds", "recharacterized_catch_up", "qnec",
                                                                         "nhce_increase", "hce_ratio_cap")}
               for name in state["failing_tests"]}
        names = " and ".join(name.upper() for name in state["failing_tests"])
        session.add(ComplianceWarning(
            plan_id=plan.id, year=as_of.year, failing_tests=state["failing_tests"], fix=fix,
            message=f"At the current elections the plan is on track to fail its {as_of.year} {names} test. "
                    f"There is still time to act: see the fix for each test."))
    return state



@register_deliverer(RECOMPUTE_TOPIC)
def _recompute_for_the_outbox(session: Session, message, vault: PiiVault) -> Delivery:
    plan = session.get(Plan, message.payload["plan_id"])
    if plan is None:
        return Delivery(False, "the plan no longer exists", permanent=True)
    recompute(session, vault, plan, date.fromisoformat(message.payload["as_of"]), message.payload["trigger"])
    return Delivery(True)


@subscribe("payroll.posted")
def _after_pay_run(session: Session, plan: Plan, pay_run, today: date) -> None:
    request_recompute(session, plan.id, f"pay_run:{pay_run.id}", today)


@subscribe("election.approved")
def _after_election(session: Session, plan_id: str, election_id: str, today: date) -> None:
    request_recompute(session, plan_id, f"election:{election_id}", today)
