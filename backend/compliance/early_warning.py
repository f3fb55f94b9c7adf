"""The early warning a sponsor gets when the plan's projection turns at risk or its margin narrow: the numbers
and the fix for each test concerned, stored and published for notifications (which read them back here)."""
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.compliance.models import ComplianceWarning
from backend.events import ComplianceWarningRaised, publish
from backend.plans.models import Plan


def raise_warning(session: Session, plan: Plan, year: int, state: dict) -> ComplianceWarning:
    """Warn about `state` (its status at risk or narrow margin)."""
    projection = state["projection"]
    if state["status"] == "at_risk":
        tests = state["failing_tests"]
        names = " and ".join(name.upper() for name in tests)
        message = (f"At the current elections the plan is on track to fail its {year} {names} test "
                   + "; ".join(f"({name.upper()}: HCEs {projection[name]['hce_average']}% against a limit of "
                               f"{projection[name]['limit']}%)" for name in tests)
                   + ". There is still time to act: see the fix for each test.")
    else:
        tests = state["narrow_margin_tests"]
        message = (f"The plan's {year} projection passes, but by less than its warning margin of "
                   f"{state['warning_margin']} points: "
                   + "; ".join(f"{name.upper()} HCEs {projection[name]['hce_average']}% against a limit of "
                               f"{projection[name]['limit']}% (margin {projection[name]['margin']})" for name in tests)
                   + ". The highest deferral percent HCEs can elect is in the fix.")
    fix = {name: {key: projection[name].get(key) for key in ("refunds", "recharacterized_catch_up", "qnec",
                                                              "nhce_increase", "hce_ratio_cap", "limit", "margin")}
           for name in tests}
    warning = ComplianceWarning(plan_id=plan.id, year=year, status=state["status"],
                                failing_tests=state["failing_tests"], narrow_margin_tests=state["narrow_margin_tests"],
                                fix=fix, message=message)
    session.add(warning)
    session.flush()
    publish(session, ComplianceWarningRaised(plan.id, warning.id, warning.status))
    return warning


def warning_by_id(session: Session, warning_id: str) -> ComplianceWarning | None:
    return session.get(ComplianceWarning, warning_id)


def warnings_raised(session: Session, plan_ids, start: datetime, end: datetime) -> list[ComplianceWarning]:
    """The warnings of these plans raised from `start` (inclusive) to `end` (exclusive), oldest first."""
    ids = list(plan_ids)
    if not ids:
        return []
    return list(session.scalars(select(ComplianceWarning).where(
        ComplianceWarning.plan_id.in_(ids), ComplianceWarning.raised_at >= start, ComplianceWarning.raised_at < end)
        .order_by(ComplianceWarning.raised_at, ComplianceWarning.id)))
