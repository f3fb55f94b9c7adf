"""Worked examples of double-entry recordkeeping, one textbook case each, posted through `post_entries` and
`reversal_specs` on a real database and checked against every account's balance (cents, and units where money
bought them). Accounts are named by key: `payroll_clearing` (the outside world: payroll), `trust_cash` (the plan's
trust account), `participant:<employee>:<source>:<fund>` and its `participant_pending` twin (cash waiting for the
fund's price)."""
from datetime import date
from decimal import Decimal

import pytest

from backend.accounts.models import LedgerEntry, LedgerLine
from backend.accounts.service import (PAYROLL_CLEARING, TRUST_CASH, AccountRef, EntrySpec, LedgerImbalance, LineSpec,
                                      contribution_history, reversal_specs)
from backend.accounts.money_in import money_in_by_source

PAY_DATE = date(2026, 11, 20)


def participant(books, employee: str, source: str, ticker: str, pending: bool = False) -> AccountRef:
    kind = "participant_pending" if pending else "participant"
    return AccountRef(kind, books.employees[employee], source, books.funds[ticker])


def deposit(key: str, cents: int, on: date = PAY_DATE) -> EntrySpec:
    """Payroll sends the plan's money to the trust."""
    return EntrySpec(key=key, kind="deposit", effective_date=on,
                     lines=[LineSpec(PAYROLL_CLEARING, -cents), LineSpec(TRUST_CASH, cents)])


def test_a_payroll_deposit_moves_cash_from_payroll_clearing_into_trust_cash(books):
    # Payroll withholds $90.00 of pre-tax deferrals and adds a $90.00 match: $180.00 arrives in the trust.
    books.post(deposit("deposit:run-1", 18000))

    assert books.balances() == {"payroll_clearing": (-18000, 0), "trust_cash": (18000, 0)}


def test_a_contribution_split_across_two_funds_buys_units_at_each_funds_price(books):
    # $150.00 of pre-tax money, invested 60% in PLTDX at $25.00 and 40% in PLBDX at $10.00:
    # $90.00 / $25.00 = 3.6 units and $60.00 / $10.00 = 6 units.
    employee = books.employees["E1"]
    books.post(deposit("deposit:run-1", 15000), EntrySpec(
        key=f"contribution:run-1:{employee}", kind="contribution", effective_date=PAY_DATE, employee_id=employee,
        trade_date=PAY_DATE, lines=[
            LineSpec(participant(books, "E1", "pretax", "PLTDX"), 9000, Decimal("3.6"), Decimal("25.00")),
            LineSpec(participant(books, "E1", "pretax", "PLBDX"), 6000, Decimal("6"), Decimal("10.00")),
            LineSpec(TRUST_CASH, -15000)]))

    assert books.balances() == {
        "payroll_clearing": (-15000, 0),
        "trust_cash": (0, 0),
        f"participant:{employee}:pretax:{books.funds['PLTDX']}": (9000, Decimal("3.6")),
        f"participant:{employee}:pretax:{books.funds['PLBDX']}": (6000, Decimal("6")),
    }


def test_money_held_as_pending_cash_is_invested_at_the_price_that_arrives_later(books):
    # $90.00 arrives before PLTDX has a price for the pay date: it waits as cash bound for the fund, then buys
    # 3 units when the fund's first price on or after the pay date, $30.00, is loaded.
    employee = books.employees["E1"]
    pending = participant(books, "E1", "pretax", "PLTDX", pending=True)
    invested = participant(books, "E1", "pretax", "PLTDX")
    posted = books.post(deposit("deposit:run-1", 9000), EntrySpec(
        key=f"contribution:run-1:{employee}", kind="contribution", effective_date=PAY_DATE, employee_id=employee,
        lines=[LineSpec(pending, 9000), LineSpec(TRUST_CASH, -9000)]))

    assert books.balances()[pending.key] == (9000, 0)
    assert invested.key not in books.balances()

    contribution = posted[f"contribution:run-1:{employee}"]
    books.post(EntrySpec(key=f"invest:{contribution}", kind="investment", effective_date=PAY_DATE,
                         employee_id=employee, trade_date=date(2026, 11, 23), lines=[
                             LineSpec(pending, -9000),
                             LineSpec(invested, 9000, Decimal("3"), Decimal("30.00"))]))

    balances = books.balances()
    assert balances[pending.key] == (0, 0)
    assert balances[invested.key] == (9000, Decimal("3"))
    assert balances["trust_cash"] == (0, 0)


def test_a_reversal_undoes_an_entry_exactly_cents_and_units(books):
    employee = books.employees["E1"]
    pretax = participant(books, "E1", "pretax", "PLTDX")
    match = participant(books, "E1", "employer_match", "PLTDX")
    posted = books.post(deposit("deposit:run-1", 13000), EntrySpec(
        key=f"contribution:run-1:{employee}", kind="contribution", effective_date=PAY_DATE, employee_id=employee,
        trade_date=PAY_DATE, lines=[
            LineSpec(pretax, 9000, Decimal("3.6"), Decimal("25.00")),
            LineSpec(match, 4000, Decimal("1.6"), Decimal("25.00")),
            LineSpec(TRUST_CASH, -13000)]))
    contribution = posted[f"contribution:run-1:{employee}"]

    with books.db.transaction() as session:
        [reversal] = reversal_specs(session, [contribution])
    reversed_now = books.post(reversal)

    balances = books.balances()
    assert balances[pretax.key] == (0, 0) and balances[match.key] == (0, 0)
    assert balances["trust_cash"] == (13000, 0)  # the money is back in trust cash, as before the contribution
    entry = books.entry(reversed_now[f"reversal:{contribution}"])
    assert (entry.kind, entry.reverses_entry_id, entry.effective_date) == ("reversal", contribution, PAY_DATE)


def test_a_correction_nets_against_the_pay_date_it_corrects(books):
    # Payroll withheld $90.00 on November 20 but should have withheld $120.00. The fix, posted in January, reverses
    # the contribution and posts the right one, both dated November 20: the participant's history shows $120.00 on
    # that pay date, and 2026's deferrals (the calendar year 402(g), IRC 402(g)(1), counts) are $120.00, not $210.00.
    employee = books.employees["E1"]
    pretax = participant(books, "E1", "pretax", "PLTDX")

    def contribution(key: str, cents: int) -> EntrySpec:
        return EntrySpec(key=key, kind="contribution", effective_date=PAY_DATE, employee_id=employee,
                         lines=[LineSpec(pretax, cents), LineSpec(TRUST_CASH, -cents)])

    posted = books.post(deposit("deposit:run-1", 9000), contribution(f"contribution:run-1:{employee}", 9000))
    with books.db.transaction() as session:
        reversal = reversal_specs(session, [posted[f"contribution:run-1:{employee}"]])
    books.post(deposit("deposit-adjustment:run-1:r1", 3000), *reversal,
               contribution(f"contribution:run-1:{employee}:r1", 12000))

    with books.db.transaction() as session:
        in_2026 = money_in_by_source(session, books.plan_id, date(2026, 1, 1), date(2026, 12, 31), employee_id=employee)
        assert in_2026 == {employee: {"pretax": 12000}}
        assert money_in_by_source(session, books.plan_id, date(2027, 1, 1), date(2027, 12, 31)) == {}
        history = contribution_history(session, employee)
    assert [(row["pay_date"], row["total_cents"], row["by_source"]) for row in history] == [
        (PAY_DATE, 12000, {"pretax": 12000})]
    assert books.balances()[pretax.key] == (12000, 0)
    assert books.balances()["trust_cash"] == (0, 0)


def test_posting_the_same_idempotency_key_again_changes_nothing(books):
    first = books.post(deposit("deposit:run-1", 18000))
    before = books.balances(), books.count(LedgerEntry), books.count(LedgerLine)

    again = books.post(deposit("deposit:run-1", 18000))
    # Even a different amount under the same key: the key names the cause, and that cause is already posted.
    different = books.post(deposit("deposit:run-1", 99900))

    assert list(first) == ["deposit:run-1"]
    assert again == {} and different == {}
    assert (books.balances(), books.count(LedgerEntry), books.count(LedgerLine)) == before


@pytest.mark.parametrize("lines", [
    [],
    [LineSpec(TRUST_CASH, 0)],
    [LineSpec(PAYROLL_CLEARING, -18000), LineSpec(TRUST_CASH, 17999)],
], ids=["no lines", "one line", "lines that do not sum to zero"])
def test_post_entries_refuses_an_entry_that_does_not_balance_or_has_fewer_than_two_lines(books, lines):
    before = books.count(LedgerEntry), books.count(LedgerLine)
    with pytest.raises(LedgerImbalance, match="deposit:bad"):
        books.post(EntrySpec(key="deposit:bad", kind="deposit", effective_date=PAY_DATE, lines=lines))
    assert (books.count(LedgerEntry), books.count(LedgerLine)) == before
