"""What payroll has paid, read from the posted pay statements: the one definition of "posted pay over a period"
that payroll's 401(a)(17) cap and the compliance tests (this year's pay, last year's for HCE status) use."""
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

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
