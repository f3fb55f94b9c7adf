"""Recordkeeping: posting balanced entries, reversing them, fund prices, balances, vesting.

Posting is built for whole pay runs: accounts are created and entries and lines inserted in a few bulk statements,
never one row at a time, and a cause already posted (same idempotency key) is skipped by the database itself."""
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from backend.accounts.models import (FundPrice, LedgerAccount, LedgerEntry, LedgerLine)
from backend.db import any_of, bulk_insert, chunks, new_ids, utcnow
from backend.money import percent_of_cents, percent_str, value_cents
from backend.plans.vesting import plan_vested_percent, years_of_service

CHUNK = 2000


class LedgerImbalance(ValueError):
    """An entry whose lines do not sum to zero, or that has fewer than two lines (no lines at all, say): a bug,
    never a user error. The database refuses such an entry too; this says which cause it came from."""


# Named tuples: a pay run makes tens of thousands of account refs and lines, and a tuple is built in half the time of
# a frozen dataclass (whose every field is set through object.__setattr__); an account's key costs an f-string.
class AccountRef(NamedTuple):
    kind: str
    employee_id: str | None = None
    source: str | None = None
    fund_id: str | None = None

    @property
    def key(self) -> str:
        if self.kind in _CASH_KINDS:
            return self.kind
        return f"{self.kind}:{self.employee_id}:{self.source}:{self.fund_id}"


_CASH_KINDS = frozenset(("payroll_clearing", "trust_cash"))
PAYROLL_CLEARING = AccountRef("payroll_clearing")
TRUST_CASH = AccountRef("trust_cash")


class LineSpec(NamedTuple):
    account: AccountRef
    amount_cents: int
    units: Decimal | None = None
    price: Decimal | None = None
    price_date: date | None = None  # the day of the fund price `units` were bought at


@dataclass
class EntrySpec:
    key: str
    kind: str
    effective_date: date
    lines: list[LineSpec]
    employee_id: str | None = None
    pay_run_id: str | None = None
    trade_date: date | None = None
    reverses_entry_id: str | None = None


def ensure_accounts(session: Session, plan_id: str, refs) -> dict[str, str]:
    """Account ids by key, creating the missing ones in bulk."""
    wanted = {ref.key: ref for ref in refs}
    ids: dict[str, str] = {}
    if len(wanted) > CHUNK:
        # A whole pay run's worth: reading the plan's accounts beats sending thousands of keys to look up.
        ids.update(session.execute(select(LedgerAccount.key, LedgerAccount.id)
                                   .where(LedgerAccount.plan_id == plan_id)).all())
    else:
        ids.update(session.execute(select(LedgerAccount.key, LedgerAccount.id).where(
            LedgerAccount.plan_id == plan_id, LedgerAccount.key.in_(list(wanted)))).all())
    rows = []
    missing = [key for key in wanted if key not in ids]
    for key, account_id in zip(missing, new_ids("lac", len(missing))):
        ref = wanted[key]
        ids[key] = account_id
        rows.append({"id": account_id, "plan_id": plan_id, "key": key, "kind": ref.kind,
                     "employee_id": ref.employee_id, "source": ref.source, "fund_id": ref.fund_id})
    bulk_insert(session, LedgerAccount.__table__, rows)
    return ids


def post_entries(session: Session, plan_id: str, specs: list[EntrySpec]) -> dict[str, str]:
    """Post balanced entries; returns {idempotency key: entry id} for the ones posted now. Entries whose key is
    already in the ledger are left alone, so posting the same cause again changes nothing.

    The only way to post: all the entries go in first, then all their lines in one statement, which is what the
    database's balance check expects (see `accounts.models`). A cause that moves no money posts no entry: the caller
    leaves it out, and an entry without lines here is a bug."""
    for spec in specs:
        if len(spec.lines) < 2:
            raise LedgerImbalance(f"entry {spec.key} has {len(spec.lines)} line(s): an entry needs two or more")
        if sum(line.amount_cents for line in spec.lines) != 0:
            raise LedgerImbalance(f"entry {spec.key} does not balance")
    existing: set[str] = set()
    run_ids = {s.pay_run_id for s in specs}
    if None not in run_ids and len(specs) > CHUNK:
        # Keys carry their pay run: look the run's entries up rather than send every key.
        existing.update(session.scalars(select(LedgerEntry.idempotency_key)
                                        .where(LedgerEntry.pay_run_id.in_(list(run_ids)))))
    else:
        for batch in chunks([s.key for s in specs], CHUNK):
            existing.update(session.scalars(select(LedgerEntry.idempotency_key)
                                            .where(LedgerEntry.idempotency_key.in_(batch))))
    fresh = [s for s in specs if s.key not in existing]
    if not fresh:
        return {}
    accounts = ensure_accounts(session, plan_id, [line.account for s in fresh for line in s.lines])
    posted = dict(zip((s.key for s in fresh), new_ids("len", len(fresh))))
    now = utcnow()
    bulk_insert(session, LedgerEntry.__table__, [
        {"id": posted[s.key], "plan_id": plan_id, "idempotency_key": s.key, "kind": s.kind,
         "effective_date": s.effective_date, "trade_date": s.trade_date, "employee_id": s.employee_id,
         "pay_run_id": s.pay_run_id, "reverses_entry_id": s.reverses_entry_id, "created_at": now} for s in fresh])
    bulk_insert(session, LedgerLine.__table__, [
        {"entry_id": posted[s.key], "account_id": accounts[line.account.key], "amount_cents": line.amount_cents,
         "units": line.units, "price": line.price, "price_date": line.price_date} for s in fresh for line in s.lines])
    return posted


def reversal_specs(session: Session, entry_ids: list[str]) -> list[EntrySpec]:
    """Entries that undo `entry_ids` exactly (amounts and units), each keyed by the entry it reverses and dated
    like it, so a correction nets against the pay date it corrects (and the calendar year 402(g) counts)."""
    specs: dict[str, EntrySpec] = {}
    rows = []
    for batch in chunks(entry_ids, CHUNK):
        rows.extend(session.execute(
            select(LedgerEntry.id, LedgerEntry.employee_id, LedgerEntry.pay_run_id, LedgerEntry.trade_date,
                   LedgerEntry.effective_date,
                   LedgerAccount.kind, LedgerAccount.employee_id, LedgerAccount.source, LedgerAccount.fund_id,
                   LedgerLine.amount_cents, LedgerLine.units, LedgerLine.price, LedgerLine.price_date)
            .join(LedgerLine, LedgerLine.entry_id == LedgerEntry.id)
            .join(LedgerAccount, LedgerAccount.id == LedgerLine.account_id)
            .where(LedgerEntry.id.in_(batch)).order_by(LedgerEntry.id, LedgerLine.id)))
    for (entry_id, employee_id, pay_run_id, trade_date, effective_date, kind, account_employee, source, fund_id,
         amount, units, price, price_date) in rows:
        spec = specs.get(entry_id)
        if spec is None:
            spec = specs[entry_id] = EntrySpec(key=f"reversal:{entry_id}", kind="reversal", effective_date=effective_date,
                                               lines=[], employee_id=employee_id, pay_run_id=pay_run_id,
                                               trade_date=trade_date, reverses_entry_id=entry_id)
        spec.lines.append(LineSpec(AccountRef(kind, account_employee, source, fund_id), -amount,
                                   None if units is None else -units, price, price_date))
    return list(specs.values())


def reverse_pay_run_entries(session: Session, plan_id: str, pay_run_id: str, *, employee_id: str | None = None,
                            kind: str | None = None) -> None:
    """Reverse (never edit) a pay run's entries not reversed yet: every one of a superseded run, or one
    participant's contribution taken back when the sponsor corrects or rejects their statement. A contribution's
    price corrections (entries carrying its pay run) go with it, or its units would outlive it."""
    scope = [LedgerEntry.pay_run_id == pay_run_id, LedgerEntry.kind != "reversal"]
    if employee_id is not None:
        scope.append(LedgerEntry.employee_id == employee_id)
    if kind is not None:
        scope.append(LedgerEntry.kind.in_((kind, "price_correction")) if kind == "contribution"
                     else LedgerEntry.kind == kind)
    entry_ids = list(session.scalars(select(LedgerEntry.id).where(*scope)))
    reversed_ids = set(session.scalars(select(LedgerEntry.reverses_entry_id).where(
        LedgerEntry.pay_run_id == pay_run_id, LedgerEntry.kind == "reversal")))
    post_entries(session, plan_id, reversal_specs(session, [e for e in entry_ids if e not in reversed_ids]))


# ---- prices ----------------------------------------------------------------------------------------------------

def trade_prices(session: Session, fund_ids, on_or_after: date) -> dict[str, tuple[date, Decimal]]:
    """For each fund, the first day with a confirmed price on or after a date and its price (funds not yet priced
    are absent). A held price trades nothing until it is confirmed."""
    first = (select(FundPrice.fund_id, func.min(FundPrice.price_date).label("day"))
             .where(FundPrice.fund_id.in_(list(fund_ids)), FundPrice.price_date >= on_or_after,
                    FundPrice.status == "confirmed")
             .group_by(FundPrice.fund_id).subquery())
    rows = session.execute(select(FundPrice.fund_id, FundPrice.price_date, FundPrice.price).join(
        first, and_(first.c.fund_id == FundPrice.fund_id, first.c.day == FundPrice.price_date)))
    return {fund_id: (day, price) for fund_id, day, price in rows}


def price_history(session: Session, fund_ids, until: date) -> dict[str, list[tuple[date, Decimal]]]:
    """Each fund's confirmed prices up to a day, oldest first (held prices value nothing)."""
    history: dict[str, list] = defaultdict(list)
    for fund_id, day, price in session.execute(select(FundPrice.fund_id, FundPrice.price_date, FundPrice.price).where(
            FundPrice.fund_id.in_(list(fund_ids)), FundPrice.price_date <= until,
            FundPrice.status == "confirmed").order_by(FundPrice.price_date)):
        history[fund_id].append((day, price))
    return history


def price_on(history: list[tuple[date, Decimal]], day: date) -> Decimal | None:
    """The last price on or before `day` (history ascending)."""
    found = None
    for price_day, price in history:
        if price_day > day:
            break
        found = price
    return found


# ---- balances --------------------------------------------------------------------------------------------------

@dataclass
class Position:
    source: str
    fund_id: str
    cost_cents: int
    units: Decimal
    value_cents: int
    pending: bool = False  # cash waiting for the fund's first price on or after its pay date


@dataclass
class Balance:
    as_of: date
    positions: list[Position] = field(default_factory=list)

    @property
    def total_cents(self) -> int:
        return sum(p.value_cents for p in self.positions)

    @property
    def cost_cents(self) -> int:
        return sum(p.cost_cents for p in self.positions)


def _lines_query(who, until: date | None):
    query = (select(LedgerEntry.effective_date, LedgerAccount.source, LedgerAccount.fund_id, LedgerLine.amount_cents,
                    LedgerLine.units, LedgerAccount.kind, LedgerEntry.kind, LedgerEntry.pay_run_id, LedgerEntry.id,
                    LedgerAccount.employee_id)
             .join(LedgerLine, LedgerLine.entry_id == LedgerEntry.id)
             .join(LedgerAccount, LedgerAccount.id == LedgerLine.account_id)
             .where(who, LedgerAccount.kind.in_(("participant", "participant_pending"))))
    if until is not None:
        query = query.where(LedgerEntry.effective_date <= until)
    return query.order_by(LedgerEntry.effective_date, LedgerEntry.id)


def participant_lines(session: Session, employee_id: str, until: date | None = None):
    """(effective date, source, fund, cents, units, account kind, entry kind, pay run, entry, employee) of every
    line in the participant's accounts, oldest first."""
    return session.execute(_lines_query(LedgerAccount.employee_id == employee_id, until)).all()


def participant_lines_of(session: Session, employee_ids, until: date | None = None) -> dict[str, list]:
    """`participant_lines` of many employees at once, by employee (one query per 5,000 people, through the
    accounts' employee index): what a sponsor's list of a whole plan reads instead of a query per person."""
    found: dict[str, list] = defaultdict(list)
    for chunk in chunks(list(dict.fromkeys(employee_ids))):
        for line in session.execute(_lines_query(any_of(session, LedgerAccount.employee_id, chunk), until)):
            found[line[-1]].append(line)
    return found


def balance_from_lines(lines, history: dict, as_of: date) -> Balance:
    totals: dict[tuple, list] = {}
    for effective, source, fund_id, cents, units, account_kind, *_ in lines:
        if effective > as_of:
            continue
        slot = totals.setdefault((source, fund_id, account_kind == "participant_pending"), [0, Decimal(0)])
        slot[0] += cents
        slot[1] += units or 0
    balance = Balance(as_of)
    for (source, fund_id, pending), (cost, units) in sorted(totals.items()):
        if pending:
            value = cost
        else:
            price = price_on(history.get(fund_id, []), as_of)
            value = value_cents(units, price) if price is not None else cost
        if cost or units:
            balance.positions.append(Position(source, fund_id, cost, units, value, pending))
    return balance


def plan_assets_cents(session: Session, plan, as_of: date) -> int:
    """The plan's participant money at market value on a day: each participant's holding of a source in a fund,
    summed in the database and valued exactly as their own balance values it (`balance_from_lines`: units at the
    fund's last confirmed price, cost while the money waits to be invested), so the plan's assets are the sum of its
    participants' balances to the cent."""
    holdings = session.execute(
        select(LedgerAccount.employee_id, LedgerAccount.source, LedgerAccount.fund_id, LedgerAccount.kind,
               func.sum(LedgerLine.amount_cents), func.sum(LedgerLine.units))
        .join(LedgerLine, LedgerLine.account_id == LedgerAccount.id)
        .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
        .where(LedgerAccount.plan_id == plan.id, LedgerAccount.kind.in_(("participant", "participant_pending")),
               LedgerEntry.effective_date <= as_of)
        .group_by(LedgerAccount.employee_id, LedgerAccount.source, LedgerAccount.fund_id, LedgerAccount.kind))
    by_employee: dict[str, list] = defaultdict(list)
    for employee_id, source, fund_id, kind, cents, units in holdings:
        by_employee[employee_id].append((as_of, source, fund_id, int(cents or 0), Decimal(units or 0), kind))
    history = price_history(session, [f.id for f in plan.funds], as_of)
    return sum(sum(p.value_cents for p in balance_from_lines(lines, history, as_of).positions)
               for lines in by_employee.values())


# ---- what the participant sees ---------------------------------------------------------------------------------

def participant_summary(session: Session, employee, plan, as_of: date) -> dict:
    """Balance today: total, vested, by source, by fund, with gain or loss against what went in."""
    lines = participant_lines(session, employee.id, as_of)
    return summary_from_lines(lines, price_history(session, [f.id for f in plan.funds], as_of), employee, plan, as_of)


def participant_summaries(session: Session, employees, plan, as_of: date,
                          lines_by_employee: dict[str, list] | None = None) -> dict[str, dict]:
    """`participant_summary` of many employees of a plan, by employee id, in two queries (their lines, the funds'
    prices) whatever their number; the figures are the phone's own, computed by the same function. Pass the lines
    when already read (up to `as_of` or beyond: later lines are left out)."""
    if lines_by_employee is None:
        lines_by_employee = participant_lines_of(session, [e.id for e in employees], as_of)
    history = price_history(session, [f.id for f in plan.funds], as_of)
    return {e.id: summary_from_lines(lines_by_employee.get(e.id, ()), history, e, plan, as_of) for e in employees}


def summary_from_lines(lines, history: dict, employee, plan, as_of: date) -> dict:
    """The balance summary of one participant from their ledger lines and the funds' price history."""
    funds = {f.id: f for f in plan.funds}
    balance = balance_from_lines(lines, history, as_of)
    years = years_of_service(employee.hire_date, as_of)
    by_source: dict[str, dict] = {}
    by_fund: dict[str, dict] = {}
    for position in balance.positions:
        if position.source not in by_source:
            by_source[position.source] = {"source": position.source, "value_cents": 0, "cost_cents": 0,
                                          "vested_percent": plan_vested_percent(plan, position.source, years)}
        source = by_source[position.source]
        source["value_cents"] += position.value_cents
        source["cost_cents"] += position.cost_cents
        fund = funds[position.fund_id]
        if fund.id not in by_fund:
            by_fund[fund.id] = {"fund_id": fund.id, "ticker": fund.ticker, "name": fund.name, "units": Decimal(0),
                                "value_cents": 0, "cost_cents": 0, "pending_cents": 0,
                                "price": price_on(history.get(fund.id, []), as_of)}
        row = by_fund[fund.id]
        row["units"] += position.units
        row["value_cents"] += position.value_cents
        row["cost_cents"] += position.cost_cents
        if position.pending:
            row["pending_cents"] += position.value_cents
    for source in by_source.values():
        source["vested_cents"] = percent_of_cents(source["value_cents"], source["vested_percent"])
        source["gain_cents"] = source["value_cents"] - source["cost_cents"]
    for fund in by_fund.values():
        fund["gain_cents"] = fund["value_cents"] - fund["cost_cents"]
    total = balance.total_cents
    return {"as_of": as_of, "total_cents": total, "cost_cents": balance.cost_cents,
            "gain_cents": total - balance.cost_cents,
            "vested_cents": sum(s["vested_cents"] for s in by_source.values()),
            "by_source": sorted(by_source.values(), key=lambda s: s["source"]),
            "by_fund": sorted(by_fund.values(), key=lambda f: f["ticker"])}


def price_corrections_of(session: Session, employee_id: str, tickers: dict[str, str]) -> list[dict]:
    """The participant's purchases repriced because a fund price was corrected, oldest first: for each, the pay
    date of the money, the fund and price day, the wrong and right prices, the units sold back and bought again."""
    rows = session.execute(
        select(LedgerEntry.id, LedgerEntry.effective_date, LedgerEntry.created_at, LedgerAccount.fund_id,
               LedgerLine.price_date, LedgerLine.price, LedgerLine.units)
        .join(LedgerLine, LedgerLine.entry_id == LedgerEntry.id)
        .join(LedgerAccount, LedgerAccount.id == LedgerLine.account_id)
        .where(LedgerEntry.employee_id == employee_id, LedgerEntry.kind == "price_correction",
               LedgerAccount.kind == "participant")
        .order_by(LedgerEntry.created_at, LedgerEntry.id, LedgerLine.id)).all()
    corrections: dict[str, dict] = {}
    for entry_id, effective, created_at, fund_id, price_day, price, units in rows:
        found = corrections.setdefault(entry_id, {
            "kind": "price_correction", "pay_date": effective, "corrected_at": created_at, "fund_id": fund_id,
            "ticker": tickers.get(fund_id), "price_date": price_day, "from_price": None, "to_price": None,
            "units_sold": Decimal(0), "units_bought": Decimal(0)})
        # Each entry sells back at the wrong price (negative units) and buys again at the right one.
        if units < 0:
            found["from_price"] = price
            found["units_sold"] -= units
        else:
            found["to_price"] = price
            found["units_bought"] += units
    for found in corrections.values():
        found["units_sold"], found["units_bought"] = (Decimal(percent_str(found[k])) for k in ("units_sold", "units_bought"))
        found["description"] = (f"Price correction: {found['ticker']} on {found['price_date']} was "
                                f"{percent_str(found['from_price'])}, corrected to {percent_str(found['to_price'])}; "
                                f"{percent_str(found['units_sold'])} units sold back, "
                                f"{percent_str(found['units_bought'])} bought again")
    return list(corrections.values())


def _price_corrections_among(session: Session, lines, employee_id: str, tickers: dict[str, str] | None) -> list[dict]:
    """`price_corrections_of`, asked only when the participant's lines hold a price correction: a correction is
    posted in the participant's own accounts, so lines without one mean there is none to find, and the phone's
    reads skip a query (almost no participant has one). Lines cut off at a day miss only corrections of money
    paid after it, whose price days are later still (a purchase prices on or after its pay date)."""
    if not any(line[6] == "price_correction" for line in lines):
        return []
    return price_corrections_of(session, employee_id, tickers or {})


def contribution_history(session: Session, employee_id: str, tickers: dict[str, str] | None = None) -> list[dict]:
    """Money in per pay date and source, newest first; corrections net against the pay date they correct. A price
    correction moves no money in: it is listed with the pay date whose purchase it repriced."""
    lines = participant_lines(session, employee_id)
    by_date = money_in_by_date(lines)
    corrections = defaultdict(list)
    for found in _price_corrections_among(session, lines, employee_id, tickers):
        corrections[found["pay_date"]].append(found)
    rows = []
    for day in sorted(by_date, reverse=True):
        row = by_date[day]
        rows.append({"pay_date": day, "total_cents": row["total_cents"],
                     "by_source": {k: v for k, v in sorted(row["by_source"].items()) if v},
                     "pay_run_ids": sorted(row["pay_run_ids"])})
        if corrections.get(day):
            rows[-1]["price_corrections"] = corrections[day]
    return rows


# Entries that move money between a participant's own accounts (buying units, repricing them): not money in.
_OWN_MOVES = ("investment", "price_correction")


def money_in_by_date(lines) -> dict[date, dict]:
    """Money in per pay date (by source, in total, with its pay runs) from a participant's ledger lines; corrections
    net against the pay date they correct."""
    by_date: dict[date, dict] = {}
    for effective, source, _fund, cents, _units, _account_kind, entry_kind, pay_run_id, *_ in lines:
        if entry_kind in _OWN_MOVES:
            continue  # buying units moves money between the participant's own accounts: not money in
        row = by_date.setdefault(effective, {"pay_date": effective, "by_source": defaultdict(int), "total_cents": 0,
                                             "pay_run_ids": set()})
        row["by_source"][source] += cents
        row["total_cents"] += cents
        if pay_run_id:
            row["pay_run_ids"].add(pay_run_id)
    return by_date


def last_contribution(lines) -> tuple[date, int] | None:
    """The latest pay date whose money in (corrections netted) is not nothing, and that money: the first row of the
    phone's contributions that moved any money."""
    for day, row in sorted(money_in_by_date(lines).items(), reverse=True):
        if row["total_cents"]:
            return day, row["total_cents"]
    return None


def balance_history(session: Session, employee_id: str, fund_ids, until: date,
                    tickers: dict[str, str] | None = None) -> list[dict]:
    """Value and money in at each day something changed (a contribution or a price), for the phone's chart. The
    values are at the prices as corrected; a corrected price's day lists the correction."""
    lines = participant_lines(session, employee_id, until)
    if not lines:
        return []
    history = price_history(session, fund_ids, until)
    first = lines[0][0]
    days = sorted({l[0] for l in lines} | {d for points in history.values() for d, _ in points if d >= first})
    corrections = defaultdict(list)
    for found in _price_corrections_among(session, lines, employee_id, tickers):
        corrections[found["price_date"]].append(found)
    series = []
    for day in days:
        balance = balance_from_lines(lines, history, day)
        point = {"date": day, "value_cents": balance.total_cents, "contributed_cents": balance.cost_cents}
        if corrections.get(day):
            point["price_corrections"] = corrections[day]
        series.append(point)
    return series


def check_ledger(session: Session) -> list[str]:
    """Every invariant the ledger promises, checked against the stored rows; returns the problems found."""
    problems = []
    unbalanced = session.execute(select(LedgerLine.entry_id, func.sum(LedgerLine.amount_cents))
                                 .group_by(LedgerLine.entry_id).having(func.sum(LedgerLine.amount_cents) != 0)).all()
    problems += [f"entry {entry_id} does not balance: off by {total} cents" for entry_id, total in unbalanced]
    empty = session.scalars(select(LedgerEntry.id).where(~LedgerEntry.id.in_(select(LedgerLine.entry_id)))).all()
    problems += [f"entry {entry_id} has no lines" for entry_id in empty]
    twice = session.execute(select(LedgerEntry.reverses_entry_id, func.count()).where(LedgerEntry.reverses_entry_id.is_not(None))
                            .group_by(LedgerEntry.reverses_entry_id).having(func.count() > 1)).all()
    problems += [f"entry {entry_id} is reversed {count} times" for entry_id, count in twice]
    for plan_id, total in session.execute(select(LedgerAccount.plan_id, func.sum(LedgerLine.amount_cents))
                                          .join(LedgerLine, LedgerLine.account_id == LedgerAccount.id)
                                          .group_by(LedgerAccount.plan_id)).all():
        if total != 0:
            problems.append(f"plan {plan_id}: accounts sum to {total} cents, not zero")
    return problems
