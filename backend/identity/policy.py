"""Who may do what: the one authorization policy.

Two questions, each answered here once:
- may this caller use this operation at all? An `Ability` names the roles it is granted to. Route decorators ask it
  (a 403 before the view runs, documented in the OpenAPI document) and services ask the same ability again, so a
  service called from the CLI, a job or another service cannot be used past the rule;
- may this caller see this object? `may_see_employer`: a sponsor admin sees their employer, an advisor the
  employers they serve, the platform every one. Services that load an object by id ask it and answer NotFound
  otherwise, so ids of other tenants reveal nothing.
"""
from dataclasses import dataclass

from backend.errors import Forbidden
from backend.identity.service import Principal

PARTICIPANT, SPONSOR_ADMIN, ADVISOR, PLATFORM_ADMIN = "participant", "sponsor_admin", "advisor", "platform_admin"
# The employer's side: its own admins, the advisor who serves it, the platform.
STAFF = frozenset({SPONSOR_ADMIN, ADVISOR, PLATFORM_ADMIN})
# The plan sponsor's own decisions (approving elections, resolving payroll exceptions): not the advisor's.
SPONSOR = frozenset({SPONSOR_ADMIN, PLATFORM_ADMIN})


@dataclass(frozen=True)
class Ability:
    """Something a caller may do, and the roles that may do it."""

    name: str
    roles: frozenset[str]
    refusal: str

    def allows(self, principal: Principal) -> bool:
        return principal.role in self.roles

    def check(self, principal: Principal) -> None:
        if not self.allows(principal):
            raise Forbidden(self.refusal)


SIGNED_IN = Ability("signed in", frozenset({PARTICIPANT, SPONSOR_ADMIN, ADVISOR, PLATFORM_ADMIN}),
                    "This needs a signed-in user.")
STAFF_FEED = Ability("read the staff notification feed", STAFF,
                     "This feed is for staff; participants read theirs under /mobile/v1/me/notifications.")
PARTICIPATE = Ability("act as a participant", frozenset({PARTICIPANT}), "This is for participants.")
SET_UP_PLANS = Ability("set up plans", frozenset({ADVISOR, PLATFORM_ADMIN}),
                       "Only advisors and the platform set up plans.")
# A book of plans spans employers: the advisor's own, or every one for the platform; a sponsor sees its plan's dashboard.
VIEW_BOOK = Ability("see a book of plans across employers", frozenset({ADVISOR, PLATFORM_ADMIN}),
                    "The book of plans is for advisors; a sponsor reads its plan's dashboard.")
# The plan's documents bind the employer: its own admin signs them; the advisor may send the admin a signing link.
SIGN_DOCUMENTS = Ability("sign the plan's documents", frozenset({SPONSOR_ADMIN}),
                         "Only the sponsor's admin signs the plan's documents.")
SEND_SIGNING_LINKS = Ability("send a signing link", frozenset({SPONSOR_ADMIN, ADVISOR, PLATFORM_ADMIN}),
                             "Only the plan's advisor or the sponsor's admin sends a signing link.")
VIEW_EMPLOYERS = Ability("see employers, plans and their records", STAFF,
                         "This is for the employer's admins and its advisor.")
MANAGE_EMPLOYERS = Ability("change employers' records (census, fund prices, settings)", STAFF,
                           "Only the sponsor, its advisor or the platform may change this employer.")
# Where the employer's payroll data (employees, their rates) is sent is the sponsor's decision (security review H-1).
CONNECT_PAYROLL = Ability("connect a payroll provider (where payroll data is sent)", SPONSOR,
                          "Only the sponsor chooses where the employer's payroll data is sent.")
APPROVE_ELECTIONS = Ability("approve or reject elections", SPONSOR, "Only the sponsor approves elections.")
UNLINK_ACCOUNTS = Ability("unlink a participant account claimed by the wrong person", SPONSOR,
                          "Only the sponsor unlinks a participant's account.")
RESOLVE_PAYROLL = Ability("upload pay runs, resolve payroll exceptions and retry payroll messages", SPONSOR,
                          "Only the sponsor resolves payroll exceptions and uploads pay runs.")


def may_see_employer(principal: Principal, employer) -> bool:
    """Whether the caller may see this employer and everything under it (its plans, census, money, messages)."""
    if principal.role == PLATFORM_ADMIN:
        return True
    if principal.role == SPONSOR_ADMIN:
        return principal.employer_id == employer.id
    if principal.role == ADVISOR:
        return employer.advisor_user_id == principal.user_id
    return False


def may_see_employee(principal: Principal, employee, employer) -> bool:
    """A participant sees only their own record; the employer's side sees its employees."""
    if principal.role == PARTICIPANT:
        return principal.employee_id == employee.id
    return may_see_employer(principal, employer)
