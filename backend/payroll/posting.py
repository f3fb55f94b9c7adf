"""How a pay run's money is posted: payroll's deposit into the trust, then each posted statement's contribution
from trust cash into the participant's accounts, by source, split over their funds, at the first price on or
after the pay date (or held as pending cash for the fund until that price arrives)."""
from collections import defaultdict

from backend.accounts.service import PAYROLL_CLEARING, TRUST_CASH, AccountRef, EntrySpec, LineSpec
from backend.money import HUNDRED, split_cents, units_for
from backend.payroll.models import PayRun
from backend.payroll.snapshot import RunSnapshot, deferred_cents
from backend.plans import match as match_rules


def computed_match(snapshot: RunSnapshot, employee_id: str, compensation_cents: int,
                   withholdings: dict[str, int]) -> int:
    """The plan formula applied to this pay period, on pay up to the 401(a)(17) limit for the year."""
    return match_rules.match_for_paycheck(snapshot.tiers, compensation_cents, deferred_cents(withholdings),
                                          snapshot.limits.compensation_limit_cents - snapshot.ytd_comp[employee_id])


def contribution_spec(snapshot: RunSnapshot, run: PayRun, statement) -> EntrySpec:
    """Trust cash → the participant's accounts, by source, split over their funds. A statement with nothing
    withheld or matched gives an entry without lines, which is not posted."""
    allocation = snapshot.allocations.get(statement.employee_id) or [(snapshot.default_fund, HUNDRED)]
    amounts = dict(statement.withholdings)
    if statement.employer_match_cents:
        amounts["employer_match"] = statement.employer_match_cents
    lines, total = [], 0
    trade_dates = set()
    for source, cents in amounts.items():
        for (fund_id, _), part in zip(allocation, split_cents(cents, [p for _, p in allocation])):
            if not part:
                continue
            priced = snapshot.prices.get(fund_id)
            if priced is None:
                lines.append(LineSpec(AccountRef("participant_pending", statement.employee_id, source, fund_id), part))
            else:
                trade_dates.add(priced[0])
                lines.append(LineSpec(AccountRef("participant", statement.employee_id, source, fund_id), part,
                                      units_for(part, priced[1]), priced[1], priced[0]))
            total += part
    if total:
        lines.append(LineSpec(TRUST_CASH, -total))
    return EntrySpec(key=f"contribution:{run.id}:{statement.employee_id}", kind="contribution",
                     effective_date=run.pay_date, lines=lines, employee_id=statement.employee_id,
                     pay_run_id=run.id, trade_date=max(trade_dates) if trade_dates else None)


def deposit_spec(run: PayRun, statements: list) -> EntrySpec:
    """Payroll sends everything it withheld and the employer's match to the trust, held statements included: the
    money is in the trust either way, and waits in trust cash until the sponsor resolves the hold."""
    total = sum(sum(st.withholdings.values()) + st.employer_match_cents for st in statements)
    lines = [LineSpec(PAYROLL_CLEARING, -total), LineSpec(TRUST_CASH, total)] if total else []
    return EntrySpec(key=f"deposit:{run.id}", kind="deposit", effective_date=run.pay_date, lines=lines,
                     pay_run_id=run.id)


def run_totals(statements: list) -> dict:
    """A run's posted money by source (held and rejected statements left out)."""
    totals: dict[str, int] = defaultdict(int)
    for st in statements:
        if st.status != "posted":
            continue
        for money_type, cents in st.withholdings.items():
            totals[money_type] += cents
        totals["employer_match"] += st.employer_match_cents
    return dict(totals)
