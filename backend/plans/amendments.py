"""Amending a plan's rules after it is set up (the match formula, Roth, loans, hardship): every problem listed, the
change audited, and `PlanRulesChanged` published so the plan's documents are restated and participants told."""
from datetime import date
from decimal import Decimal

from sqlalchemy.orm import Session

from backend.audit import Actor, record_audit
from backend.errors import ValidationFailed
from backend.events import PlanRulesChanged, publish
from backend.money import percent_str
from backend.plans import dates
from backend.plans.models import Plan
from backend.plans.rules import validate_rules

# The provisions an amendment may change here; the others (eligibility, vesting, safe harbor) shape who is owed what
# from the plan's start and change only through a restated plan set up anew.
AMENDABLE = ("match_tiers", "roth_allowed", "loans_allowed", "hardship_allowed")


def rules_of(plan: Plan) -> dict:
    """The plan's stored rules in the shape plan setup takes them, so they can be checked again as a whole."""
    return {
        "name": plan.name, "effective_date": plan.effective_date,
        "plan_year_start": f"{plan.plan_year_start_month:02d}-{plan.plan_year_start_day:02d}",
        "eligibility": {"min_age": plan.min_age, "service_months": plan.service_months,
                        "entry_frequency": plan.entry_frequency, "long_term_part_time": plan.long_term_part_time},
        "auto_enrollment": {"enabled": plan.auto_enroll, "default_percent": plan.auto_enroll_percent,
                            "escalation_step_percent": plan.auto_escalate_step_percent,
                            "escalation_cap_percent": plan.auto_escalate_cap_percent,
                            "opt_out_window_days": plan.opt_out_window_days, "notice_days": plan.auto_enroll_notice_days},
        "match_tiers": list(plan.match_tiers or []), "safe_harbor": plan.safe_harbor, "vesting": dict(plan.vesting or {}),
        "requires_approval": plan.requires_approval, "roth_allowed": plan.roth_allowed,
        "loans_allowed": plan.loans_allowed, "hardship_allowed": plan.hardship_allowed,
        "funds": [{"ticker": f.ticker, "name": f.name, "default": f.is_default} for f in plan.funds],
    }


def _stored_tiers(tiers: list[dict]) -> list[dict]:
    return [{k: percent_str(Decimal(str(v))) for k, v in t.items()} for t in tiers]


def amend_rules(session: Session, actor: Actor, plan: Plan, changes: dict, effective_on: date,
                today: date) -> tuple[str, ...]:
    """Apply `changes` (a subset of AMENDABLE) in force from `effective_on`; the provisions that changed. Nothing
    is stored when any problem is found, and every problem is listed."""
    problems: list[tuple[str, str]] = []
    if effective_on < plan.effective_date:
        problems.append(("effective_on", f"is before the plan's effective date ({plan.effective_date.isoformat()})"))
    elif problem := dates.plan_date_problem(effective_on, today):
        problems.append(("effective_on", problem))
    proposed = {**rules_of(plan), **{key: changes[key] for key in AMENDABLE if key in changes}}
    rule_problems, _ = validate_rules(proposed)
    problems += [(field.removeprefix("plan."), message) for field, message in rule_problems]
    if problems:
        raise ValidationFailed(problems)
    new_values = {"match_tiers": _stored_tiers(changes["match_tiers"]) if "match_tiers" in changes else None,
                  **{key: bool(changes[key]) for key in AMENDABLE[1:] if key in changes}}
    changed = {}
    for key in AMENDABLE:
        if key in changes and getattr(plan, key) != new_values[key]:
            changed[key] = {"from": getattr(plan, key), "to": new_values[key]}
            setattr(plan, key, new_values[key])
    if not changed:
        return ()
    session.flush()
    record_audit(session, actor, "plan.amended", "plan", plan.id, employer_id=plan.employer_id,
                 changes={**changed, "effective_on": effective_on.isoformat()})
    publish(session, PlanRulesChanged(plan.id, plan.employer_id, tuple(changed), effective_on, today))
    return tuple(changed)
