"""Plans' public face: what other packages and the HTTP layer call. Each rule lives in the module named after its
subject (access, templates, rules, setup, census, vesting); this module re-exports them."""
from backend.plans.amendments import amend_rules, rules_of
from backend.plans.access import current_plan, employee_for, employer_for, employers_visible_to, plan_for, plan_ids
from backend.plans.census import (CensusInterrupted, census_rows, employees_by_id, external_ids, employees_page_query,
                                  load_census, load_census_in_batches, validate_census)
from backend.plans.invitations import (invitation_status, resend_employee_invitation, resend_sponsor_invitation,
                                       unlink_account)
from backend.plans.rules import match_tiers, price_move_band, set_price_move_band
from backend.plans.setup import default_fund, setup_plan

__all__ = ["amend_rules", "rules_of", "current_plan", "employee_for", "employer_for", "employers_visible_to", "plan_for", "plan_ids",
           "external_ids", "census_rows", "employees_by_id", "employees_page_query", "load_census", "validate_census",
           "load_census_in_batches", "CensusInterrupted",
           "match_tiers", "price_move_band", "set_price_move_band", "default_fund", "setup_plan", "invitation_status",
           "resend_employee_invitation", "resend_sponsor_invitation", "unlink_account"]
