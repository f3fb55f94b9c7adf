"""The advisor's book of plans: every plan of the employers they serve (every plan for the platform), read from the
precomputed figures in one "needs attention" order, and the advisor's setup pipeline.

The order: attention rank first (at risk, approvals waiting, open payroll exceptions, unsigned documents, past-due
billing, then the plans that need nothing: models.ATTENTION_REASONS), ties broken by employer name, then plan id
(unique), so the order is total and stable for a keyset cursor on (attention_rank, employer_name, plan_id), which
the indexes ix_plan_figures_advisor_order and ix_plan_figures_order serve.
"""
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session

from backend.identity import policy
from backend.identity.service import Principal
from backend.oversight.figures import Figures
from backend.oversight.models import STAGES, PlanFigures

BOOK_ORDER = (PlanFigures.attention_rank, PlanFigures.employer_name, PlanFigures.plan_id)
# Each reason as a condition on the row: a plan is listed under every reason that applies, not only its first.
ATTENTION_FILTERS = {
    "at_risk": PlanFigures.compliance_status == "at_risk",
    "approvals": PlanFigures.pending_approvals > 0,
    "exceptions": PlanFigures.open_exceptions > 0,
    "unsigned_documents": PlanFigures.agreement_signed.is_(False),
    "past_due_billing": PlanFigures.billing_status == "past_due",
}
# The book's two statuses: in setup until the plan takes contributions, then live.
STATUS_STAGES = {"setup": ("created", "documents_signed"), "live": ("live",)}


def _scope(principal: Principal) -> list:
    policy.VIEW_BOOK.check(principal)
    if principal.role == policy.PLATFORM_ADMIN:
        return []
    return [PlanFigures.advisor_user_id == principal.user_id]


def book_query(principal: Principal, *, attention: str | None = None, status: str | None = None) -> Select:
    """The caller's plans (an advisor's own; every plan for the platform), filtered; order and cursor are the
    caller's (`BOOK_ORDER`)."""
    where = _scope(principal)
    if attention is not None:
        where.append(ATTENTION_FILTERS[attention])
    if status is not None:
        where.append(PlanFigures.stage.in_(STATUS_STAGES[status]))
    return select(PlanFigures).where(*where)


def book_key(row: PlanFigures) -> list:
    return [row.attention_rank, row.employer_name, row.plan_id]


def figures_of(row: PlanFigures) -> Figures:
    return Figures.of_row(row)


def pipeline(session: Session, principal: Principal, per_stage: int) -> dict:
    """The setup pipeline: how many plans are in each stage (created, documents signed, live) and the newest
    `per_stage` of each, newest first."""
    where = _scope(principal)
    counts = dict(session.execute(select(PlanFigures.stage, func.count()).where(*where)
                                  .group_by(PlanFigures.stage)).all())
    stages = []
    for stage in STAGES:
        rows = session.scalars(select(PlanFigures).where(*where, PlanFigures.stage == stage)
                               .order_by(PlanFigures.plan_created_at.desc(), PlanFigures.plan_id.desc())
                               .limit(per_stage)).all()
        stages.append({"stage": stage, "count": counts.get(stage, 0),
                       "plans": [{"plan_id": r.plan_id, "plan_name": r.plan_name, "employer_id": r.employer_id,
                                  "employer_name": r.employer_name, "created_at": r.plan_created_at} for r in rows]})
    return {"stages": stages, "total": sum(counts.values())}
