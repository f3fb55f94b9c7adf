"""Object-level authorization: every endpoint is called as each other role and as another employer's user, and
refuses.

Two employers live side by side (world A, the target, and world B, the other employer). For every endpoint of the
app (the table below must cover `app.url_map`, so a new endpoint without a row fails this suite) we check:
no token → 401; a garbage, forged, expired or non-access token → 401; each role the endpoint is not for → 403; a
user of the other employer holding an allowed role → 404 for A's objects (or, where the endpoint has no object in
its path, an answer about their own things only); and none of that changes A's state. Then each allowed role of
A gets a 2xx. Every refusal is an RFC 9457 problem, and every status observed is one the OpenAPI document lists for
that operation (a 403 quoting the refusal the caller got)."""
import itertools
import json
import time
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import Callable

import jwt
import pytest
from standardwebhooks.webhooks import Webhook

from backend.identity import policy
from tests import scenario
from tests.support import run_cli
from tests.support.outbox import drain
from tests.support.problems import PROBLEM, assert_problem
from tests.test_openapi import documented

ADMIN_EMAIL, ADMIN_PASSWORD = "admin@plumb.example.com", "platform-admin-password-1"
ROLES = ("advisor", "sponsor_admin", "participant", "platform_admin")
# Who may call what comes from the policy itself, in a fixed order (the first role's token is the one forged).
STAFF, SPONSOR = tuple(sorted(policy.STAFF, reverse=True)), tuple(sorted(policy.SPONSOR, reverse=True))
PARTICIPANT = tuple(policy.PARTICIPATE.roles)
PLAN_RULES = {"requires_approval": True, "auto_enrollment": {"enabled": True, "default_percent": "3"}}
# Authenticated by a Standard Webhooks signature with the connection's secret, not a bearer token: tested below.
SIGNED = {("POST", "/v1/payroll/connections/<connection_id>/pay-runs"), ("GET", "/v1/payroll/deferral-changes"),
          ("POST", "/v1/payroll/deferral-changes/ack"),
          # Provider webhooks: signature tests in tests/flows/test_payroll_sync.py
          ("POST", "/v1/payroll/connections/<connection_id>/events"),
          # Stripe's webhooks, signed by Stripe (Stripe-Signature): refusals tested in tests/billing/test_billing.py
          ("POST", "/v1/billing/stripe-webhook")}
PUBLIC = {("POST", "/v1/auth/login"), ("POST", "/v1/auth/refresh"), ("POST", "/v1/auth/invitations/accept"),
          ("POST", "/mobile/v1/signup"),
          # A signing link is the credential, no bearer token: tests/documents/test_signing_links.py
          ("GET", "/v1/signing/<token>"), ("POST", "/v1/signing/<token>"), ("GET", "/v1/signing/<token>/pdf"),
          # Liveness and readiness for load balancers: tests/web/test_health.py
          ("GET", "/healthz"), ("GET", "/readyz"),
          # The phone app's public settings (whether push is on): tests/web/test_app_config.py
          ("GET", "/v1/app-config")}
ELECTION = {"lines": [{"money_type": "pretax", "percent": "6"}]}
_unique = itertools.count(1)


# ---- the cast ------------------------------------------------------------------------------------------------------

class Tenant:
    """A scenario.World plus what the authorization checks need: its emails, a pending election, its ids."""

    def __init__(self, app, client, admin_headers, prefix, **names):
        self.client = client
        self.world = scenario.World(app, client, ein_prefix=prefix, **names, **PLAN_RULES)
        self.prefix = prefix
        self.advisor_email = names.get("advisor_email", "advisor@example.com")
        self.sponsor_email = names.get("sponsor_email", "sponsor@example.com")
        self.admin = admin_headers
        self.employee_id = self.world.employee["id"]
        self.funds = [f["id"] for f in self.world.setup["plan"]["funds"]]
        self.election = self.new_election()

    @property
    def employer_id(self):
        return self.world.employer_id

    @property
    def plan_id(self):
        return self.world.plan_id

    def new_election(self, percent="6") -> dict:
        response = self.client.post("/mobile/v1/elections", headers=self.world.participant,
                                    json={"lines": [{"money_type": "pretax", "percent": percent}]})
        assert response.status_code == 201, response.json
        assert response.json["status"] == "pending_approval"
        return response.json

    def headers(self, role: str) -> dict:
        return {"advisor": self.world.advisor, "sponsor_admin": self.world.sponsor,
                "participant": self.world.participant, "platform_admin": self.admin}[role]

    def fresh_headers(self, role: str) -> dict:
        """A new session for `role`, so an endpoint that ends sessions does not end the shared ones."""
        email, password = {
            "advisor": (self.advisor_email, scenario.ADVISOR_PASSWORD),
            "sponsor_admin": (self.sponsor_email, scenario.SPONSOR_PASSWORD),
            "participant": (f"{self.prefix.lower()}1@phone.example.com", scenario.PARTICIPANT_PASSWORD),
            "platform_admin": (ADMIN_EMAIL, ADMIN_PASSWORD)}[role]
        return scenario.login(self.client, email, password)

    def pay_run_csv(self, pretax_for_e2: bool = True) -> dict:
        """A sponsor's CSV pay run; E2 is not yet eligible, so deferrals withheld from them are held."""
        lines = ["external_id,gross_pay,plan_compensation,hours,pretax",
                 f"{self.prefix}1,2769.23,2769.23,80,166.15"]
        if pretax_for_e2:
            lines.append(f"{self.prefix}2,1192.31,1192.31,80,50.00")
        return {"query_string": {"provider_run_id": f"csv-{next(_unique)}", "pay_date": "2026-11-20",
                                 "period_start": "2026-11-07", "period_end": "2026-11-20"},
                "data": "\n".join(lines) + "\n", "content_type": "text/csv"}

    def new_pay_run(self) -> None:
        """A pay run with one held statement: sets pay_run_id and exception_id (the hold, open)."""
        response = self.client.post(f"/v1/employers/{self.employer_id}/pay-runs/csv", headers=self.world.sponsor,
                                    **self.pay_run_csv())
        assert response.status_code == 200, response.json
        assert response.json["held"] == 1, response.json
        self.pay_run_id = response.json["pay_run"]["id"]
        exceptions = self.client.get(f"/v1/employers/{self.employer_id}/payroll-exceptions?limit=500",
                                     headers=self.world.sponsor).json["data"]
        self.exception_id = next(e["id"] for e in exceptions
                                 if e["pay_run_id"] == self.pay_run_id and e["severity"] == "hold")

    def set_up_payroll(self) -> None:
        """A pull connection (it signs pay runs and reads the deferral feed), a pay run with a held statement, and
        a message to payroll (the first election approved; a new one then waits for approval)."""
        sponsor = self.world.sponsor
        response = self.client.post(f"/v1/employers/{self.employer_id}/payroll-connections", headers=sponsor,
                                    json={"provider": "pull"})
        assert response.status_code == 201, response.json
        self.connection = response.json
        self.new_pay_run()
        response = self.client.post(f"/v1/elections/{self.election['id']}/approve", json={},
                                    headers={**sponsor, "If-Match": f'"{self.election["etag"]}"'})
        assert response.status_code == 200, response.json
        self.election = self.new_election(percent="7")
        messages = self.client.get(f"/v1/employers/{self.employer_id}/payroll-messages?status=all",
                                   headers=sponsor).json["data"]
        assert messages, "approving an election leaves no message to payroll"
        self.message_id = messages[0]["id"]

    def own_ids(self) -> set[str]:
        ids = {self.employer_id, self.plan_id, self.election["id"], *(e["id"] for e in self.world.employees.values())}
        return ids | {getattr(self, name) for name in ("pay_run_id", "exception_id", "message_id")
                     if hasattr(self, name)}

    def snapshot(self) -> dict:
        """A's state as its sponsor and participant see it, to compare before and after refused requests."""
        sponsor, participant = self.world.sponsor, self.world.participant
        reads = {
            "employers": ("/v1/employers", self.world.advisor),
            "employer": (f"/v1/employers/{self.employer_id}", sponsor),
            "census": (f"/v1/employers/{self.employer_id}/employees?limit=500", sponsor),
            "elections": (f"/v1/employees/{self.employee_id}/elections", sponsor),
            "queue": (f"/v1/plans/{self.plan_id}/approvals?limit=500", sponsor),
            "audit": (f"/v1/employers/{self.employer_id}/audit-events?limit=500", sponsor),
            "me": ("/mobile/v1/me", participant),
            "investments": ("/mobile/v1/investments", participant),
            "beneficiaries": ("/mobile/v1/beneficiaries", participant),
            "outside": ("/mobile/v1/outside-deferrals", participant),
            "pay_runs": (f"/v1/employers/{self.employer_id}/pay-runs?limit=500", sponsor),
            "exceptions": (f"/v1/employers/{self.employer_id}/payroll-exceptions?status=all&limit=500", sponsor),
            "connections": (f"/v1/employers/{self.employer_id}/payroll-connections", sponsor),
            "messages": (f"/v1/employers/{self.employer_id}/payroll-messages?status=all&limit=500", sponsor),
            "balance": ("/mobile/v1/balance", participant),
            "contributions": ("/mobile/v1/contributions", participant),
            "limits": ("/mobile/v1/limits", participant),
        }
        state = {}
        for name, (path, headers) in reads.items():
            response = self.client.get(path, headers=headers)
            assert response.status_code == 200, (path, response.json)
            state[name] = response.json
        return state


@pytest.fixture
def admin(app, client):
    result = run_cli(app, args=["user", "create", "--email", ADMIN_EMAIL, "--password",
                                                ADMIN_PASSWORD, "--role", "platform_admin"])
    assert result.exit_code == 0, result.output
    return scenario.login(client, ADMIN_EMAIL, ADMIN_PASSWORD)


@pytest.fixture
def tenants(app, client, admin):
    a = Tenant(app, client, admin, "E")
    b = Tenant(app, client, admin, "X", name="Other Co", advisor_email="advisor2@example.com",
               sponsor_email="sponsor2@example.com")
    return a, b


# ---- the table -----------------------------------------------------------------------------------------------------

def census_row(t: "Tenant") -> dict:
    return scenario.census_row(f"{t.prefix}1", "1985-07-19", "2024-03-15", "123-45-6789", pay="72000.00")


def _refresh_election(t: Tenant, role: str) -> None:
    t.election = t.new_election(percent=str(next(_unique) % 9 + 1))


@dataclass
class Endpoint:
    method: str
    rule: str
    allowed: tuple
    request: Callable  # Tenant → kwargs for client.open (path, json, data, content_type, headers)
    ok: int = 200
    # How a user of the other employer with an allowed role fares: "not_found" when the path names one of A's
    # objects; "own" when the endpoint has no object in its path, so they act on their own things only.
    other: str = "not_found"
    prepare: Callable | None = None  # (tenant, role) → None, before each rightful call (a fresh pending election)
    check: Callable | None = None  # (body, tenant) → None, on the rightful answer
    fresh_session: bool = False  # the call ends the caller's session: use a new login for each call
    payroll: bool = False  # needs a payroll connection, a pay run and an open payroll exception
    rightful: bool = True  # False: the rightful call needs a setup of its own and has its own test (named)

    @property
    def id(self):
        return f"{self.method} {self.rule}"


def _bulk(t):
    return {"path": f"/v1/plans/{t.plan_id}/approvals/bulk", "json": {
        "decision": "approve", "elections": [{"election_id": t.election["id"], "etag": t.election["etag"]}]}}


def _decision(verb, body):
    return lambda t: {"path": f"/v1/elections/{t.election['id']}/{verb}", "json": body,
                      "headers": {"If-Match": f'"{t.election["etag"]}"'}}


def _a_day() -> str:
    """A different price date on each call, so each load stores a new price."""
    return (date(2026, 6, 1) + timedelta(days=next(_unique))).isoformat()


def _price_on(t, day: str) -> None:
    """PLTDX priced 10.00 on `day` (loading the same figure again changes nothing)."""
    response = t.client.post(f"/v1/plans/{t.plan_id}/fund-prices", headers=t.world.sponsor,
                             json={"prices": [{"ticker": "PLTDX", "price_date": day, "price": "10.00"}]})
    assert response.status_code == 200, response.json


def _has_id(key, attr):
    def check(body, t):
        assert body[key] == getattr(t, attr), body
    return check


def _election_status(status):
    def check(body, t):
        assert body["id"] == t.election["id"] and body["status"] == status, body
    return check


def _notification_of(t, role: str = "participant") -> None:
    """A feed entry of A's `role` user (through the service every trigger uses): the path's object."""
    from notifications import service as notifications
    user_id = t.client.get("/v1/auth/me", headers=t.headers(role)).json["id"]
    with t.client.application.extensions["plumb"].db.transaction() as session:
        t.notification_id = notifications.notify(session, user_id, "election_approved",
                                                 {"election_id": t.election["id"], "version": 1}).id


def _read_path(prefix: str):
    def request(t):
        if not hasattr(t, "notification_id"):
            _notification_of(t)
        return {"path": f"{prefix}/{t.notification_id}/read"}
    return request


DEVICES = {"participant": "/mobile/v1/devices"}  # staff register theirs under /v1/me/devices


def _device_of(t, role: str = "participant") -> None:
    """A device of A's `role` user, registered where that role registers it: the path's object."""
    t.device_token = f"fcm-{next(_unique)}"
    response = t.client.post(DEVICES.get(role, "/v1/me/devices"), headers=t.headers(role),
                             json={"token": t.device_token, "platform": "android" if role == "participant" else "web"})
    assert response.status_code == 200, response.json


def _device_path(role: str):
    def request(t):
        if not hasattr(t, "device_token"):
            _device_of(t, role)
        return {"path": f"{DEVICES.get(role, '/v1/me/devices')}/{t.device_token}"}
    return request


def _settings_change(prefix: str):
    return lambda t: {"path": f"{prefix}/me/notification-settings", "json": {
        "language": "es", "categories": [{"category": "nudges", "push": False}]}}


def _settings_changed(body, t) -> bool:
    nudges = next(c for c in body["categories"] if c["category"] == "nudges")
    return body["language"] == "es" and nudges["push"] is False


def _agreement(t) -> dict:
    """A's current adoption agreement (signed as the world was set up, until an amendment restates it)."""
    return scenario.current_document(t.client, t.world.sponsor, t.plan_id)


def _amend(t, role: str) -> None:
    """An amendment (loans offered or withdrawn), so the current adoption agreement is a new version to sign."""
    loans = t.client.get(f"/v1/plans/{t.plan_id}", headers=t.world.sponsor).json["loans_allowed"]
    response = t.client.patch(f"/v1/plans/{t.plan_id}/rules", headers=t.world.sponsor,
                              json={"effective_on": "2027-01-01", "loans_allowed": not loans})
    assert response.status_code == 200, response.json


ENDPOINTS = [
    Endpoint("POST", "/v1/auth/logout", ROLES, lambda t: {"path": "/v1/auth/logout"}, 204, "own", fresh_session=True),
    Endpoint("GET", "/v1/auth/me", ROLES, lambda t: {"path": "/v1/auth/me"}, 200, "own",
             check=lambda body, t: body["role"] in ROLES),
    Endpoint("POST", "/v1/plans/setup", ("advisor", "platform_admin"), lambda t: {
        "path": "/v1/plans/setup", "json": scenario.plan_request(name=f"New Co {next(_unique)}",
                                                                 sponsor_email=f"new{next(_unique)}@example.com")},
             201, "own",
             check=lambda body, t: body["employer"]["id"] != t.employer_id),
    Endpoint("GET", "/v1/employers", STAFF, lambda t: {"path": "/v1/employers"}, 200, "own",
             check=lambda body, t: t.employer_id in [e["id"] for e in body]),
    Endpoint("GET", "/v1/employers/<employer_id>", STAFF, lambda t: {"path": f"/v1/employers/{t.employer_id}"},
             check=_has_id("id", "employer_id")),
    Endpoint("GET", "/v1/plans/<plan_id>", STAFF, lambda t: {"path": f"/v1/plans/{t.plan_id}"},
             check=_has_id("id", "plan_id")),
    Endpoint("GET", "/v1/plans/<plan_id>/compliance", STAFF, lambda t: {"path": f"/v1/plans/{t.plan_id}/compliance"},
             check=lambda body, t: body["year"] == 2026 and "adp" in body["projection"]),
    Endpoint("GET", "/v1/plans/<plan_id>/compliance/correction", STAFF,
             lambda t: {"path": f"/v1/plans/{t.plan_id}/compliance/correction"},
             check=lambda body, t: (body["year"], body["basis"]) == (2026, "projected")),
    Endpoint("GET", "/v1/plans/<plan_id>/compliance/report.pdf", STAFF,
             lambda t: {"path": f"/v1/plans/{t.plan_id}/compliance/report.pdf"}),
    Endpoint("GET", "/v1/plans/<plan_id>/compliance/settings", STAFF,
             lambda t: {"path": f"/v1/plans/{t.plan_id}/compliance/settings"},
             check=lambda body, t: body == {"warning_margin": "0"}),
    Endpoint("PUT", "/v1/plans/<plan_id>/compliance/settings", STAFF,
             lambda t: {"path": f"/v1/plans/{t.plan_id}/compliance/settings", "json": {"warning_margin": "0.5"}},
             check=lambda body, t: body == {"warning_margin": "0.5"}),
    Endpoint("GET", "/v1/plans/<plan_id>/compliance/history", STAFF,
             lambda t: {"path": f"/v1/plans/{t.plan_id}/compliance/history"}, check=lambda body, t: "data" in body),
    Endpoint("GET", "/v1/plans/<plan_id>/compliance/warnings", STAFF,
             lambda t: {"path": f"/v1/plans/{t.plan_id}/compliance/warnings"}, check=lambda body, t: body == []),
    Endpoint("POST", "/v1/plans/<plan_id>/compliance/what-if", STAFF, lambda t: {
        "path": f"/v1/plans/{t.plan_id}/compliance/what-if",
        "json": {"changes": [{"external_id": t.world.employee["external_id"], "deferral_percent": "5"}]}},
             check=lambda body, t: body["status"] in ("on_track", "at_risk")),
    Endpoint("GET", "/v1/employers/<employer_id>/employees", STAFF,
             lambda t: {"path": f"/v1/employers/{t.employer_id}/employees"},
             check=lambda body, t: {e["id"] for e in body["data"]} == {e["id"] for e in t.world.employees.values()}),
    Endpoint("POST", "/v1/employers/<employer_id>/employees", STAFF,
             lambda t: {"path": f"/v1/employers/{t.employer_id}/employees", "json": {"employees": [census_row(t)]}},
             check=lambda body, t: (body["created"], body["updated"], body["unchanged"]) == (0, 0, 1)),
    Endpoint("POST", "/v1/employers/<employer_id>/employees/csv", STAFF,
             lambda t: {"path": f"/v1/employers/{t.employer_id}/employees/csv",
                        "data": scenario.census_csv([census_row(t)]), "content_type": "text/csv"},
             check=lambda body, t: (body["created"], body["updated"], body["unchanged"]) == (0, 0, 1)),
    Endpoint("GET", "/v1/employers/<employer_id>/employees.csv", STAFF,
             lambda t: {"path": f"/v1/employers/{t.employer_id}/employees.csv"}),
    Endpoint("GET", "/v1/employees/<employee_id>", STAFF, lambda t: {"path": f"/v1/employees/{t.employee_id}"},
             check=_has_id("id", "employee_id")),
    # Staff resend an employee's invitation (never seeing the code); E2 has not signed up.
    Endpoint("POST", "/v1/employees/<employee_id>/invitation", STAFF,
             lambda t: {"path": f"/v1/employees/{t.world.employees['E2']['id']}/invitation"}, 202,
             check=lambda body, t: body["employee_id"] == t.world.employees["E2"]["id"]),
    # Unlinking ends the participant's account, which the other calls need: the rightful call has its own test,
    # test_the_sponsor_unlinks_a_wrongly_claimed_account_and_the_employee_signs_up_again (test_signup_security.py).
    Endpoint("POST", "/v1/employees/<employee_id>/account/unlink", SPONSOR,
             lambda t: {"path": f"/v1/employees/{t.employee_id}/account/unlink", "json": {"reason": "not theirs"}},
             rightful=False),
    # The sponsor admin accepted already: the rightful caller gets past authorization to the 409 about the state.
    Endpoint("POST", "/v1/employers/<employer_id>/sponsor-invitation", ("advisor", "platform_admin"),
             lambda t: {"path": f"/v1/employers/{t.employer_id}/sponsor-invitation"}, 409),
    Endpoint("GET", "/v1/employers/<employer_id>/billing", STAFF,
             lambda t: {"path": f"/v1/employers/{t.employer_id}/billing"},
             check=lambda body, t: body["status"] == "off"),
    Endpoint("GET", "/v1/plans/<plan_id>/dashboard", STAFF, lambda t: {"path": f"/v1/plans/{t.plan_id}/dashboard"},
             check=lambda body, t: body["plan_id"] == t.plan_id and body["pending_approvals"] == 1),
    # The book spans employers: an advisor's own, every one for the platform; the sponsor reads the dashboard.
    Endpoint("GET", "/v1/book", ("advisor", "platform_admin"), lambda t: {"path": "/v1/book"}, other="own",
             check=lambda body, t: t.plan_id in [row["plan_id"] for row in body["data"]]),
    Endpoint("GET", "/v1/book.csv", ("advisor", "platform_admin"), lambda t: {"path": "/v1/book.csv"}, other="own"),
    Endpoint("GET", "/v1/book/pipeline", ("advisor", "platform_admin"), lambda t: {"path": "/v1/book/pipeline"},
             other="own", check=lambda body, t: body["total"] >= 1),
    Endpoint("GET", "/v1/employers/<employer_id>/audit-events", STAFF,
             lambda t: {"path": f"/v1/employers/{t.employer_id}/audit-events"},
             check=lambda body, t: "election.submitted" in [e["action"] for e in body["data"]]),
    Endpoint("GET", "/v1/plans/<plan_id>/approvals", SPONSOR, lambda t: {"path": f"/v1/plans/{t.plan_id}/approvals"},
             check=lambda body, t: [e["id"] for e in body["data"]] == [t.election["id"]]),
    Endpoint("POST", "/v1/elections/<election_id>/approve", SPONSOR, _decision("approve", {}),
             prepare=_refresh_election, check=_election_status("approved")),
    Endpoint("POST", "/v1/elections/<election_id>/reject", SPONSOR, _decision("reject", {"reason": "Payroll freeze"}),
             prepare=_refresh_election, check=_election_status("rejected")),
    Endpoint("POST", "/v1/plans/<plan_id>/approvals/bulk", SPONSOR, _bulk, prepare=_refresh_election,
             check=lambda body, t: body["results"] == [{"election_id": t.election["id"], "outcome": "approved"}]),
    Endpoint("GET", "/v1/employees/<employee_id>/elections", STAFF,
             lambda t: {"path": f"/v1/employees/{t.employee_id}/elections"},
             check=lambda body, t: [e["id"] for e in body] == [t.election["id"]]),
    Endpoint("GET", "/v1/employers/<employer_id>/payroll-connections", STAFF,
             lambda t: {"path": f"/v1/employers/{t.employer_id}/payroll-connections"}, payroll=True,
             check=lambda body, t: [c["id"] for c in body] == [t.connection["id"]] and "secret" not in body[0]),
    # Where payroll data goes is the sponsor's decision, not the advisor's (security review H-1).
    Endpoint("POST", "/v1/employers/<employer_id>/payroll-connections", SPONSOR,
             lambda t: {"path": f"/v1/employers/{t.employer_id}/payroll-connections", "json": {"provider": "pull"}},
             201, check=lambda body, t: body["secret"].startswith("whsec_")),
    Endpoint("GET", "/v1/employers/<employer_id>/pay-runs", STAFF,
             lambda t: {"path": f"/v1/employers/{t.employer_id}/pay-runs"}, payroll=True,
             check=lambda body, t: [r["id"] for r in body["data"]] == [t.pay_run_id]),
    Endpoint("POST", "/v1/employers/<employer_id>/pay-runs/csv", SPONSOR,
             lambda t: {"path": f"/v1/employers/{t.employer_id}/pay-runs/csv", **t.pay_run_csv(pretax_for_e2=False)},
             check=lambda body, t: body["held"] == 0 and body["pay_run"]["status"] == "posted"),
    Endpoint("GET", "/v1/pay-runs/<pay_run_id>", STAFF, lambda t: {"path": f"/v1/pay-runs/{t.pay_run_id}"},
             payroll=True, check=_has_id("id", "pay_run_id")),
    Endpoint("GET", "/v1/employers/<employer_id>/payroll-exceptions", STAFF,
             lambda t: {"path": f"/v1/employers/{t.employer_id}/payroll-exceptions"}, payroll=True,
             check=lambda body, t: t.exception_id in [e["id"] for e in body["data"]]),
    Endpoint("POST", "/v1/payroll-exceptions/<exception_id>/resolve", SPONSOR, lambda t: {
        "path": f"/v1/payroll-exceptions/{t.exception_id}/resolve", "json": {"action": "reject", "note": "Not eligible"}},
             payroll=True, prepare=lambda t, role: t.new_pay_run(),
             check=lambda body, t: (body["id"], body["status"]) == (t.exception_id, "rejected")),
    Endpoint("GET", "/v1/employers/<employer_id>/payroll-messages", STAFF,
             lambda t: {"path": f"/v1/employers/{t.employer_id}/payroll-messages?status=all"}, payroll=True,
             check=lambda body, t: [m["id"] for m in body["data"]] == [t.message_id]),
    # Only dead letters are retried: the rightful caller gets past authorization to the 409 about the state.
    Endpoint("POST", "/v1/payroll-messages/<message_id>/retry", SPONSOR,
             lambda t: {"path": f"/v1/payroll-messages/{t.message_id}/retry"}, 409, payroll=True,
             check=lambda body, t: "dead" in body["detail"]),
    Endpoint("POST", "/v1/plans/<plan_id>/fund-prices", STAFF, lambda t: {
        "path": f"/v1/plans/{t.plan_id}/fund-prices",
        "json": {"prices": [{"ticker": "PLTDX", "price_date": _a_day(), "price": "10.00"}]}},
             check=lambda body, t: body["stored"] == 1),
    Endpoint("POST", "/v1/plans/<plan_id>/fund-prices/csv", STAFF, lambda t: {
        "path": f"/v1/plans/{t.plan_id}/fund-prices/csv", "data": f"ticker,price_date,price\nPLBDX,{_a_day()},10.00\n",
        "content_type": "text/csv"}, check=lambda body, t: body["stored"] == 1),
    # A correction to the figure already stored and a confirmation of a confirmed price change nothing: the
    # rightful caller gets past authorization to the price.
    Endpoint("PUT", "/v1/plans/<plan_id>/fund-prices/<ticker>/<price_date>", STAFF, lambda t: {
        "path": f"/v1/plans/{t.plan_id}/fund-prices/PLTDX/2026-01-02", "json": {"price": "10.00"}},
             prepare=lambda t, role: _price_on(t, "2026-01-02"), check=lambda body, t: body["repriced_entries"] == 0),
    Endpoint("POST", "/v1/plans/<plan_id>/fund-prices/<ticker>/<price_date>/confirm", STAFF, lambda t: {
        "path": f"/v1/plans/{t.plan_id}/fund-prices/PLTDX/2026-01-02/confirm", "json": {"price": "10.00"}},
             prepare=lambda t, role: _price_on(t, "2026-01-02"), check=lambda body, t: body["status"] == "confirmed"),
    Endpoint("GET", "/v1/plans/<plan_id>/price-settings", STAFF,
             lambda t: {"path": f"/v1/plans/{t.plan_id}/price-settings"}, check=lambda body, t: "price_move_band" in body),
    Endpoint("PUT", "/v1/plans/<plan_id>/price-settings", STAFF,
             lambda t: {"path": f"/v1/plans/{t.plan_id}/price-settings", "json": {"price_move_band": "0.3"}},
             check=lambda body, t: body == {"price_move_band": "0.3"}),
    Endpoint("GET", "/mobile/v1/balance", PARTICIPANT, lambda t: {"path": "/mobile/v1/balance"}, 200, "own"),
    Endpoint("GET", "/mobile/v1/contributions", PARTICIPANT, lambda t: {"path": "/mobile/v1/contributions"}, 200, "own",
             payroll=True, check=lambda body, t: [c["pay_run_ids"] for c in body["data"]] == [[t.pay_run_id]]),
    Endpoint("GET", "/mobile/v1/balance-history", PARTICIPANT, lambda t: {"path": "/mobile/v1/balance-history"},
             200, "own"),
    Endpoint("GET", "/mobile/v1/limits", PARTICIPANT, lambda t: {"path": "/mobile/v1/limits"}, 200, "own"),
    # Others' elections are not found; the participant's own scheduled escalation is skipped in
    # test_only_the_participant_can_skip_their_own_escalation (it needs the daily job and a year of clock).
    Endpoint("POST", "/mobile/v1/elections/<election_id>/skip", PARTICIPANT,
             lambda t: {"path": f"/mobile/v1/elections/{t.election['id']}/skip"}, rightful=False),
    Endpoint("GET", "/mobile/v1/me", PARTICIPANT, lambda t: {"path": "/mobile/v1/me"}, 200, "own",
             check=_has_id("employee_id", "employee_id")),
    Endpoint("GET", "/mobile/v1/elections", PARTICIPANT, lambda t: {"path": "/mobile/v1/elections"}, 200, "own",
             check=lambda body, t: [e["id"] for e in body] == [t.election["id"]]),
    Endpoint("POST", "/mobile/v1/elections", PARTICIPANT, lambda t: {"path": "/mobile/v1/elections", "json": ELECTION},
             201, "own", check=lambda body, t: body["employee_id"] == t.employee_id),
    Endpoint("POST", "/mobile/v1/elections/preview", PARTICIPANT,
             lambda t: {"path": "/mobile/v1/elections/preview", "json": ELECTION}, 200, "own",
             check=lambda body, t: body["deferral_percent"] == "6"),
    Endpoint("POST", "/mobile/v1/elections/opt-out", PARTICIPANT, lambda t: {"path": "/mobile/v1/elections/opt-out"},
             201, "own", check=lambda body, t: body["election"]["employee_id"] == t.employee_id),
    Endpoint("GET", "/mobile/v1/investments", PARTICIPANT, lambda t: {"path": "/mobile/v1/investments"}, 200, "own"),
    Endpoint("PUT", "/mobile/v1/investments", PARTICIPANT, lambda t: {"path": "/mobile/v1/investments", "json": {
        "allocations": [{"fund_id": t.funds[0], "percent": "70"}, {"fund_id": t.funds[1], "percent": "30"}]}},
             200, "own", check=lambda body, t: [a["fund_id"] for a in body["allocations"]] == t.funds[:2]),
    Endpoint("GET", "/mobile/v1/beneficiaries", PARTICIPANT, lambda t: {"path": "/mobile/v1/beneficiaries"}, 200, "own"),
    Endpoint("PUT", "/mobile/v1/beneficiaries", PARTICIPANT, lambda t: {"path": "/mobile/v1/beneficiaries", "json": {
        "beneficiaries": [{"tier": "primary", "name": "Pat Doe", "relationship": "spouse", "percent": "100"}]}},
             200, "own", check=lambda body, t: [b["name"] for b in body["beneficiaries"]] == ["Pat Doe"]),
    Endpoint("GET", "/mobile/v1/outside-deferrals", PARTICIPANT, lambda t: {"path": "/mobile/v1/outside-deferrals"},
             200, "own"),
    Endpoint("PUT", "/mobile/v1/outside-deferrals", PARTICIPANT, lambda t: {
        "path": "/mobile/v1/outside-deferrals", "json": {"calendar_year": 2026, "amount_cents": 150000}}, 200, "own",
             check=lambda body, t: (body["calendar_year"], body["amount_cents"]) == (2026, 150000)),
    Endpoint("POST", "/mobile/v1/devices", PARTICIPANT, lambda t: {"path": "/mobile/v1/devices", "json": {
        "token": f"fcm-{next(_unique)}", "platform": "ios", "locale": "en-US"}}, 200, "own",
             check=lambda body, t: body["platform"] == "ios"),
    Endpoint("DELETE", "/mobile/v1/devices/<token_or_id>", PARTICIPANT, _device_path("participant"), 204,
             prepare=_device_of),
    Endpoint("GET", "/mobile/v1/devices", PARTICIPANT, lambda t: {"path": "/mobile/v1/devices"}, 200, "own",
             prepare=_device_of, check=lambda body, t: len(body) >= 1 and "token" not in body[0]),
    Endpoint("GET", "/mobile/v1/me/notification-settings", PARTICIPANT,
             lambda t: {"path": "/mobile/v1/me/notification-settings"}, 200, "own",
             check=lambda body, t: body["language"] in ("en", "es")),
    Endpoint("PATCH", "/mobile/v1/me/notification-settings", PARTICIPANT, _settings_change("/mobile/v1"), 200, "own",
             check=_settings_changed),
    Endpoint("GET", "/v1/me/notification-settings", STAFF, lambda t: {"path": "/v1/me/notification-settings"}, 200,
             "own", check=lambda body, t: body["language"] in ("en", "es")),
    Endpoint("PATCH", "/v1/me/notification-settings", STAFF, _settings_change("/v1"), 200, "own",
             check=_settings_changed),
    Endpoint("GET", "/mobile/v1/me/notifications", PARTICIPANT, lambda t: {"path": "/mobile/v1/me/notifications"},
             200, "own", prepare=_notification_of,
             check=lambda body, t: t.notification_id in [e["id"] for e in body["data"]]),
    Endpoint("POST", "/mobile/v1/me/notifications/<notification_id>/read", PARTICIPANT,
             _read_path("/mobile/v1/me/notifications"), prepare=_notification_of,
             check=lambda body, t: body["id"] == t.notification_id and bool(body["read_at"])),
    Endpoint("POST", "/mobile/v1/me/notifications/read-all", PARTICIPANT,
             lambda t: {"path": "/mobile/v1/me/notifications/read-all"}, 200, "own",
             check=lambda body, t: body["unread_count"] == 0),
    Endpoint("GET", "/v1/me/notifications", STAFF, lambda t: {"path": "/v1/me/notifications"}, 200, "own",
             prepare=_notification_of,
             check=lambda body, t: t.notification_id in [e["id"] for e in body["data"]]),
    Endpoint("POST", "/v1/me/notifications/<notification_id>/read", STAFF, _read_path("/v1/me/notifications"),
             prepare=_notification_of, check=lambda body, t: body["id"] == t.notification_id and bool(body["read_at"])),
    Endpoint("POST", "/v1/me/notifications/read-all", STAFF, lambda t: {"path": "/v1/me/notifications/read-all"},
             200, "own", check=lambda body, t: body["unread_count"] == 0),
    Endpoint("POST", "/v1/me/devices", STAFF, lambda t: {"path": "/v1/me/devices", "json": {
        "token": f"fcm-{next(_unique)}", "platform": "web", "locale": "en-US"}}, 200, "own",
             check=lambda body, t: body["platform"] == "web"),
    Endpoint("DELETE", "/v1/me/devices/<token_or_id>", STAFF, _device_path("sponsor_admin"), 204, prepare=_device_of),
    # Plan documents (tests/documents/test_plan_documents.py).
    Endpoint("PATCH", "/v1/plans/<plan_id>/rules", STAFF, lambda t: {"path": f"/v1/plans/{t.plan_id}/rules", "json": {
        "effective_on": "2027-01-01", "loans_allowed": next(_unique) % 2 == 0}}, check=_has_id("id", "plan_id")),
    Endpoint("GET", "/v1/plans/<plan_id>/documents", STAFF, lambda t: {"path": f"/v1/plans/{t.plan_id}/documents"},
             check=lambda body, t: {d["plan_id"] for d in body} == {t.plan_id}),
    Endpoint("GET", "/v1/documents/<document_id>", STAFF, lambda t: {"path": f"/v1/documents/{_agreement(t)['id']}"},
             check=lambda body, t: body["plan_id"] == t.plan_id),
    Endpoint("GET", "/v1/documents/<document_id>/pdf", STAFF,
             lambda t: {"path": f"/v1/documents/{_agreement(t)['id']}/pdf"}),
    Endpoint("POST", "/v1/documents/<document_id>/signature", ("sponsor_admin",), lambda t: {
        "path": f"/v1/documents/{_agreement(t)['id']}/signature",
        "json": {"typed_name": "Pat Sponsor", "title": "Owner", "consent_to_electronic_records": True}}, 201,
             prepare=_amend, check=lambda body, t: body["typed_name"] == "Pat Sponsor"),
    Endpoint("POST", "/v1/documents/<document_id>/signing-link", STAFF, lambda t: {
        "path": f"/v1/documents/{_agreement(t)['id']}/signing-link"}, 201, prepare=_amend,
             check=lambda body, t: body["document_id"] == _agreement(t)["id"] and "***@" in body["sent_to"]),
    Endpoint("POST", "/v1/plans/<plan_id>/safe-harbor-notices", STAFF, lambda t: {
        "path": f"/v1/plans/{t.plan_id}/safe-harbor-notices", "json": {"plan_year": 2027}}, 201,
             check=lambda body, t: [n["notice_deadline"] for n in body] == ["2026-12-02"] * 2),
    Endpoint("GET", "/mobile/v1/plan-summary.pdf", PARTICIPANT, lambda t: {"path": "/mobile/v1/plan-summary.pdf"},
             200, "own"),
    Endpoint("GET", "/v1/me/devices", STAFF, lambda t: {"path": "/v1/me/devices"}, 200, "own",
             prepare=_device_of, check=lambda body, t: len(body) >= 1 and "token" not in body[0]),
    # The sponsor's people (tests/oversight/test_people.py): participants are refused even their own plan.
    Endpoint("GET", "/v1/plans/<plan_id>/participants", STAFF,
             lambda t: {"path": f"/v1/plans/{t.plan_id}/participants"},
             check=lambda body, t: {r["employee_id"] for r in body["data"]} == {
                 e["id"] for e in t.world.employees.values()}),
    Endpoint("GET", "/v1/plans/<plan_id>/participants.csv", STAFF,
             lambda t: {"path": f"/v1/plans/{t.plan_id}/participants.csv"}),
    Endpoint("GET", "/v1/plans/<plan_id>/participants/<employee_id>", STAFF,
             lambda t: {"path": f"/v1/plans/{t.plan_id}/participants/{t.employee_id}"},
             check=_has_id("employee_id", "employee_id")),
]


def _routes(app) -> set[tuple[str, str]]:
    routes = set()
    for rule in app.url_map.iter_rules():
        # Files, not endpoints: the document, the docs page, the phone app's build (tests/web/test_phone_app.py).
        if (rule.endpoint == "static" or rule.rule == "/openapi.json" or rule.rule.startswith("/docs")
                or rule.endpoint.startswith("phone_app.")):
            continue
        routes |= {(method, rule.rule) for method in rule.methods - {"HEAD", "OPTIONS"}}
    return routes - PUBLIC - SIGNED


def test_the_table_covers_every_endpoint(app):
    table = [(e.method, e.rule) for e in ENDPOINTS]
    assert len(table) == len(set(table)), "an endpoint is listed twice"
    routes = _routes(app)
    assert not routes - set(table), f"endpoints without an authorization row: {sorted(routes - set(table))}"
    assert not set(table) - routes, f"rows for endpoints that no longer exist: {sorted(set(table) - routes)}"


def _call(client, endpoint: Endpoint, tenant: Tenant, auth: dict | None, seen: dict | None = None):
    """The endpoint's request for `tenant` as `auth`; its answer is kept in `seen` by status."""
    kwargs = dict(endpoint.request(tenant))
    headers = {**kwargs.pop("headers", {}), **(auth or {})}
    response = client.open(method=endpoint.method, headers=headers, **kwargs)
    if seen is not None:
        seen.setdefault(response.status_code, response)
    return response


def assert_documented(client, method: str, rule: str, seen) -> None:
    """Every status observed for an operation is one the OpenAPI document lists for it, and a 403 there quotes
    the refusal the caller got."""
    answers = documented(client.get("/openapi.json").json, method, rule)
    undocumented = sorted(set(seen) - set(answers))
    assert not undocumented, f"{method} {rule} answered {undocumented}; the document lists only {sorted(answers)}"
    if isinstance(seen, dict) and 403 in seen:
        assert seen[403].json["detail"] in answers[403], (seen[403].json["detail"], answers[403])


def _tokens(app, valid_headers: dict) -> dict[str, dict]:
    """Bearer headers that must all be refused: garbage, forged, expired, not an access token, wrong scheme."""
    secret = app.extensions["plumb"].config.jwt_secret
    token = valid_headers["Authorization"].removeprefix("Bearer ")
    claims = jwt.decode(token, options={"verify_signature": False})
    now = int(time.time())
    header, payload, signature = token.split(".")
    tampered = {**claims, "role": "platform_admin"}
    return {
        "garbage": scenario.bearer("not-a-token"),
        "empty": {"Authorization": "Bearer "},
        "wrong scheme": {"Authorization": f"Basic {token}"},
        "forged signature": scenario.bearer(jwt.encode(claims, "another-secret-" + "y" * 32, algorithm="HS256")),
        "tampered payload": scenario.bearer(".".join([header, jwt.encode(tampered, "k" * 32).split(".")[1], signature])),
        "expired": scenario.bearer(jwt.encode({**claims, "iat": now - 7200, "exp": now - 3600}, secret, algorithm="HS256")),
        "unsigned": scenario.bearer(jwt.encode(claims, None, algorithm="none")),
        "not an access token": scenario.bearer(jwt.encode({**claims, "typ": "refresh"}, secret, algorithm="HS256")),
        "unknown user": scenario.bearer(jwt.encode({**claims, "sub": "usr_doesnotexist"}, secret, algorithm="HS256")),
    }


@pytest.mark.parametrize("endpoint", ENDPOINTS, ids=lambda e: e.id)
def test_endpoint_refuses_everyone_but_its_rightful_callers(app, client, tenants, endpoint):
    a, b = tenants
    if endpoint.payroll:
        a.set_up_payroll()
        b.set_up_payroll()
    before = a.snapshot()

    # Nobody, and tokens that are not what they claim, are unauthenticated.
    seen = {}
    assert_problem(_call(client, endpoint, a, None, seen), 401)
    for name, bad in _tokens(app, a.headers(endpoint.allowed[0])).items():
        response = _call(client, endpoint, a, bad, seen)
        assert response.status_code == 401, (name, response.status_code, response.json)
        assert_problem(response, 401)

    # Roles the endpoint is not for are forbidden, whoever's objects they name.
    for role in set(ROLES) - set(endpoint.allowed):
        assert_problem(_call(client, endpoint, a, a.headers(role), seen), 403)

    # The other employer's users with an allowed role: A's objects do not exist for them.
    for role in set(endpoint.allowed) - {"platform_admin"}:
        auth = b.fresh_headers(role) if endpoint.fresh_session else b.headers(role)
        if endpoint.other == "not_found":
            assert_problem(_call(client, endpoint, a, auth, seen), 404)
        else:
            response = _call(client, endpoint, b, auth, seen)
            assert response.status_code == endpoint.ok, (role, response.json)
            text = response.get_data().decode(errors="replace")  # a PDF's bytes are not all text
            assert not [i for i in a.own_ids() if i in text], f"{role} of B sees A's ids: {text}"

    after = a.snapshot()
    assert after == before, "a refused request changed the target employer's state"
    assert after["elections"][0]["status"] == "pending_approval"

    # Each allowed role of A succeeds.
    for role in endpoint.allowed if endpoint.rightful else ():
        if endpoint.prepare:
            endpoint.prepare(a, role)
        auth = a.fresh_headers(role) if endpoint.fresh_session else a.headers(role)
        response = _call(client, endpoint, a, auth, seen)
        assert response.status_code == endpoint.ok, (role, response.status_code, response.get_data(as_text=True))
        if response.status_code >= 400:
            assert_problem(response, endpoint.ok)
        if endpoint.check:
            verdict = endpoint.check(response.json, a)
            assert verdict is None or verdict is True, (role, verdict, response.json)
    assert_documented(client, endpoint.method, endpoint.rule, seen)


# ---- beyond the table ----------------------------------------------------------------------------------------------

def test_participant_cannot_see_another_participant_of_the_same_employer(client, tenants):
    a, _ = tenants
    second = scenario.sign_up(client, a.world.employees["E2"], "2006-03-10", "4321")
    first_id, second_id = a.employee_id, a.world.employees["E2"]["id"]
    response = client.put("/mobile/v1/beneficiaries", headers=a.world.participant, json={
        "beneficiaries": [{"tier": "primary", "name": "Secret Spouse", "relationship": "spouse", "percent": "100"}]})
    assert response.status_code == 200, response.json
    before = a.snapshot()

    me = client.get("/mobile/v1/me", headers=second)
    assert me.status_code == 200 and me.json["employee_id"] == second_id
    for path in ("/mobile/v1/me", "/mobile/v1/elections", "/mobile/v1/beneficiaries", "/mobile/v1/investments",
                 "/mobile/v1/outside-deferrals"):
        response = client.get(path, headers=second)
        assert response.status_code == 200, (path, response.json)
        text = response.get_data(as_text=True)
        assert first_id not in text and a.election["id"] not in text and "Secret Spouse" not in text, (path, text)
    # The sponsor-side views of the first participant are not for participants at all.
    for path in (f"/v1/employees/{first_id}", f"/v1/employees/{first_id}/elections",
                 f"/v1/employers/{a.employer_id}/employees", f"/v1/employers/{a.employer_id}"):
        assert_problem(client.get(path, headers=second), 403)
    assert_problem(client.post(f"/v1/elections/{a.election['id']}/approve", json={},
                               headers={**second, "If-Match": f'"{a.election["etag"]}"'}), 403)
    assert a.snapshot() == before


def test_bulk_decision_with_another_employers_election_is_refused_for_that_item(client, tenants):
    a, b = tenants
    before = a.snapshot()
    response = client.post(f"/v1/plans/{b.plan_id}/approvals/bulk", headers=b.world.sponsor, json={
        "decision": "approve", "elections": [{"election_id": a.election["id"], "etag": a.election["etag"]},
                                             {"election_id": b.election["id"], "etag": b.election["etag"]}]})
    assert response.status_code == 200, response.json
    foreign, own = response.json["results"]
    assert (foreign["election_id"], foreign["outcome"], foreign["status"]) == (a.election["id"], "refused", 404)
    assert (own["election_id"], own["outcome"]) == (b.election["id"], "approved")
    after = a.snapshot()
    assert after == before and after["elections"][0]["status"] == "pending_approval"


def test_a_participant_cannot_invest_in_another_employers_funds(client, tenants):
    a, b = tenants
    before = client.get("/mobile/v1/investments", headers=b.world.participant).json
    response = client.put("/mobile/v1/investments", headers=b.world.participant,
                          json={"allocations": [{"fund_id": a.funds[0], "percent": "100"}]})
    assert_problem(response, 422)
    assert client.get("/mobile/v1/investments", headers=b.world.participant).json == before


def test_platform_admin_sees_every_employer(client, tenants, admin):
    a, b = tenants
    response = client.get("/v1/employers", headers=admin)
    assert response.status_code == 200
    assert {a.employer_id, b.employer_id} <= {e["id"] for e in response.json}
    advisor_view = client.get("/v1/employers", headers=a.world.advisor).json
    assert [e["id"] for e in advisor_view] == [a.employer_id]
    sponsor_view = client.get("/v1/employers", headers=b.world.sponsor).json
    assert [e["id"] for e in sponsor_view] == [b.employer_id]


@pytest.mark.parametrize("role", ["advisor", "sponsor_admin", "participant", "platform_admin"])
def test_a_logged_out_token_is_refused(client, tenants, role):
    a, _ = tenants
    email = {"advisor": a.advisor_email, "sponsor_admin": a.sponsor_email, "participant": "e1@phone.example.com",
             "platform_admin": ADMIN_EMAIL}[role]
    password = {"advisor": scenario.ADVISOR_PASSWORD, "sponsor_admin": scenario.SPONSOR_PASSWORD,
                "participant": scenario.PARTICIPANT_PASSWORD, "platform_admin": ADMIN_PASSWORD}[role]
    login = client.post("/v1/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200, login.json
    headers = scenario.bearer(login.json["access_token"])
    assert client.get("/v1/auth/me", headers=headers).json["role"] == role

    response = client.post("/v1/auth/logout", headers=headers)
    assert response.status_code == 204, response.json

    assert_problem(client.get("/v1/auth/me", headers=headers), 401)
    assert_problem(client.post("/v1/auth/logout", headers=headers), 401)
    own_read = "/mobile/v1/me" if role == "participant" else "/v1/employers"
    assert_problem(client.get(own_read, headers=headers), 401)
    assert_problem(client.post("/v1/auth/refresh", json={"refresh_token": login.json["refresh_token"]}), 401)
    # Only that session ended: the user's other session still works.
    assert client.get("/v1/auth/me", headers=a.headers(role)).status_code == 200



# ---- the payroll provider's signed endpoint ------------------------------------------------------------------------

def _signature(secret: str, body: bytes, at: datetime | None = None, msg_id: str | None = None) -> dict:
    at = at or datetime.now(timezone.utc)
    msg_id = msg_id or f"msg_{next(_unique)}"
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(secret).sign(msg_id, at, body.decode())}


def _provider_run(external_id: str) -> bytes:
    return json.dumps({"provider_run_id": f"prov-{next(_unique)}", "pay_date": "2026-11-20",
                       "period_start": "2026-11-07", "period_end": "2026-11-20", "statements": [
                           {"external_id": external_id, "gross_pay_cents": 276923, "plan_compensation_cents": 276923,
                            "hours": "80", "withholdings": {"pretax": 16615}}]}).encode()


def test_provider_pay_runs_need_their_connections_signature(client, tenants):
    a, b = tenants
    a.set_up_payroll()
    b.set_up_payroll()
    url = lambda t: f"/v1/payroll/connections/{t.connection['id']}/pay-runs"  # noqa: E731
    body = _provider_run("E1")
    secret = a.connection["secret"]
    now = datetime.now(timezone.utc)
    good = _signature(secret, body)
    refused = {
        "unsigned": {},
        **{f"bearer token of {role}": a.headers(role) for role in ROLES},
        "the other employer's secret": _signature(b.connection["secret"], body),
        "signed another body": _signature(secret, body + b" "),
        "stale": _signature(secret, body, at=now - timedelta(minutes=10)),
        "from the future": _signature(secret, body, at=now + timedelta(minutes=10)),
        "no webhook-id": {k: v for k, v in good.items() if k != "webhook-id"},
        "no timestamp": {k: v for k, v in good.items() if k != "webhook-timestamp"},
        "garbage timestamp": {**good, "webhook-timestamp": "yesterday"},
        "garbage signature": {**good, "webhook-signature": "garbage"},
        "unknown signature version": {**good, "webhook-signature": good["webhook-signature"].replace("v1,", "v9,")},
        "a bearer token with a signature over another body": {**_signature(secret, body + b" "),
                                                               **a.headers("sponsor_admin")},
    }
    before_a, before_b = a.snapshot(), b.snapshot()
    wrong, seen = [], set()
    for name, headers in refused.items():
        response = client.post(url(a), data=body, content_type="application/json", headers=headers)
        seen.add(response.status_code)
        if response.status_code != 401 or response.mimetype != PROBLEM:
            wrong.append(f"{name}: {response.status_code} {response.get_data(as_text=True)[:150]}")
    # A's provider, signing properly, aimed at B's connection; and at a connection that does not exist.
    for aimed_at, status in ((url(b), 401), ("/v1/payroll/connections/pcn_doesnotexist/pay-runs", 404)):
        response = client.post(aimed_at, data=body, content_type="application/json", headers=good)
        assert_problem(response, status)
        seen.add(response.status_code)
    assert a.snapshot() == before_a and b.snapshot() == before_b

    response = client.post(url(a), data=body, content_type="application/json", headers=good)
    assert response.status_code == 200, response.json
    seen.add(response.status_code)
    assert_documented(client, "POST", "/v1/payroll/connections/<connection_id>/pay-runs", seen)
    assert response.json["pay_run"]["id"] in [r["id"] for r in a.snapshot()["pay_runs"]["data"]]
    # A's provider naming B's employee reaches no one of B's.
    foreign = _provider_run("X1")
    response = client.post(url(a), data=foreign, content_type="application/json", headers=_signature(secret, foreign))
    assert response.status_code < 500, response.get_data(as_text=True)
    if response.status_code >= 400:
        assert_problem(response, response.status_code)
    assert b.snapshot() == before_b
    assert not wrong, "refused wrongly:\n" + "\n".join(wrong)



def _feed_headers(connection: dict, secret: str | None = None, body: bytes = b"{}") -> dict:
    return {"plumb-connection-id": connection["id"], **_signature(secret or connection["secret"], body)}


def test_the_deferral_feed_shows_a_pull_connection_its_own_employers_changes_only(client, tenants, plumb):
    a, b = tenants
    a.set_up_payroll()
    b.set_up_payroll()
    drain(plumb)  # the worker puts the approved elections' changes in the feed
    feed, ack = "/v1/payroll/deferral-changes", "/v1/payroll/deferral-changes/ack"
    # Each case's headers for a given body: the ack is signed over its own body, so only the named fault refuses it.
    refused = {
        "unsigned": lambda raw: {},
        **{f"bearer token of {role}": (lambda raw, role=role: a.headers(role)) for role in ROLES},
        "no connection named": lambda raw: _signature(a.connection["secret"], raw),
        "the other employer's secret": lambda raw: _feed_headers(a.connection, b.connection["secret"], body=raw),
        "no such connection": lambda raw: {**_feed_headers(a.connection, body=raw),
                                           "plumb-connection-id": "pcn_doesnotexist"},
        "stale": lambda raw: {"plumb-connection-id": a.connection["id"], **_signature(
            a.connection["secret"], raw, at=datetime.now(timezone.utc) - timedelta(minutes=10))},
        "garbage signature": lambda raw: {**_feed_headers(a.connection, body=raw), "webhook-signature": "garbage"},
    }
    before_a, before_b = a.snapshot(), b.snapshot()
    wrong, seen = [], {"GET": {200}, "POST": {200}}
    acked = json.dumps({"ids": [a.message_id]}).encode()
    for name, headers in refused.items():
        for response in (client.get(feed, headers=headers(b"{}")),
                         client.post(ack, data=acked, content_type="application/json", headers=headers(acked))):
            seen[response.request.method].add(response.status_code)
            if response.status_code != 401 or response.mimetype != PROBLEM:
                wrong.append(f"{name}: {response.request.method} {response.status_code} "
                             f"{response.get_data(as_text=True)[:150]}")

    # B's provider reads B's feed, and acknowledging A's message there does nothing.
    response = client.get(feed, headers=_feed_headers(b.connection))
    assert response.status_code == 200, response.json
    assert a.message_id not in response.get_data(as_text=True) and a.employee_id not in response.get_data(as_text=True)
    body = json.dumps({"ids": [a.message_id]}).encode()
    response = client.post(ack, data=body, content_type="application/json", headers=_feed_headers(b.connection, body=body))
    assert response.status_code == 200, response.json
    assert response.json["acknowledged"] == 0
    assert a.snapshot() == before_a and b.snapshot() == before_b

    response = client.get(feed, headers=_feed_headers(a.connection))
    assert response.status_code == 200, response.json
    assert [m["acknowledged"] for m in response.json["data"] if a.message_id in json.dumps(m)] == [False]
    response = client.post(ack, data=body, content_type="application/json", headers=_feed_headers(a.connection, body=body))
    assert response.status_code == 200 and response.json["acknowledged"] == 1, response.json
    assert not wrong, "refused wrongly:\n" + "\n".join(wrong)
    assert_documented(client, "GET", feed, seen["GET"])
    assert_documented(client, "POST", ack, seen["POST"])



def _daily(app, on: str) -> str:
    result = run_cli(app, args=["daily", "--date", on])
    assert result.exit_code == 0, result.output
    return result.output


def test_only_the_participant_can_skip_their_own_escalation(app, client, clock, admin):
    a = scenario.World(app, client, requires_approval=True)
    b = scenario.World(app, client, name="Other Co", advisor_email="advisor2@example.com",
                       sponsor_email="sponsor2@example.com", ein_prefix="X", requires_approval=True)
    _daily(app, "2026-11-24")  # automatic enrollment of the eligible
    clock.fixed_today = date(2027, 12, 10)  # within the notice period of the 2028 escalation
    _daily(app, "2027-12-10")
    second = scenario.sign_up(client, a.employees["E2"], "2006-03-10", "4321")
    history = lambda: client.get("/mobile/v1/elections", headers=a.participant).json  # noqa: E731
    escalation = history()[0]
    assert (escalation["kind"], escalation["status"]) == ("escalation", "scheduled"), escalation
    path = f"/mobile/v1/elections/{escalation['id']}/skip"

    assert_problem(client.post(path), 401)
    for headers in (a.sponsor, a.advisor, admin):
        assert_problem(client.post(path, headers=headers), 403)
    for headers in (b.participant, second):
        assert_problem(client.post(path, headers=headers), 404)
    assert history()[0]["status"] == "scheduled"

    response = client.post(path, headers=a.participant)
    assert response.status_code == 200, response.json
    assert (response.json["id"], response.json["status"]) == (escalation["id"], "skipped")
    assert_documented(client, "POST", "/mobile/v1/elections/<election_id>/skip", {401, 403, 404, 200})
