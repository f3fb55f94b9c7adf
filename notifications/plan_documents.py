"""Participants told that a new summary of their plan is available when its rules are amended (ERISA 104(b)(1))."""
from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.events import PlanRulesChanged
from backend.identity.service import participant_accounts
from backend.plans.models import Employee
from notifications.service import Notice, notify_many

KIND = "plan_summary_updated"


def tell_summary_updated(session: Session, event: PlanRulesChanged) -> None:
    """Every participant of the employer with an account hears of the amended plan, in their language (subscribed
    after the documents are restated, so the summary they open is the new one)."""
    employee_ids = session.scalars(select(Employee.id).where(Employee.employer_id == event.employer_id))
    accounts = participant_accounts(session, employee_ids)
    params = {"plan_id": event.plan_id, "effective_date": event.effective_on.isoformat()}
    notify_many(session, [Notice(user_id, KIND, params, subject_id=event.plan_id)
                          for user_id in sorted(accounts.values())])
