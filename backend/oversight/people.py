"""A plan's people as its sponsor and advisor see them: the participant list (status, election in effect, balance,
vested balance, this plan year's deferrals and match, the last contribution) and one participant's account, read
only, each view of an account written to the audit trail.

Every figure is asked of the module that owns it, in batches: the list of a whole plan is a fixed handful of queries
(employees, eligibility, elections, ledger lines, prices, money in), never one per person, and the balances are the
phone's own (`accounts.service.participant_summaries` runs the function behind /mobile/v1/balance). Nothing here
holds an SSN or a date of birth."""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from functools import cmp_to_key

from sqlalchemy.orm import Session

from backend.accounts import service as ledger
from backend.accounts.money_in import money_in_by_source
from backend.audit import Actor, record_audit
from backend.enrollment import service as enrollment
from backend.enrollment.elections import ElectionTerms, percent_of_paycheck
from backend.enrollment.models import MONEY_TYPES
from backend.enrollment.views import election_views
from backend.errors import NotFound, ValidationFailed
from backend.identity import policy
from backend.identity.service import Principal
from backend.money import round_half_up
from backend.plans import service as plans
from backend.plans.models import Employee, Employer, Plan
from backend.plans.schedules import plan_year_bounds

# What a person's part in the plan is today, built on enrollment's eligibility statuses (eligible, waiting,
# pending_hours, terminated) and the election in effect.
PARTICIPATION_STATUSES = ("enrolled", "eligible_not_enrolled", "opted_out", "not_yet_eligible", "terminated")
SORTS = ("name", "balance", "deferral_rate", "last_contribution")
# Elective deferrals as 402(g) counts them (IRC 402(g)(3)(A), catch-up included: 414(v)); the match is the
# employer's matching contribution source (IRC 401(m)(4)(A)).
DEFERRAL_SOURCES = MONEY_TYPES
MATCH_SOURCES = ("employer_match",)
ROTH_TYPES = ("roth", "roth_catchup")


def participation_status(eligibility: str | None, in_effect: ElectionTerms | None) -> str:
    """A person's part in the plan today. Not eligible yet (waiting for an entry date, hours still to count, or no
    determination) and terminated come from eligibility; an eligible person is enrolled when the election in effect
    defers something, opted out when it defers nothing (an opt-out, or 0% chosen), and eligible but not enrolled
    without any election in effect."""
    if eligibility == "terminated":
        return "terminated"
    if eligibility != "eligible":
        return "not_yet_eligible"
    if in_effect is None:
        return "eligible_not_enrolled"
    if in_effect.kind == "opt_out" or not any((line.percent or 0) > 0 or (line.amount_cents or 0) > 0
                                              for line in in_effect.lines):
        return "opted_out"
    return "enrolled"


def election_summary(terms: ElectionTerms | None, employee: Employee, frequency: str) -> dict | None:
    """The election in effect as staff read it: its lines, and the percent of pay it defers in all, pre-tax and Roth
    (flat amounts counted on the census pay per paycheck, as the match preview counts them), to two places."""
    if terms is None:
        return None
    per_paycheck = enrollment.pay_per_paycheck(employee, frequency)
    lines = [{"money_type": line.money_type, "percent": line.percent, "amount_cents": line.amount_cents}
             for line in terms.lines]

    def percent(of) -> Decimal | None:
        asked = percent_of_paycheck(of, per_paycheck)
        return None if asked is None else round_half_up(asked, 2)

    roth = [line for line in lines if line["money_type"] in ROTH_TYPES]
    pretax = [line for line in lines if line["money_type"] not in ROTH_TYPES]
    return {"election_id": terms.id, "kind": terms.kind, "effective_date": terms.effective_date, "lines": lines,
            "deferral_percent": percent(lines), "pretax_percent": percent(pretax), "roth_percent": percent(roth)}


def participant_rows(session: Session, principal: Principal, plan_id: str, today: date, *,
                     status: str | None = None, sort: str = "name") -> list[dict]:
    """Every employee of the plan's employer as a row of the sponsor's list, filtered by participation status and
    sorted (`name`, `balance`, `deferral_rate`, `last_contribution`; a leading `-` for descending; ties by
    employee id; people without a figure last). A few queries whatever the plan's size."""
    policy.VIEW_EMPLOYERS.check(principal)
    plan = plans.plan_for(session, principal, plan_id)
    rows = _rows(session, plan, today, status)
    field, descending = _sort_of(sort)
    return sorted(rows, key=cmp_to_key(lambda a, b: _compare(_key(a, field), _key(b, field), descending)))


def page_after(rows: list[dict], sort: str, after, limit: int) -> tuple[list[dict], list | None]:
    """The rows (sorted by `participant_rows`) after the cursor key `after` (None: from the start), at most `limit`
    of them, and the key to continue from (None at the end). The key is JSON: [sort value, employee id]."""
    field, descending = _sort_of(sort)
    if after is not None:
        bound = _parse_key(after, field)
        rows = [row for row in rows if _compare(_key(row, field), bound, descending) > 0]
    page = rows[:limit]
    more = len(rows) > limit
    return page, _json_key(_key(page[-1], field)) if more else None


def account_of(session: Session, principal: Principal, actor: Actor, plan_id: str, employee_id: str,
               today: date) -> dict:
    """One participant's account, read only: who and their status, the balance by source and fund (the phone's
    figures), their money in per pay date (newest first, as the phone lists it), their elections with each one's
    payroll stage, and how many beneficiaries they named (not who). The view is written to the audit trail (who looked at whose account; no personal data in it)."""
    policy.VIEW_EMPLOYERS.check(principal)
    plan = plans.plan_for(session, principal, plan_id)
    employee = session.get(Employee, employee_id)
    if employee is None or employee.employer_id != plan.employer_id:
        raise NotFound("No such participant in this plan.")
    employer = session.get(Employer, plan.employer_id)
    in_effect = enrollment.approved_elections(session, plan.id, effective_by=today, employee_id=employee.id)
    terms = in_effect[employee.id][-1] if in_effect.get(employee.id) else None
    eligibility = enrollment.statuses_on(session, employer.id, today).get(employee.id)
    record_audit(session, actor, "participant_account.viewed", "employee", employee.id, employer_id=employer.id,
                 changes={"plan_id": plan.id})
    return {
        "employee_id": employee.id, "external_id": employee.external_id, "first_name": employee.first_name,
        "last_name": employee.last_name, "eligibility_status": eligibility,
        "participation_status": participation_status(eligibility, terms),
        "election_in_effect": election_summary(terms, employee, employer.pay_frequency),
        "balance": ledger.participant_summary(session, employee, plan, today),
        "elections": election_views(session, enrollment.elections_of(session, employee.id), today),
        "contributions": ledger.contribution_history(session, employee.id, {f.id: f.ticker for f in plan.funds}),
        "beneficiaries_count": enrollment.beneficiary_count(session, employee.id),
    }


# ---- the list's rows -----------------------------------------------------------------------------------------------

def _rows(session: Session, plan: Plan, today: date, status: str | None) -> list[dict]:
    employer = session.get(Employer, plan.employer_id)
    employees = list(session.scalars(plans.employees_page_query(employer.id)))
    eligibility = enrollment.statuses_on(session, employer.id, today)
    elections = enrollment.approved_elections(session, plan.id, effective_by=today)
    statuses = {}
    for employee in employees:
        terms = elections.get(employee.id)
        statuses[employee.id] = (participation_status(eligibility.get(employee.id), terms[-1] if terms else None),
                                 terms[-1] if terms else None)
    if status is not None:
        employees = [e for e in employees if statuses[e.id][0] == status]
    if not employees:
        return []
    lines = ledger.participant_lines_of(session, [e.id for e in employees])
    summaries = ledger.participant_summaries(session, employees, plan, today, lines)
    start, end = plan_year_bounds(plan, today)
    money = money_in_by_source(session, plan.id, start, end, sources=DEFERRAL_SOURCES + MATCH_SOURCES)
    rows = []
    for employee in employees:
        participation, terms = statuses[employee.id]
        summary = summaries[employee.id]
        ytd = money.get(employee.id, {})
        last = ledger.last_contribution(lines.get(employee.id, ()))
        rows.append({
            "employee_id": employee.id, "external_id": employee.external_id, "first_name": employee.first_name,
            "last_name": employee.last_name, "participation_status": participation,
            "election_in_effect": election_summary(terms, employee, employer.pay_frequency),
            "balance_cents": summary["total_cents"], "vested_balance_cents": summary["vested_cents"],
            "ytd_deferrals_cents": sum(ytd.get(s, 0) for s in DEFERRAL_SOURCES),
            "ytd_match_cents": sum(ytd.get(s, 0) for s in MATCH_SOURCES),
            "ytd_since": start,
            "last_contribution": None if last is None else {"pay_date": last[0], "total_cents": last[1]},
        })
    return rows


# ---- sorting and cursors -------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class _Key:
    value: object  # None: no figure (sorted last either way)
    employee_id: str


def _sort_of(sort: str) -> tuple[str, bool]:
    field = sort.removeprefix("-")
    if field not in SORTS:
        raise ValidationFailed([("sort", f"must be one of {', '.join(SORTS)}, with a leading - for descending")])
    return field, sort.startswith("-")


def _key(row: dict, field: str) -> _Key:
    if field == "name":
        value = (row["last_name"].casefold(), row["first_name"].casefold())
    elif field == "balance":
        value = row["balance_cents"]
    elif field == "deferral_rate":
        election = row["election_in_effect"]
        value = election["deferral_percent"] if election else None
    else:
        value = row["last_contribution"]["pay_date"] if row["last_contribution"] else None
    return _Key(value, row["employee_id"])


def _compare(a: _Key, b: _Key, descending: bool) -> int:
    """-1, 0 or 1: `a` before, with or after `b` in the list's order."""
    if (a.value is None) != (b.value is None):
        return 1 if a.value is None else -1
    if a.value is not None and a.value != b.value:
        order = -1 if a.value < b.value else 1
        return -order if descending else order
    if a.employee_id == b.employee_id:
        return 0
    order = -1 if a.employee_id < b.employee_id else 1
    return -order if descending and a.value is not None else order


def _json_key(key: _Key) -> list:
    value = key.value
    if isinstance(value, tuple):
        value = list(value)
    elif isinstance(value, (date, Decimal)):
        value = str(value)
    return [value, key.employee_id]


def _parse_key(after, field: str) -> _Key:
    """A cursor key back to typed values; anything this API did not issue is refused."""
    refused = ValidationFailed([("cursor", "is not a cursor this API issued for this sort")])
    if not isinstance(after, list) or len(after) != 2 or not isinstance(after[1], str):
        raise refused
    value, employee_id = after
    try:
        if value is None:
            return _Key(None, employee_id)
        if field == "name":
            if not (isinstance(value, list) and len(value) == 2 and all(isinstance(v, str) for v in value)):
                raise refused
            return _Key(tuple(value), employee_id)
        if field == "balance":
            if not isinstance(value, int) or isinstance(value, bool):
                raise refused
            return _Key(value, employee_id)
        if not isinstance(value, str) or len(value) > 40:
            raise refused
        parsed = Decimal(value) if field == "deferral_rate" else date.fromisoformat(value)
        if isinstance(parsed, Decimal) and not parsed.is_finite():
            raise refused
        return _Key(parsed, employee_id)
    except (InvalidOperation, ValueError):
        raise refused from None
