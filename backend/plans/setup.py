"""Plan setup in one call: employer, plan rules, fund menu and the sponsor admin's invitation, in one transaction."""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.audit import Actor, record_audit
from backend.errors import ValidationFailed
from backend.events import PlanSetUp, publish
from backend.identity.service import Principal
from backend.money import percent_str
from backend.plans import dates
from backend.plans.invitations import invite_sponsor_admin
from backend.plans.models import Employer, Fund, Plan
from backend.plans.pii import PiiVault
from backend.plans.rules import as_date, decimal_or_none, validate_rules
from backend.plans.templates import apply_template


@dataclass
class PlanSetup:
    employer: Employer
    plan: Plan
    sponsor_invitation: dict
    notices: list[str]


def setup_plan(session: Session, vault: PiiVault, actor: Actor, advisor: Principal, data: dict,
               today: date | None = None) -> PlanSetup:
    """Employer, plan, fund menu and the sponsor admin's invitation in one transaction. The invitation's token is
    sent to the sponsor admin; the advisor learns its address and expiry only (with the token they could act as the
    sponsor). `today` (the app's clock) bounds the plan's dates from above; without it only the fixed bounds
    apply."""
    rules = apply_template(data["template"], data["plan"])
    problems, notices = validate_rules(rules, today)
    anchor_problem = dates.plan_date_problem(data["employer"]["payroll"]["anchor_pay_date"], today)
    if anchor_problem:
        problems.append(("employer.payroll.anchor_pay_date", anchor_problem))
    ein = data["employer"]["ein"].replace("-", "")
    ein = f"{ein[:2]}-{ein[2:]}"
    if session.scalar(select(Employer.id).where(Employer.ein == ein)):
        problems.append(("employer.ein", "an employer with this EIN already exists"))
    if problems:
        raise ValidationFailed(problems)

    emp = data["employer"]
    employer = Employer(name=emp["name"], ein=ein, address_line1=emp["address"]["line1"],
                        address_line2=emp["address"].get("line2"), city=emp["address"]["city"],
                        state=emp["address"]["state"], postal_code=emp["address"]["postal_code"],
                        pay_frequency=emp["payroll"]["frequency"], anchor_pay_date=emp["payroll"]["anchor_pay_date"],
                        advisor_user_id=advisor.user_id if advisor.role == "advisor" else None)
    session.add(employer)
    session.flush()
    month, _, day = rules["plan_year_start"].partition("-")
    auto = rules["auto_enrollment"]
    plan = Plan(
        employer_id=employer.id, name=rules.get("name") or f"{emp['name']} 401(k) Plan", template=data["template"],
        effective_date=as_date(rules["effective_date"]), plan_year_start_month=int(month), plan_year_start_day=int(day),
        min_age=rules["eligibility"]["min_age"], service_months=rules["eligibility"]["service_months"],
        entry_frequency=rules["eligibility"]["entry_frequency"],
        long_term_part_time=rules["eligibility"].get("long_term_part_time", True),
        auto_enroll=bool(auto.get("enabled")), auto_enroll_percent=decimal_or_none(auto.get("default_percent")),
        auto_escalate_step_percent=decimal_or_none(auto.get("escalation_step_percent")),
        auto_escalate_cap_percent=decimal_or_none(auto.get("escalation_cap_percent")),
        opt_out_window_days=auto.get("opt_out_window_days"),
        auto_enroll_notice_days=auto.get("notice_days") if auto.get("notice_days") is not None else 30,
        match_tiers=[{k: percent_str(Decimal(str(v))) for k, v in t.items()} for t in rules.get("match_tiers") or []],
        safe_harbor=rules.get("safe_harbor", "none"),
        vesting={source: value if isinstance(value, str) else {k: percent_str(Decimal(v)) for k, v in value.items()}
                 for source, value in (rules.get("vesting") or {}).items()},
        requires_approval=bool(rules.get("requires_approval")), roth_allowed=bool(rules.get("roth_allowed", True)),
        loans_allowed=bool(rules.get("loans_allowed")), hardship_allowed=bool(rules.get("hardship_allowed")),
        compliance_warning_margin=decimal_or_none(rules.get("compliance_warning_margin")) or Decimal(0),
    )
    session.add(plan)
    session.flush()
    for position, fund in enumerate(rules["funds"]):
        session.add(Fund(plan_id=plan.id, ticker=fund["ticker"], name=fund["name"], asset_class=fund.get("asset_class"),
                         is_default=bool(fund.get("default")), position=position))
    invitation = invite_sponsor_admin(session, vault, employer, data["sponsor_admin"]["email"], advisor.user_id)
    record_audit(session, actor, "plan.created", "plan", plan.id, employer_id=employer.id,
                 changes={"template": data["template"], "employer": employer.name, "sponsor_admin": invitation.email})
    session.flush()
    session.refresh(plan)
    session.refresh(employer)
    publish(session, PlanSetUp(plan.id, employer.id, today or plan.effective_date))
    return PlanSetup(employer, plan, {"email": invitation.email,
                                      "expires_at": invitation.expires_at.isoformat()}, notices)


def default_fund(plan: Plan) -> Fund:
    return next(f for f in plan.funds if f.is_default)
