"""What came into participants' accounts, read from the ledger: the one definition of "money in by source over a
period" that payroll's 402(g) checks, the phone's limits and the compliance tests all use.

Money belongs to its pay date (an entry's effective date), so a correction nets against the period it corrects;
moving money between a participant's own accounts (investing pending cash) is not money in."""
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.accounts.models import LedgerAccount, LedgerEntry, LedgerLine


def money_in_by_source(session: Session, plan_id: str, start: date, end: date, *, employee_id: str | None = None,
                       sources=None) -> dict[str, dict[str, int]]:
    """{employee id: {source: cents}} paid in from `start` to `end` (pay dates, inclusive), corrections netted;
    for one employee when `employee_id` names them, for some sources when `sources` names them."""
    scope = [LedgerAccount.plan_id == plan_id, LedgerEntry.kind != "investment",
             LedgerEntry.effective_date.between(start, end)]
    scope.append(LedgerAccount.employee_id == employee_id if employee_id else LedgerAccount.employee_id.is_not(None))
    if sources is not None:
        scope.append(LedgerAccount.source.in_(list(sources)))
    money: dict[str, dict[str, int]] = {}
    for who, source, cents in session.execute(
            select(LedgerAccount.employee_id, LedgerAccount.source, func.sum(LedgerLine.amount_cents))
            .join(LedgerLine, LedgerLine.account_id == LedgerAccount.id)
            .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
            .where(*scope).group_by(LedgerAccount.employee_id, LedgerAccount.source)).all():
        money.setdefault(who, {})[source] = int(cents)
    return money


def cost_basis_by_employee(session: Session, plan_id: str, *, employee_id: str | None = None) -> dict[str, int]:
    """Every employee's money in their accounts at cost (what went in, all time): the top-heavy test's balances."""
    who = LedgerAccount.employee_id == employee_id if employee_id else LedgerAccount.employee_id.is_not(None)
    return {k: int(v) for k, v in session.execute(
        select(LedgerAccount.employee_id, func.sum(LedgerLine.amount_cents))
        .join(LedgerLine, LedgerLine.account_id == LedgerAccount.id)
        .where(LedgerAccount.plan_id == plan_id, who).group_by(LedgerAccount.employee_id)).all()}


def plan_money_in_by_day(session: Session, plan_id: str, start: date, end: date) -> dict[date, dict[str, int]]:
    """{pay date: {source: cents}} paid into the plan's participant accounts from `start` to `end` (inclusive),
    corrections netted: one grouped query for the whole plan (a year is at most a few dozen pay dates)."""
    money: dict[date, dict[str, int]] = {}
    for day, source, cents in session.execute(
            select(LedgerEntry.effective_date, LedgerAccount.source, func.sum(LedgerLine.amount_cents))
            .join(LedgerLine, LedgerLine.account_id == LedgerAccount.id)
            .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
            .where(LedgerAccount.plan_id == plan_id, LedgerAccount.employee_id.is_not(None),
                   LedgerEntry.kind != "investment", LedgerEntry.effective_date.between(start, end))
            .group_by(LedgerEntry.effective_date, LedgerAccount.source)).all():
        money.setdefault(day, {})[source] = int(cents)
    return money
