"""A plan's elected provisions as plain JSON values: what its documents are drawn up from, what they store, and what
an amendment compares to list the provisions it changes."""
import hashlib
import json
from decimal import Decimal

from backend.money import percent_str
from backend.plans.models import Employer, Plan

# The order the provisions are listed in (an amendment lists its changes in this order too).
PROVISION_KEYS = ("plan", "sponsor", "trustee", "plan_year_start", "eligibility", "auto_enrollment", "match_tiers",
                  "safe_harbor", "vesting", "roth_allowed", "catch_up_allowed", "loans_allowed", "hardship_allowed",
                  "default_fund")


def _pct(value: Decimal | None) -> str | None:
    return None if value is None else percent_str(Decimal(value))


def provisions_of(plan: Plan, employer: Employer) -> dict:
    """Every provision the plan elected, as JSON values (percents as text, dates ISO)."""
    default = next((f for f in plan.funds if f.is_default), None)
    address = ", ".join(part for part in (employer.address_line1, employer.address_line2, employer.city,
                                          f"{employer.state} {employer.postal_code}") if part)
    return {
        "plan": {"name": plan.name, "effective_date": plan.effective_date.isoformat()},
        "sponsor": {"name": employer.name, "ein": employer.ein, "address": address},
        # Plumb keeps no separate trustee yet: the employer holds the plan's assets in trust as its trustee
        # (ERISA 403(a) lets the plan name the sponsor), until it appoints another.
        "trustee": {"name": employer.name, "capacity": "employer_as_trustee"},
        "plan_year_start": f"{plan.plan_year_start_month:02d}-{plan.plan_year_start_day:02d}",
        "eligibility": {"min_age": plan.min_age, "service_months": plan.service_months,
                        "entry_frequency": plan.entry_frequency, "long_term_part_time": plan.long_term_part_time},
        "auto_enrollment": {"enabled": plan.auto_enroll, "default_percent": _pct(plan.auto_enroll_percent),
                            "escalation_step_percent": _pct(plan.auto_escalate_step_percent),
                            "escalation_cap_percent": _pct(plan.auto_escalate_cap_percent),
                            "opt_out_window_days": plan.opt_out_window_days,
                            "notice_days": plan.auto_enroll_notice_days},
        "match_tiers": [{k: percent_str(Decimal(str(t[k]))) for k in
                         ("deferral_from_percent", "deferral_to_percent", "match_rate_percent")}
                        for t in plan.match_tiers or []],
        "safe_harbor": plan.safe_harbor,
        "vesting": {source: value for source, value in sorted((plan.vesting or {}).items())},
        "roth_allowed": plan.roth_allowed, "catch_up_allowed": plan.catch_up_allowed,
        "loans_allowed": plan.loans_allowed, "hardship_allowed": plan.hardship_allowed,
        "default_fund": {"ticker": default.ticker, "name": default.name} if default else None,
    }


def digest_of(provisions: dict) -> str:
    """The provisions' SHA-256 over their canonical JSON: equal provisions, equal digest."""
    return hashlib.sha256(json.dumps(provisions, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def changed_provisions(before: dict, after: dict) -> list[str]:
    """The provisions that differ, in listing order."""
    return [key for key in PROVISION_KEYS if before.get(key) != after.get(key)]
