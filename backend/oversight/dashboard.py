"""One plan's dashboard for its sponsor admins, its advisor and the platform: the plan's figures as stored (kept
current by events), with what the sponsor needs to read them (the plan, the year, when they were computed)."""
from datetime import date

from sqlalchemy.orm import Session

from backend.identity import policy
from backend.identity.service import Principal
from backend.money import percent_str
from backend.oversight.figures import Figures, recompute_plan_figures, stored_figures
from backend.plans import service as plans
from backend.plans.schedules import plan_year_bounds

DECIMALS = ("participation_rate", "hce_average_deferral", "nhce_average_deferral", "compliance_margin")


def plan_dashboard(session: Session, principal: Principal, plan_id: str, today: date) -> dict:
    """The dashboard of a plan the caller may see (NotFound otherwise). The stored figures answer when they are of
    this plan year; before a plan's first refresh, or in a new year before the daily pass, they are computed fresh
    (and not stored: a read changes nothing)."""
    policy.VIEW_EMPLOYERS.check(principal)
    plan = plans.plan_for(session, principal, plan_id)
    row = stored_figures(session, plan.id)
    this_year = row is not None and row.as_of >= plan_year_bounds(plan, today)[0]
    figures = Figures.of_row(row) if this_year else \
        recompute_plan_figures(session, plan.id, today)
    return present(figures)


def present(figures: Figures) -> dict:
    """The figures as the API shows them (a dashboard, or a row of the book)."""
    answer = figures.as_dict()
    answer["year"] = figures.as_of.year
    for name in DECIMALS:  # as the compliance state writes them: exact digits, no trailing zeros
        answer[name] = None if answer[name] is None else percent_str(answer[name])
    answer["contributions_by_month"] = [{"month": month, "by_source": dict(sorted(sources.items())),
                                         "total_cents": sum(sources.values())}
                                        for month, sources in sorted(figures.contributions_by_month.items())]
    return answer
