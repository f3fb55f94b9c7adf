"""The ledger: accounts, append-only entries and their lines; fund prices.

Invariants:
- every entry has at least two lines and they sum to zero cents. The database refuses anything else (migration
  0008: triggers on PostgreSQL, a deferred foreign key checked at COMMIT on SQLite), `post_entries` refuses it first
  with a clearer message, and `plumb ledger check` re-checks the stored rows;
- entries and lines are never updated or deleted (database triggers refuse it): corrections are reversing entries;
- every entry carries a unique idempotency key derived from its cause, so posting the same cause twice is a no-op;
- balances are sums of lines; nothing else stores a balance.

`accounts.service.post_entries` is the only way to post: it inserts all the entries, then all their lines in one
statement (COPY on PostgreSQL), in the caller's transaction. The database's balance check relies on that: on
PostgreSQL it runs once per statement over every entry the statement touched, so an entry whose lines were split
over two statements would be refused at the first.
"""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Date, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from backend.db import Base, Cents, Dec, UTCDateTime, new_id, utcnow

BigId = BigInteger().with_variant(Integer, "sqlite")

# Where money sits. payroll_clearing is the outside world's side (money received from payroll); trust_cash is the
# plan's trust account; a participant account holds one participant's money of one source in one fund, and its
# participant_pending twin holds cash bound for that fund until the fund's price for the trade date is known.
ACCOUNT_KINDS = ("payroll_clearing", "trust_cash", "participant", "participant_pending")
SOURCES = ("pretax", "roth", "pretax_catchup", "roth_catchup", "after_tax", "employer_match", "nonelective",
           "safe_harbor", "profit_sharing", "rollover")
EMPLOYEE_SOURCES = ("pretax", "roth", "pretax_catchup", "roth_catchup", "after_tax", "rollover")

# SQLite's half of the balance rule lives in migration 0008, outside these models: a table of the entries that
# balance, kept by a trigger, and a deferred foreign key from every entry to it. Autogenerate and the schema test
# leave them be.
SQLITE_BALANCE_OBJECTS = {("table", "ledger_balanced_entries"), ("foreign_key_constraint", "fk_ledger_entries_balanced")}


def kept_outside_the_models(name: str | None, type_: str) -> bool:
    """Whether a schema object found in the database belongs to the migrations alone (an Alembic include_object
    test: `type_` is "table", "foreign_key_constraint", ...)."""
    return (type_, name) in SQLITE_BALANCE_OBJECTS


def include_object(_object, name, type_, _reflected, _compare_to) -> bool:
    """Alembic's filter: what autogenerate and schema comparisons look at (not the objects kept outside)."""
    return not kept_outside_the_models(name, type_)


class FundPrice(Base):
    __tablename__ = "fund_prices"
    __table_args__ = (UniqueConstraint("fund_id", "price_date", name="uq_fund_prices_day"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    fund_id: Mapped[str] = mapped_column(ForeignKey("funds.id"), index=True)
    price_date: Mapped[date] = mapped_column(Date)
    price: Mapped[Decimal] = mapped_column(Dec(18, 6))
    # "held": it moved more than the plan's band from the fund's last confirmed price, so it buys and values
    # nothing until a second request confirms it (accounts.prices). Only "confirmed" prices trade.
    status: Mapped[str] = mapped_column(String(10), default="confirmed", server_default="confirmed")


class LedgerAccount(Base):
    __tablename__ = "ledger_accounts"
    __table_args__ = (UniqueConstraint("plan_id", "key", name="uq_ledger_accounts_key"),
                      Index("ix_ledger_accounts_employee", "employee_id"))

    # Ids are made here, not by the database, so a pay run's accounts and entries go in as plain bulk inserts.
    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("lac"))
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"))
    key: Mapped[str] = mapped_column(String(120))  # kind[:employee:source:fund|cash], unique within the plan
    kind: Mapped[str] = mapped_column(String(20))
    employee_id: Mapped[str | None] = mapped_column(ForeignKey("employees.id"))
    source: Mapped[str | None] = mapped_column(String(20))
    fund_id: Mapped[str | None] = mapped_column(ForeignKey("funds.id"))


class LedgerEntry(Base):
    __tablename__ = "ledger_entries"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=lambda: new_id("len"))
    plan_id: Mapped[str] = mapped_column(ForeignKey("plans.id"), index=True)
    idempotency_key: Mapped[str] = mapped_column(String(160), unique=True)
    # deposit | contribution | investment | reversal | price_correction (one entry per purchase made at a price
    # later corrected: the purchase sold back at the wrong price and bought again at the right one, in the same
    # account; keyed "price-fix:<the entry whose purchase it corrects>", so each purchase is corrected once)
    kind: Mapped[str] = mapped_column(String(20))
    effective_date: Mapped[date] = mapped_column(Date)  # the pay date the money belongs to
    trade_date: Mapped[date | None] = mapped_column(Date)  # when it bought units (null: not invested yet)
    employee_id: Mapped[str | None] = mapped_column(String(32), index=True)
    pay_run_id: Mapped[str | None] = mapped_column(String(32), index=True)
    reverses_entry_id: Mapped[str | None] = mapped_column(ForeignKey("ledger_entries.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class LedgerLine(Base):
    __tablename__ = "ledger_lines"
    # A plan's sums by employee read lines by account: covering the amount, units and entry keeps those lookups in
    # the index, which PostgreSQL prefers to scanning every account of the book (migration 0019).
    __table_args__ = (Index("ix_ledger_lines_account_id", "account_id",
                            postgresql_include=["amount_cents", "units", "entry_id"]),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    entry_id: Mapped[str] = mapped_column(ForeignKey("ledger_entries.id"), index=True)
    account_id: Mapped[str] = mapped_column(ForeignKey("ledger_accounts.id"))
    amount_cents: Mapped[int] = mapped_column(Cents)
    units: Mapped[Decimal | None] = mapped_column(Dec(20, 6))
    price: Mapped[Decimal | None] = mapped_column(Dec(18, 6))
    # The day of the fund price the units were bought at, so a corrected price finds every purchase made at it
    # (null on cash lines, and on purchases posted before migration 0011: those are found by the entry's trade date).
    price_date: Mapped[date | None] = mapped_column(Date)
