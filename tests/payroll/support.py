"""Read-only looks at the stored rows, for the payroll and ledger tests: what was stored, and where the money sits.

Everything a test does goes through HTTP; these helpers only count rows and sum ledger lines to check invariants."""
from decimal import Decimal

from sqlalchemy import func, select

from backend.accounts.models import FundPrice, LedgerAccount, LedgerEntry, LedgerLine
from backend.payroll.models import PayRun, PayrollException, PayStatement
from backend.plans.models import Employee

COUNTED = {"pay_runs": PayRun, "pay_statements": PayStatement, "payroll_exceptions": PayrollException,
           "ledger_entries": LedgerEntry, "ledger_lines": LedgerLine, "ledger_accounts": LedgerAccount,
           "employees": Employee, "fund_prices": FundPrice}


def row_counts(plumb) -> dict[str, int]:
    with plumb.db.transaction() as session:
        return {name: session.scalar(select(func.count()).select_from(model)) for name, model in COUNTED.items()}


def account_cents(plumb, plan_id: str, *kinds: str) -> int:
    """The sum of every line in the plan's accounts of these kinds (all kinds when none is named)."""
    query = (select(func.coalesce(func.sum(LedgerLine.amount_cents), 0))
             .join(LedgerAccount, LedgerAccount.id == LedgerLine.account_id).where(LedgerAccount.plan_id == plan_id))
    if kinds:
        query = query.where(LedgerAccount.kind.in_(kinds))
    with plumb.db.transaction() as session:
        return int(session.scalar(query))


def account_balances(plumb, plan_id: str) -> dict[str, tuple[int, str]]:
    """Every account of the plan by key: (cents, units as text)."""
    with plumb.db.transaction() as session:
        rows = session.execute(select(LedgerAccount.key, func.sum(LedgerLine.amount_cents), func.sum(LedgerLine.units))
                               .join(LedgerLine, LedgerLine.account_id == LedgerAccount.id)
                               .where(LedgerAccount.plan_id == plan_id).group_by(LedgerAccount.key)).all()
    return {key: (int(cents), str(Decimal(units).normalize()) if units is not None else "0") for key, cents, units in rows}


def unbalanced_entries(plumb) -> list[tuple[str, int]]:
    with plumb.db.transaction() as session:
        return [tuple(r) for r in session.execute(
            select(LedgerLine.entry_id, func.sum(LedgerLine.amount_cents)).group_by(LedgerLine.entry_id)
            .having(func.sum(LedgerLine.amount_cents) != 0)).all()]


def statements_of(plumb, pay_run_id: str) -> list[PayStatement]:
    with plumb.db.transaction() as session:
        rows = list(session.scalars(select(PayStatement).where(PayStatement.pay_run_id == pay_run_id)
                                    .order_by(PayStatement.position)))
        session.expunge_all()
        return rows


def entries_of(plumb, pay_run_id: str) -> list[tuple[str, str]]:
    """(kind, idempotency key) of the run's ledger entries, in key order."""
    with plumb.db.transaction() as session:
        return [tuple(r) for r in session.execute(
            select(LedgerEntry.kind, LedgerEntry.idempotency_key).where(LedgerEntry.pay_run_id == pay_run_id)
            .order_by(LedgerEntry.idempotency_key)).all()]


def entry_rows(plumb, pay_run_id: str) -> list[dict]:
    """The run's ledger entries with their net movement per account kind, oldest key first."""
    with plumb.db.transaction() as session:
        entries = session.execute(select(LedgerEntry.id, LedgerEntry.kind, LedgerEntry.idempotency_key,
                                         LedgerEntry.effective_date, LedgerEntry.reverses_entry_id)
                                  .where(LedgerEntry.pay_run_id == pay_run_id)
                                  .order_by(LedgerEntry.created_at, LedgerEntry.idempotency_key)).all()
        return [{"id": e.id, "kind": e.kind, "key": e.idempotency_key, "effective_date": e.effective_date,
                 "reverses": e.reverses_entry_id} for e in entries]
