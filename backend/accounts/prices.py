"""Fund prices as they come in (security review H-2): validated at the door, held when they move too far, confirmed
by a second request, and corrected when wrong by repricing every purchase made at them.

- A price is for a day that has passed or is today (`price_date` after the app's today is refused: a fund's price
  is known once its day's trading is over), and not before the plan's effective date, when the menu's funds
  first held money. Funds carry no date of their own, so the plan's effective date is their first use.
- A price moving more than the plan's band (`plans.price_move_band`, 0.25 by default) from the fund's confirmed
  price of the nearest earlier day (or, for a fund's earliest day, the nearest later one) is stored as held: it
  buys and values nothing until confirmed. A fund's very first price has nothing to compare with and is not held.
- Any staff user who may load prices may confirm a held one, the user who loaded it included: the hold catches a
  typo (a second, deliberate look at the figure), and a plan may have a single sponsor admin. The confirmation
  names the price it confirms, so it cannot confirm a figure replaced in between. Both steps are audited with who.
- A correction sets a confirmed price to another value. Every purchase made at it (a line that bought the fund's
  units at that day's price) is sold back at the wrong price and bought again at the corrected one, in one
  `price_correction` entry per purchasing entry, in the same transaction: the ledger stays append-only, the
  participant's money in is unchanged and only the units move. A correction is not held by the band: it is
  itself the deliberate second request about a price already traded.
"""
from bisect import bisect_left, insort
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import and_, exists, or_, select, update
from sqlalchemy.orm import Session, aliased

from backend.accounts.investing import invest_pending
from backend.accounts.models import FundPrice, LedgerAccount, LedgerEntry, LedgerLine
from backend.accounts.service import AccountRef, EntrySpec, LineSpec, post_entries
from backend.audit import record_audit
from backend.db import bulk_insert
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.events import FundPricesChanged, publish
from backend.money import HUNDRED, percent_str, round_half_up, units_for
from backend.plans import service as plans

CORRECTION_KIND = "price_correction"


@dataclass
class PriceLoad:
    """What a load stored (held prices included), which of its rows are held, and the contributions it invested."""

    stored: int = 0
    held: list[dict] = field(default_factory=list)
    invested: int = 0


def exact(price: Decimal) -> Decimal:
    """A price as the database hands it back (10.00 → 10), so answers show one form whichever way it came in."""
    return Decimal(percent_str(price))


def move_percent(price: Decimal, reference: Decimal) -> Decimal:
    """How far `price` is from `reference`, in percent of `reference`, to 2 places (signed)."""
    return round_half_up((price - reference) / reference * HUNDRED, 2)


def beyond_band(price: Decimal, reference: Decimal | None, band: Decimal) -> bool:
    """Whether a price moves more than `band` (a fraction) from the reference price; a first price never does."""
    return reference is not None and abs(price - reference) > band * reference


class _ConfirmedPrices:
    """The confirmed prices of some funds by day, to find the reference a new price is compared with."""

    def __init__(self, rows):
        self.days: dict[str, list[date]] = defaultdict(list)
        self.prices: dict[tuple[str, date], Decimal] = {}
        for fund_id, day, price in rows:
            self.add(fund_id, day, price)

    def add(self, fund_id: str, day: date, price: Decimal) -> None:
        if (fund_id, day) not in self.prices:
            insort(self.days[fund_id], day)
        self.prices[(fund_id, day)] = price

    def reference(self, fund_id: str, day: date) -> tuple[date, Decimal] | None:
        """The confirmed price of the nearest earlier day, else of the nearest later day."""
        days = self.days[fund_id]
        at = bisect_left(days, day)
        if at > 0:
            found = days[at - 1]
        elif at < len(days) and days[at] != day:
            found = days[at]
        elif at + 1 < len(days):
            found = days[at + 1]
        else:
            return None
        return found, self.prices[(fund_id, found)]


def load_prices(session: Session, actor, plan, rows: list[dict], row_label, today: date) -> PriceLoad:
    """Store daily prices ({ticker, price_date, price}) and invest the cash they price. A price already stored
    for that day must match, unless it is held (then the new figure replaces it and is judged again). Every
    problem is listed; nothing is stored on any."""
    funds = {f.ticker: f.id for f in plan.funds}
    problems = []
    seen = {}
    for i, row in enumerate(rows):
        label = row_label(i)
        if row["ticker"] not in funds:
            problems.append((f"{label}.ticker", "is not a fund on this plan's menu"))
        if row["price"] <= 0:
            problems.append((f"{label}.price", "must be above zero"))
        if row["price_date"] > today:
            problems.append((f"{label}.price_date", f"is after today ({today}): a fund's price is known only once "
                                                    "its day's trading is over"))
        elif row["price_date"] < plan.effective_date:
            problems.append((f"{label}.price_date", f"is before the plan's effective date ({plan.effective_date}), "
                                                    "when its funds first held money"))
        key = (row["ticker"], row["price_date"])
        if key in seen:
            problems.append((label, f"repeats {row_label(seen[key])}"))
        seen.setdefault(key, i)
    if problems:
        raise ValidationFailed(problems)
    fund_ids = sorted({funds[r["ticker"]] for r in rows})
    stored = {(p.fund_id, p.price_date): p for p in session.scalars(select(FundPrice).where(
        FundPrice.fund_id.in_(fund_ids), FundPrice.price_date.in_(list({r["price_date"] for r in rows}))))}
    for i, row in enumerate(rows):
        old = stored.get((funds[row["ticker"]], row["price_date"]))
        if old is not None and old.status == "confirmed" and old.price != row["price"]:
            problems.append((f"{row_label(i)}.price", f"{row['ticker']} on {row['price_date']} is already priced at "
                                                      f"{old.price}; correct it with PUT /v1/plans/{plan.id}/"
                                                      f"fund-prices/{row['ticker']}/{row['price_date']}"))
    if problems:
        raise ValidationFailed(problems)

    band = plans.price_move_band(plan)
    confirmed = _ConfirmedPrices(session.execute(select(FundPrice.fund_id, FundPrice.price_date, FundPrice.price)
                                                 .where(FundPrice.fund_id.in_(fund_ids),
                                                        FundPrice.status == "confirmed")))
    result = PriceLoad()
    new = []
    # Day by day, so a run of ordinary daily prices in one file is judged each against the day before.
    for i, row in sorted(enumerate(rows), key=lambda r: (r[1]["ticker"], r[1]["price_date"])):
        # Stored canonical: SQLite keeps a price as text, and finding the purchases made at it compares that text.
        fund_id, day, price = funds[row["ticker"]], row["price_date"], exact(row["price"])
        old = stored.get((fund_id, day))
        if old is not None and old.status == "confirmed":
            continue  # the same figure again: nothing to do
        reference = confirmed.reference(fund_id, day)
        status = "held" if beyond_band(price, reference and reference[1], band) else "confirmed"
        if status == "confirmed":
            confirmed.add(fund_id, day, price)
        else:
            result.held.append({"row": row_label(i), "ticker": row["ticker"], "price_date": day, "price": exact(price),
                                "last_price": reference[1], "last_price_date": reference[0],
                                "move_percent": move_percent(price, reference[1])})
        if old is None:
            new.append({"fund_id": fund_id, "price_date": day, "price": price, "status": status})
        elif old.price != price or old.status != status:
            old.price, old.status = price, status
            result.stored += 1
        if status == "held" and (old is None or old.price != price):
            record_audit(session, actor, "fund_price.held", "fund", fund_id, employer_id=plan.employer_id, changes={
                "ticker": row["ticker"], "price_date": day.isoformat(), "price": percent_str(price),
                "last_price": percent_str(reference[1]), "last_price_date": reference[0].isoformat(),
                "band": percent_str(band)})
    bulk_insert(session, FundPrice.__table__, new)
    result.stored += len(new)
    session.flush()
    result.invested = invest_pending(session, plan)
    if result.stored:
        publish(session, FundPricesChanged(plan_id=plan.id, on=today))
    return result


def _price_row(session: Session, plan, ticker: str, day: date) -> tuple[FundPrice, str]:
    """The stored price of a fund on the plan's menu for a day, locked for the rest of the transaction so that two
    confirmations or corrections of it take turns."""
    fund_id = next((f.id for f in plan.funds if f.ticker == ticker), None)
    if fund_id is None:
        raise NotFound(f"{ticker} is not a fund on this plan's menu.")
    if session.get_bind().dialect.name == "sqlite":
        # SQLite ignores FOR UPDATE and its driver starts a transaction only at the first write, so reads before
        # it see whatever is committed meanwhile: a no-op write takes the database's write lock first.
        session.execute(update(FundPrice).where(FundPrice.fund_id == fund_id, FundPrice.price_date == day)
                        .values(status=FundPrice.status))
    row = session.scalars(select(FundPrice).where(FundPrice.fund_id == fund_id, FundPrice.price_date == day)
                          .with_for_update()).one_or_none()
    if row is None:
        raise NotFound(f"{ticker} has no price for {day}.")
    return row, fund_id


def confirm_price(session: Session, actor, plan, ticker: str, day: date, price: Decimal) -> dict:
    """Confirm a held price (the figure the confirmer saw); the cash it prices buys its units now. Confirming a
    price already confirmed at that figure changes nothing."""
    row, fund_id = _price_row(session, plan, ticker, day)
    if row.price != price:
        raise Conflict(f"{ticker} on {day} is stored at {row.price}, not {price}: nothing was confirmed.",
                       [("price", f"is not the stored price {row.price}")])
    confirmed_now = row.status == "held"
    if confirmed_now:
        row.status = "confirmed"
        record_audit(session, actor, "fund_price.confirmed", "fund", fund_id, employer_id=plan.employer_id,
                     changes={"ticker": ticker, "price_date": day.isoformat(), "price": percent_str(price)})
        session.flush()
        publish(session, FundPricesChanged(plan_id=plan.id, on=day))
    return {"ticker": ticker, "price_date": day, "price": row.price, "status": row.status,
            "invested": invest_pending(session, plan) if confirmed_now else 0}


def _purchases_at(session: Session, fund_id: str, day: date, price: Decimal) -> list[tuple]:
    """Every standing purchase of a fund's units at its price of `day`: lines of participant accounts that bought
    at it, in entries whose purchase was not corrected yet. Lines posted before migration 0011 carry no price day;
    for those the entry's trade date and the price stand in."""
    fix, reversal = aliased(LedgerEntry), aliased(LedgerEntry)
    corrected = exists().where(fix.idempotency_key == "price-fix:" + LedgerEntry.id)
    reversed_ = exists().where(reversal.reverses_entry_id == LedgerEntry.id)
    return session.execute(
        select(LedgerEntry.id, LedgerEntry.kind, LedgerEntry.effective_date, LedgerEntry.trade_date,
               LedgerEntry.employee_id, LedgerEntry.pay_run_id, LedgerAccount.employee_id, LedgerAccount.source,
               LedgerLine.amount_cents, LedgerLine.units)
        .join(LedgerLine, LedgerLine.entry_id == LedgerEntry.id)
        .join(LedgerAccount, LedgerAccount.id == LedgerLine.account_id)
        .where(LedgerAccount.kind == "participant", LedgerAccount.fund_id == fund_id, LedgerLine.price == price,
               LedgerEntry.kind != "reversal",
               or_(LedgerLine.price_date == day,
                   and_(LedgerLine.price_date.is_(None), LedgerEntry.trade_date == day)),
               ~corrected, ~reversed_)
        .order_by(LedgerEntry.id, LedgerLine.id)).all()


def correct_price(session: Session, actor, plan, ticker: str, day: date, price: Decimal) -> dict:
    """Set a confirmed price to the right figure and reprice every purchase made at it: each is sold back at the
    wrong price and bought again at the right one, by an entry of its own (kind price_correction, keyed by the
    entry whose purchase it corrects, carrying that entry's pay date and pay run). Correcting to the stored
    figure changes nothing, so a retried correction is harmless."""
    row, fund_id = _price_row(session, plan, ticker, day)
    price = exact(price)
    if row.status == "held":
        raise Conflict(f"{ticker} on {day} is held for confirmation and bought nothing: load the right figure "
                       "for that day again to replace it, or confirm it.")
    previous = row.price
    answer = {"ticker": ticker, "price_date": day, "price": price, "previous_price": previous,
              "repriced_entries": 0, "participants": 0}
    if previous == price:
        return answer
    specs: dict[str, EntrySpec] = {}
    for (entry_id, kind, effective, trade_date, employee_id, pay_run_id, account_employee, source, cents,
         units) in _purchases_at(session, fund_id, day, previous):
        spec = specs.get(entry_id)
        if spec is None:
            spec = specs[entry_id] = EntrySpec(key=f"price-fix:{entry_id}", kind=CORRECTION_KIND,
                                               effective_date=effective, lines=[], employee_id=employee_id,
                                               pay_run_id=pay_run_id, trade_date=trade_date)
        account = AccountRef("participant", account_employee, source, fund_id)
        spec.lines.append(LineSpec(account, -cents, -units, previous, day))
        spec.lines.append(LineSpec(account, cents, units_for(cents, price), price, day))
    row.price = price
    posted = post_entries(session, plan.id, list(specs.values()))
    answer["repriced_entries"] = len(posted)
    answer["participants"] = len({s.employee_id for s in specs.values() if s.key in posted})
    record_audit(session, actor, "fund_price.corrected", "fund", fund_id, employer_id=plan.employer_id, changes={
        "ticker": ticker, "price_date": day.isoformat(), "price": {"from": percent_str(previous), "to": percent_str(price)},
        "repriced_entries": sorted(posted.values()), "participants": answer["participants"]})
    publish(session, FundPricesChanged(plan_id=plan.id, on=day))
    return answer
