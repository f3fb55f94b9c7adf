"""Investing: cash that waited in a participant's pending account buys units when its fund's first confirmed price
on or after the money's pay date arrives.

There is deliberately no limit on how long after the pay date that price may be (the security review suggested
one): a price dated after today is refused at the door and one far off the fund's last price is held
(`accounts.prices`), so the first confirmed price on or after the pay date is a real price of a day that has
passed, and the day the cash could first be invested. Cash that no price may buy would wait with no way out; a
price that was wrong is corrected instead, which reprices every purchase made at it."""
from collections import defaultdict
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.accounts.models import LedgerAccount, LedgerEntry, LedgerLine
from backend.accounts.service import AccountRef, EntrySpec, LineSpec, post_entries, trade_prices
from backend.money import units_for


def invest_pending(session: Session, plan) -> int:
    """Buy units for cash waiting in pending accounts, at each fund's first price on or after the money's pay
    date. Returns how many entries were posted. Safe to run any number of times."""
    rows = session.execute(
        select(LedgerEntry.id, LedgerEntry.effective_date, LedgerAccount.employee_id, LedgerAccount.source,
               LedgerAccount.fund_id, LedgerLine.amount_cents)
        .join(LedgerLine, LedgerLine.entry_id == LedgerEntry.id)
        .join(LedgerAccount, LedgerAccount.id == LedgerLine.account_id)
        .where(LedgerAccount.plan_id == plan.id, LedgerAccount.kind == "participant_pending",
               LedgerEntry.kind == "contribution")).all()
    done = set(session.scalars(select(LedgerEntry.idempotency_key).where(
        LedgerEntry.plan_id == plan.id, LedgerEntry.idempotency_key.like("invest:%"))))
    reversed_ids = set(session.scalars(select(LedgerEntry.reverses_entry_id).where(
        LedgerEntry.plan_id == plan.id, LedgerEntry.kind == "reversal")))
    by_entry: dict[tuple, list] = defaultdict(list)
    for entry_id, effective, employee_id, source, fund_id, cents in rows:
        if entry_id not in reversed_ids:
            by_entry[(entry_id, effective, employee_id)].append((source, fund_id, cents))
    specs = []
    # One price lookup per pay date, for every fund waiting to be invested (not one per contribution).
    waiting_funds = list({fund_id for parts in by_entry.values() for _, fund_id, _ in parts})
    prices_by_day: dict[date, dict] = {}
    for (entry_id, effective, employee_id), parts in by_entry.items():
        key = f"invest:{entry_id}"
        if key in done:
            continue
        if effective not in prices_by_day:
            prices_by_day[effective] = trade_prices(session, waiting_funds, effective)
        prices = prices_by_day[effective]
        if any(fund_id not in prices for _, fund_id, _ in parts):
            continue  # some fund is still unpriced: invest the whole contribution together later
        lines = []
        for source, fund_id, cents in parts:
            day, price = prices[fund_id]
            lines.append(LineSpec(AccountRef("participant_pending", employee_id, source, fund_id), -cents))
            lines.append(LineSpec(AccountRef("participant", employee_id, source, fund_id), cents,
                                  units_for(cents, price), price, day))
        specs.append(EntrySpec(key=key, kind="investment", effective_date=effective, lines=lines,
                               employee_id=employee_id, trade_date=max(prices[f][0] for _, f, _ in parts)))
    post_entries(session, plan.id, specs)
    return len(specs)
