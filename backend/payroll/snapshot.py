"""Everything a pay run's checks and posting need about the plan and its people, read up front in a few queries
through the modules that own the data (eligibility and elections from enrollment, money in from the ledger, pay
from payroll's own history), so the findings and the postings are computed over plain values.

The year-to-date figures move as statements are processed: someone paid twice in one run has the first
paycheck counted before the second is checked."""
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.accounts import service as ledger
from backend.accounts.money_in import money_in_by_source
from backend.enrollment import service as enrollment
from backend.enrollment.elections import ElectionTerms
from backend.enrollment.models import MONEY_TYPES as DEFERRAL_TYPES
from backend.irs import limits as irs
from backend.irs.deferrals import deferral_room_cents
from backend.payroll.pay_history import posted_pay
from backend.plans import service as plans
from backend.plans.models import Employee, Employer, Plan
from backend.plans.pii import PiiVault


def deferred_cents(withholdings: dict[str, int]) -> int:
    """Elective deferrals on a paycheck: pre-tax and Roth, catch-up columns included (after-tax is not one)."""
    return sum(withholdings.get(t, 0) for t in DEFERRAL_TYPES)


@dataclass
class RunSnapshot:
    employer: Employer
    pay_date: date
    limits: irs.IrsLimits
    tiers: list
    default_fund: str
    by_id: dict  # employee id → the employee (a row or an object with id, external_id, names, dates)
    entry_dates: dict[str, date | None]
    statuses: dict[str, str]
    elections: dict[str, ElectionTerms]  # the election in effect on the pay date, by employee
    allocations: dict[str, list[tuple[str, Decimal]]]
    prices: dict[str, tuple[date, Decimal]]  # fund id → (trade date, price): the first price on or after pay date
    # Age at the end of the pay date's year; reads the sealed date of birth, so only asked near the 402(g) limit.
    age_at_year_end: Callable[[str], int]
    outside_deferrals: dict[str, int]  # declared at other employers this calendar year
    ytd_deferrals: dict[str, int] = field(default_factory=lambda: defaultdict(int))  # here, every column
    ytd_comp: dict[str, int] = field(default_factory=lambda: defaultdict(int))
    _asked: dict[tuple[str, int], dict[str, int]] = field(default_factory=dict, repr=False)

    def external_id(self, employee_id: str) -> str:
        return self.by_id[employee_id].external_id

    def election_asks(self, employee_id: str, compensation_cents: int) -> dict[str, int]:
        """What the election in effect asks payroll to withhold from a paycheck of `compensation_cents`, in cents
        by money type (nothing without an election). The checks and the 402(g) cap-and-stop both ask it of every
        paycheck; it is worked out once."""
        asked = self._asked.get((employee_id, compensation_cents))
        if asked is None:
            election = self.elections.get(employee_id)
            asked = {line.money_type: line.cents_of(compensation_cents) for line in election.lines} if election else {}
            self._asked[employee_id, compensation_cents] = asked
        return asked

    def deferral_room_cents(self, employee_id: str, deferred: int) -> int:
        """What the person may still defer this calendar year (IRC 402(g)(1), 414(v)), here and at other
        employers together. The age (a sealed date of birth) is read only when `deferred` passes the room
        without catch-up."""
        here, elsewhere = self.ytd_deferrals[employee_id], self.outside_deferrals.get(employee_id, 0)
        room = deferral_room_cents(self.pay_date.year, None, here, elsewhere)
        if deferred <= room:
            return room
        return deferral_room_cents(self.pay_date.year, self.age_at_year_end(employee_id), here, elsewhere)

    def count_posted(self, employee_id: str, withholdings: dict[str, int], plan_compensation_cents: int) -> None:
        """A posted paycheck counts toward the year's deferrals and pay for the person's next one in this run."""
        self.ytd_deferrals[employee_id] += deferred_cents(withholdings)
        self.ytd_comp[employee_id] += plan_compensation_cents


def load_snapshot(session: Session, vault: PiiVault, plan: Plan, employer: Employer, employees: list,
                  pay_date: date, *, employee_id: str | None = None) -> RunSnapshot:
    """The snapshot for a run paid on `pay_date` to `employees`; `employee_id` narrows the reads to one person
    (a payroll exception being resolved)."""
    year_start, year_end = date(pay_date.year, 1, 1), date(pay_date.year, 12, 31)
    eligibility = enrollment.entry_dates_and_statuses(session, employer.id, employee_id)
    in_effect = {who: elections[-1] for who, elections in enrollment.approved_elections(
        session, plan.id, effective_by=pay_date, employee_id=employee_id).items()}

    def age_at_year_end(who: str) -> int:
        return pay_date.year - vault.birth_year(session.scalar(select(Employee.date_of_birth_enc)
                                                               .where(Employee.id == who)))

    snapshot = RunSnapshot(
        employer=employer, pay_date=pay_date, limits=irs.limits_for(pay_date.year),
        tiers=plans.match_tiers(plan), default_fund=plans.default_fund(plan).id,
        by_id={e.id: e for e in employees}, entry_dates={k: v[0] for k, v in eligibility.items()},
        statuses={k: v[1] for k, v in eligibility.items()}, elections=in_effect,
        allocations=enrollment.allocations_by_employee(session, employer.id, employee_id),
        prices=ledger.trade_prices(session, [f.id for f in plan.funds], pay_date),
        age_at_year_end=age_at_year_end,
        outside_deferrals=enrollment.outside_deferrals_in_year(session, employer.id, pay_date.year, employee_id))
    for who, by_source in money_in_by_source(session, plan.id, year_start, year_end, employee_id=employee_id,
                                             sources=DEFERRAL_TYPES).items():
        snapshot.ytd_deferrals[who] += sum(by_source.values())
    snapshot.ytd_comp.update(posted_pay(session, plan.id, year_start, year_end, employee_id=employee_id))
    return snapshot
