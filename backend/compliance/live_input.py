"""The engine's input gathered from the plan's live data: year-to-date money from the ledger, pay from the posted
pay statements, the census, entry dates and the elections in effect, read through the modules that own them, and
the year-end projection (`projection.py`) applied to the remaining pay dates.

There is no census to export: the one database holds it all, so the plan's state can be computed whenever it moves.
"""
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from backend.accounts.money_in import cost_basis_by_employee, money_in_by_source
from backend.compliance.engine_input import Participant, PlanTestInput
from backend.compliance.projection import YearEndProjection
from backend.enrollment import service as enrollment
from backend.irs.limits import limits_for
from backend.payroll.pay_history import payroll_covers_year, posted_pay
from backend.plans import service as plans
from backend.plans.models import Employer, Plan
from backend.plans.pii import PiiVault
from backend.plans.schedules import pay_dates_between, periods_per_year

# The ledger's sources as the engine's fields (catch-up is a label only: the rule decides, engine_input.py).
_SOURCE_FIELD = {"pretax": "pretax_cents", "roth": "roth_cents", "pretax_catchup": "catch_up_cents",
                 "roth_catchup": "catch_up_cents", "employer_match": "match_cents", "after_tax": "after_tax_cents",
                 "nonelective": "nonelective_cents", "safe_harbor": "nonelective_cents"}

def plan_year_inputs(session: Session, vault: PiiVault, plan: Plan, as_of: date,
                     what_if: dict[str, Decimal] | None = None) -> tuple[PlanTestInput, PlanTestInput]:
    """The engine's input twice: as of `as_of`, and projected to the year's end (each employee's elections in
    effect, or the `what_if` deferral percent given for them by external id, applied to each remaining pay
    date)."""
    return _inputs(session, vault, plan, as_of, what_if or {}, None)


def projected_input(session: Session, vault: PiiVault, plan: Plan, as_of: date,
                    employee_id: str) -> PlanTestInput | None:
    """One employee's projected year end, for the incremental update after their election changes: only what
    their ADP and ACP ratios read (their balance is left at nothing and last year's pay at the census's, as the
    ratios ignore both and their HCE status is the last full computation's). None when they are not on the
    census."""
    _, projected = _inputs(session, vault, plan, as_of, {}, employee_id)
    return projected if projected.participants else None


def _inputs(session: Session, vault: PiiVault, plan: Plan, as_of: date, what_if: dict[str, Decimal],
            only: str | None) -> tuple[PlanTestInput, PlanTestInput]:
    """The whole plan, or only what one employee's ratios read when `only` names them."""
    whole_record = only is None
    year = as_of.year
    year_start, year_end = date(year, 1, 1), date(year, 12, 31)
    employer = session.get(Employer, plan.employer_id)
    money = _money_by_field(money_in_by_source(session, plan.id, year_start, min(as_of, year_end), employee_id=only))
    compensation = posted_pay(session, plan.id, year_start, min(as_of, year_end), employee_id=only)
    balances = cost_basis_by_employee(session, plan.id, employee_id=only) if whole_record else {}
    # Gross pay is 415(c)(3) compensation, as 414(q)(4) asks for the look-back year; without the plan's payroll
    # for the whole of that year, the census's annual pay stands in for it.
    prior_pay = (posted_pay(session, plan.id, date(year - 1, 1, 1), date(year - 1, 12, 31), column="gross",
                            employee_id=only)
                 if whole_record and payroll_covers_year(session, plan.id, year - 1) else None)
    entry_dates = enrollment.entry_dates_and_statuses(session, employer.id, only)
    elections = enrollment.approved_elections(session, plan.id, employee_id=only)
    projection = YearEndProjection(plans.match_tiers(plan), pay_dates_between(
        employer.pay_frequency, employer.anchor_pay_date, date.fromordinal(as_of.toordinal() + 1), year_end))
    per_year = periods_per_year(employer.pay_frequency)
    pay_limit = limits_for(year).compensation_limit_cents
    today_rows, projected_rows = [], []
    for employee in plans.census_rows(session, employer.id, employee_id=only):
        entry = entry_dates.get(employee.id)
        eligible = bool(entry and entry[0] and entry[0] <= year_end)
        ytd = money.get(employee.id, _NOTHING)
        paid = compensation.get(employee.id, 0)
        per_check = employee.annual_compensation_cents // per_year
        extra = projection.extra_cents(elections.get(employee.id, ()), per_check, employee.termination_date,
                                       what_if.get(employee.external_id), eligible, pay_room_cents=pay_limit - paid)
        common = {
            "employee_id": employee.external_id, "birth_year": vault.birth_year(employee.date_of_birth_enc),
            "hire_date": employee.hire_date, "account_balance_cents": max(0, balances.get(employee.id, 0)),
            "ownership_percent": employee.ownership_percent,
            "prior_year_compensation_cents": (employee.annual_compensation_cents if prior_pay is None
                                              else prior_pay.get(employee.id, 0)),
            "officer": employee.officer, "eligible": eligible,
            "employed_at_year_end": not (employee.termination_date and employee.termination_date <= as_of),
            "catch_up_cents": ytd.get("catch_up_cents", 0), "after_tax_cents": ytd.get("after_tax_cents", 0),
            "nonelective_cents": ytd.get("nonelective_cents", 0)}
        pretax, roth, match = ytd.get("pretax_cents", 0), ytd.get("roth_cents", 0), ytd.get("match_cents", 0)
        today_rows.append(Participant.from_mapping({
            **common, "compensation_cents": paid, "pretax_cents": pretax, "roth_cents": roth, "match_cents": match}))
        projected_rows.append(Participant.from_mapping({
            **common, "compensation_cents": paid + extra.compensation, "pretax_cents": pretax + extra.pretax,
            "roth_cents": roth + extra.roth, "match_cents": match + extra.match}))
    safe_harbor = None if plan.safe_harbor == "none" else plan.safe_harbor
    first_year = plan.effective_date.year == year

    def make(rows):
        return PlanTestInput(year=year, participants=tuple(rows), safe_harbor=safe_harbor,
                             first_plan_year=first_year, eaca=plan.auto_enroll)

    return make(today_rows), make(projected_rows)


_NOTHING: dict[str, int] = {}


def _money_by_field(by_source: dict[str, dict[str, int]]) -> dict[str, dict[str, int]]:
    """{employee id: {engine field: cents}} from the ledger's {employee id: {source: cents}}."""
    money: dict[str, dict[str, int]] = {}
    for employee_id, sources in by_source.items():
        fields = money[employee_id] = {}
        for source, cents in sources.items():
            field = _SOURCE_FIELD.get(source)
            if field is not None:
                fields[field] = fields.get(field, 0) + cents
    return money
