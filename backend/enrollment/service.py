"""Enrollment's public face: what other packages and the HTTP layer call. Each rule lives in the module named after
its subject (determinations, sign-up, elections, approvals, payroll messages, choices); this module re-exports them."""
from backend.enrollment.approvals import (approval_queue_query, approve_election, decide, election_etag, election_for,
                                          payroll_stages)
from backend.enrollment.choices import (allocations_by_employee, current_beneficiaries, deferral_limits, current_investments,
                                        declare_outside_deferrals, outside_deferrals_in_year, outside_deferrals_of,
                                        set_beneficiaries, set_investments)
from backend.enrollment.determinations import (determine_eligibility, eligibility_of, eligibility_rules,
                                               entry_dates_and_statuses, refresh_eligibility, status_on)
from backend.enrollment.elections import (ElectionTerms, LineTerms, MatchPreview, age_at_year_end, approved_elections,
                                          election_in_effect, elections_of, mark_observed, next_effective_date, opt_out,
                                          preview_match, scheduled_election, submit_election, validate_lines)
from backend.enrollment.payroll_messages import line_dict, payroll_recipient, send_deferral_change
from backend.enrollment.signup import participant_employee, sign_up

__all__ = ["approval_queue_query", "approve_election", "decide", "election_etag", "election_for", "payroll_stages",
           "allocations_by_employee", "deferral_limits", "outside_deferrals_in_year", "entry_dates_and_statuses",
           "ElectionTerms", "LineTerms", "approved_elections", "current_beneficiaries", "current_investments", "declare_outside_deferrals", "outside_deferrals_of",
           "set_beneficiaries", "set_investments", "determine_eligibility", "eligibility_of", "eligibility_rules",
           "refresh_eligibility", "status_on", "MatchPreview", "age_at_year_end", "election_in_effect",
           "elections_of", "mark_observed", "next_effective_date", "opt_out", "preview_match", "scheduled_election",
           "submit_election", "validate_lines", "line_dict", "payroll_recipient", "send_deferral_change",
           "participant_employee", "sign_up"]
