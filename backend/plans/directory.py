"""Who serves which plan, for the notifiers: each plan's employer and name, and the plans each advisor serves
(an advisor serves every plan of the employers they set up: `Employer.advisor_user_id`)."""
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.plans.models import Employer, Plan


@dataclass(frozen=True)
class PlanLabel:
    """A plan as a notification names it."""

    plan_id: str
    plan_name: str
    employer_id: str
    employer_name: str
    advisor_user_id: str | None


def plan_labels(session: Session, plan_ids) -> dict[str, PlanLabel]:
    """{plan id: its label} for the known plans among `plan_ids`, in one query."""
    ids = list(dict.fromkeys(plan_ids))
    if not ids:
        return {}
    rows = session.execute(select(Plan.id, Plan.name, Employer.id, Employer.name, Employer.advisor_user_id)
                           .join(Employer, Employer.id == Plan.employer_id).where(Plan.id.in_(ids))).all()
    return {r[0]: PlanLabel(*r) for r in rows}


def plans_by_advisor(session: Session) -> dict[str, list[str]]:
    """{advisor user id: the ids of the plans they serve}, for every employer with an advisor."""
    served: dict[str, list[str]] = {}
    for advisor_id, plan_id in session.execute(
            select(Employer.advisor_user_id, Plan.id).join(Plan, Plan.employer_id == Employer.id)
            .where(Employer.advisor_user_id.is_not(None)).order_by(Plan.created_at, Plan.id)):
        served.setdefault(advisor_id, []).append(plan_id)
    return served
