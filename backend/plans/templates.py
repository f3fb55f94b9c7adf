"""The plan templates an advisor starts from (safe-harbor match, traditional, starter) and the default fund menu."""
import json
from decimal import Decimal

DEFAULT_FUNDS = [
    {"ticker": "PLTDX", "name": "Plumb Target Date Index (QDIA)", "asset_class": "target_date", "default": True},
    {"ticker": "PLUSX", "name": "Plumb US Total Stock Index", "asset_class": "us_equity", "default": False},
    {"ticker": "PLINX", "name": "Plumb International Stock Index", "asset_class": "intl_equity", "default": False},
    {"ticker": "PLBDX", "name": "Plumb US Bond Index", "asset_class": "bond", "default": False},
    {"ticker": "PLSVX", "name": "Plumb Stable Value", "asset_class": "stable_value", "default": False},
]


_AUTO_ENROLL = {"enabled": True, "default_percent": Decimal(3), "escalation_step_percent": Decimal(1),
                "escalation_cap_percent": Decimal(10), "opt_out_window_days": 90, "notice_days": 30}


TEMPLATES: dict[str, dict] = {
    # A safe-harbor basic match (401(k)(12)(B)): no ADP/ACP testing, match immediately vested.
    "safe_harbor_match": {
        "plan_year_start": "01-01",
        "eligibility": {"min_age": 21, "service_months": 0, "entry_frequency": "monthly", "long_term_part_time": True},
        "auto_enrollment": _AUTO_ENROLL,
        "match_tiers": [{"deferral_from_percent": Decimal(0), "deferral_to_percent": Decimal(3), "match_rate_percent": Decimal(100)},
                        {"deferral_from_percent": Decimal(3), "deferral_to_percent": Decimal(5), "match_rate_percent": Decimal(50)}],
        "safe_harbor": "basic_match",
        "vesting": {"employer_match": "immediate", "profit_sharing": "graded_6"},
        "requires_approval": False, "roth_allowed": True,
    },
    # A tested plan: 50% of the first 6%, graded vesting, a year of service.
    "traditional": {
        "plan_year_start": "01-01",
        "eligibility": {"min_age": 21, "service_months": 12, "entry_frequency": "semi_annual", "long_term_part_time": True},
        "auto_enrollment": _AUTO_ENROLL,
        "match_tiers": [{"deferral_from_percent": Decimal(0), "deferral_to_percent": Decimal(6), "match_rate_percent": Decimal(50)}],
        "safe_harbor": "none",
        "vesting": {"employer_match": "graded_6", "profit_sharing": "graded_6"},
        "requires_approval": True, "roth_allowed": True,
    },
    # Deferrals only: the cheapest plan a small business can offer.
    "starter": {
        "plan_year_start": "01-01",
        "eligibility": {"min_age": 18, "service_months": 0, "entry_frequency": "immediate", "long_term_part_time": True},
        "auto_enrollment": _AUTO_ENROLL,
        "match_tiers": [],
        "safe_harbor": "none",
        "vesting": {},
        "requires_approval": False, "roth_allowed": True,
    },
}


def apply_template(template: str, plan_data: dict) -> dict:
    """The plan's rules: the template's, with whatever the request gave laid over them (nested dicts merged)."""
    merged = json.loads(json.dumps(TEMPLATES[template], default=str))
    for key, value in plan_data.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key != "vesting":
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    if "vesting" in plan_data:
        merged["vesting"] = {**TEMPLATES[template]["vesting"], **plan_data["vesting"]}
    merged.setdefault("funds", DEFAULT_FUNDS)
    return merged
