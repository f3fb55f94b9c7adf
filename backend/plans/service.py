"""Plans' public face: what other packages and the HTTP layer call. Each rule lives in the module named after its
subject (access, templates, rules, setup, census, vesting); this module re-exports them."""
from backend.plans.access import current_plan, employee_for, employer_for, employers_visible_to, plan_for
from backend.plans.census import (CensusResult, census_rows, employees_page_query, hours_by_period, load_census,
                                  validate_census)
from backend.plans.rules import match_tiers, validate_rules
from backend.plans.setup import PlanSetup, default_fund, setup_plan
from backend.plans.templates import DEFAULT_FUNDS, TEMPLATES, apply_template
from backend.plans.vesting import plan_vested_percent, years_of_service

__all__ = ["current_plan", "employee_for", "employer_for", "employers_visible_to", "plan_for", "CensusResult",
           "census_rows", "employees_page_query", "hours_by_period", "load_census", "validate_census", "match_tiers",
           "validate_rules", "PlanSetup", "default_fund", "setup_plan", "DEFAULT_FUNDS", "TEMPLATES",
           "apply_template", "plan_vested_percent", "years_of_service"]
