"""Enrollment's public face: what other packages and the HTTP layer call. Each rule lives in the module named after
its subject (determinations, sign-up, elections, approvals, payroll messages, choices); this module re-exports them."""
from backend.enrollment.approvals import approval_queue_query, decide
from backend.enrollment.choices import (allocations_by_employee, beneficiary_count, current_beneficiaries,
                                        current_investments, declare_outside_deferrals, deferral_limits, outside_deferrals_in_year,
                                        outside_deferrals_of, set_beneficiaries, set_investments)
from backend.enrollment.determinations import (eligibility_of, entry_dates_and_statuses, refresh_eligibility,
                                              status_on, statuses_on)
from backend.enrollment.elections import (approved_elections, catch_up_eligible, election_in_effect, elections_of,
                                          mark_observed, opt_out, pay_per_paycheck, preview_match, scheduled_election,
                                          submit_election, validate_lines)
from backend.enrollment.payroll_messages import payroll_recipient, send_deferral_change
from backend.enrollment.signup import participant_employee, sign_up

__all__ = ["approval_queue_query", "decide", "allocations_by_employee", "deferral_limits", "outside_deferrals_in_year",
           "entry_dates_and_statuses", "approved_elections", "current_beneficiaries", "current_investments",
           "declare_outside_deferrals", "outside_deferrals_of", "set_beneficiaries", "set_investments",
           "eligibility_of", "refresh_eligibility", "status_on", "statuses_on", "beneficiary_count", "catch_up_eligible",
           "election_in_effect",
           "elections_of", "mark_observed", "opt_out", "preview_match", "scheduled_election", "submit_election",
           "validate_lines", "pay_per_paycheck", "payroll_recipient", "send_deferral_change", "participant_employee", "sign_up"]
