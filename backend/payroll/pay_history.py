"""What payroll has paid, read from the posted pay statements: the one definition of "posted pay over a period"
that payroll's 401(a)(17) cap and the compliance tests (this year's pay, last year's for HCE status) use; and
what each posted statement put into an account, for the notices that tell participants."""
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.enrollment.models import MONEY_TYPES as DEFERRAL_TYPES
from backend.payroll.models import PayRun, PayStatement

PAY_COLUMNS = {"plan_compensation": PayStatement.plan_compensation_cents, "gross": PayStatement.gross_cents}


def posted_pay(session: Session, plan_id: str, start: date, end: date, *, column: str = "plan_compensation",
               employee_id: str | None = None) -> dict[str, int]:
    """{employee id: cents} of a pay-statement column over the plan's posted statements paid from `start` to
    `end` (superseded run versions and held or rejected statements left out)."""
    who = PayStatement.employee_id == employee_id if employee_id else PayStatement.employee_id.is_not(None)
    return {k: int(v) for k, v in session.execute(
        select(PayStatement.employee_id, func.sum(PAY_COLUMNS[column]))
        .join(PayRun, PayRun.id == PayStatement.pay_run_id)
        .where(PayRun.plan_id == plan_id, PayRun.status != "superseded", PayStatement.status == "posted",
               PayRun.pay_date.between(start, end), who)
        .group_by(PayStatement.employee_id)).all()}


def payroll_covers_year(session: Session, plan_id: str, year: int) -> bool:
    """Whether the plan's own pay runs cover the whole calendar year (the first pay date is in January), so
    their pay can stand for the year's compensation."""
    first = session.scalar(select(func.min(PayRun.pay_date)).where(
        PayRun.plan_id == plan_id, PayRun.status != "superseded",
        PayRun.pay_date.between(date(year, 1, 1), date(year, 12, 31))))
    return first is not None and first <= date(year, 1, 31)


@dataclass(frozen=True)
class HeldStatements:
    """How many of a pay run's statements wait in the sponsor's exceptions queue."""

    pay_run_id: str
    employer_id: str
    pay_date: date
    held: int


def held_statements(session: Session, pay_run_id: str) -> HeldStatements | None:
    """The pay run's held statements (None for an unknown run)."""
    run = session.get(PayRun, pay_run_id)
    if run is None:
        return None
    held = session.scalar(select(func.count()).select_from(PayStatement).where(
        PayStatement.pay_run_id == pay_run_id, PayStatement.status == "held"))
    return HeldStatements(run.id, run.employer_id, run.pay_date, held)


@dataclass(frozen=True)
class PostedStatement:
    """What one posted pay statement put into one employee's account, and on what plan pay (the notices of a
    pay run read it)."""

    statement_id: str
    employee_id: str
    pay_date: date
    run_type: str
    plan_compensation_cents: int
    deferral_cents: int  # every deferral money type together (pre-tax, Roth, catch-up)
    match_cents: int


def posted_statements(session: Session, pay_run_id: str, part: tuple[int, int] | None = None) -> list[PostedStatement]:
    """The posted statements of one pay run, with their plan pay, in their order on the run: one query. `part`
    (index, size) reads only that slice of them (a large run is told in parts)."""
    query = (select(PayStatement.id, PayStatement.employee_id, PayRun.pay_date, PayRun.run_type,
                    PayStatement.plan_compensation_cents, PayStatement.withholdings, PayStatement.employer_match_cents)
             .join(PayRun, PayRun.id == PayStatement.pay_run_id)
             .where(PayStatement.pay_run_id == pay_run_id, PayStatement.status == "posted")
             .order_by(PayStatement.position, PayStatement.id))
    if part is not None:
        index, size = part
        query = query.offset(index * size).limit(size)
    rows = session.execute(query).all()
    return [PostedStatement(sid, who, pay_date, run_type, comp, sum((held or {}).get(t, 0) for t in DEFERRAL_TYPES),
                            match) for sid, who, pay_date, run_type, comp, held, match in rows]


def recent_regular_pay(session: Session, plan_id: str, before: date, count: int = 3) -> dict[str, list[int]]:
    """{employee id: plan pay of their last `count` posted statements of regular pay runs paid before `before`},
    newest first, for the whole plan in one query (a window over each employee's statements). Bonus, off-cycle
    and correction runs are left out: they say nothing about a raise."""
    ranked = (select(PayStatement.employee_id, PayStatement.plan_compensation_cents,
                     func.row_number().over(partition_by=PayStatement.employee_id,
                                            order_by=(PayRun.pay_date.desc(), PayRun.id.desc())).label("n"))
              .join(PayRun, PayRun.id == PayStatement.pay_run_id)
              .where(PayRun.plan_id == plan_id, PayRun.status != "superseded", PayRun.run_type == "regular",
                     PayStatement.status == "posted", PayRun.pay_date < before)).subquery()
    pay: dict[str, list[int]] = {}
    for who, cents in session.execute(select(ranked.c.employee_id, ranked.c.plan_compensation_cents)
                                      .where(ranked.c.n <= count).order_by(ranked.c.employee_id, ranked.c.n)):
        pay.setdefault(who, []).append(int(cents))
    return pay


def posted_statement_count(session: Session, pay_run_id: str) -> int:
    """How many statements of one pay run posted."""
    return session.scalar(select(func.count()).select_from(PayStatement).where(
        PayStatement.pay_run_id == pay_run_id, PayStatement.status == "posted"))


def first_pay_date(session: Session, plan_id: str) -> date | None:
    """The pay date of the plan's first pay run that reached the ledger, or None before any did."""
    return session.scalar(select(func.min(PayRun.pay_date)).where(PayRun.plan_id == plan_id,
                                                                  PayRun.status != "superseded"))
