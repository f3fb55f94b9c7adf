"""Builders that drive the API the way users do, shared by the flow, authorization and domain tests."""
import csv
import io
import itertools

from tests.support import run_cli

ADVISOR_PASSWORD = "advisor-password-1"
SPONSOR_PASSWORD = "sponsor-password-1"
PARTICIPANT_PASSWORD = "participant-password-1"
_eins = itertools.count(1000001)

CENSUS_FIELDS = ["external_id", "first_name", "last_name", "date_of_birth", "ssn", "email", "hire_date",
                 "annual_compensation", "hours", "ownership_percent", "officer"]


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


def create_advisor(app, email: str = "advisor@example.com") -> None:
    result = run_cli(app, args=["user", "create", "--email", email, "--password", ADVISOR_PASSWORD,
                                                "--role", "advisor"])
    assert result.exit_code == 0, result.output


def login(client, email: str, password: str) -> dict:
    response = client.post("/v1/auth/login", json={"email": email, "password": password})
    assert response.status_code == 200, response.json
    return bearer(response.json["access_token"])


def advisor(app, client, email: str = "advisor@example.com") -> dict:
    create_advisor(app, email)
    return login(client, email, ADVISOR_PASSWORD)


def plan_request(name: str = "Acme Bakery LLC", sponsor_email: str = "sponsor@example.com", **plan) -> dict:
    return {
        "template": plan.pop("template", "safe_harbor_match"),
        "employer": {"name": name, "ein": f"12-{next(_eins)}",
                     "address": {"line1": "1 Main St", "city": "Provo", "state": "UT", "postal_code": "84601"},
                     "payroll": {"frequency": "biweekly", "anchor_pay_date": "2026-01-02"}},
        "sponsor_admin": {"email": sponsor_email},
        "plan": {"effective_date": "2026-01-01", **plan},
    }


def setup_plan(client, advisor_headers: dict, **kwargs) -> dict:
    response = client.post("/v1/plans/setup", json=plan_request(**kwargs), headers=advisor_headers)
    assert response.status_code == 201, response.json
    return response.json


def deliver_invitations(app) -> int:
    """Deliver the pending invitation messages (only that topic: tests count other pending messages) through the
    app's own deliverer, which writes each as a file under the instance directory; how many."""
    from sqlalchemy import select

    from backend.outbox import Message, OutboxMessage, record_deliveries
    from backend.plans.invitations import TOPIC

    plumb = app.extensions["plumb"]
    with plumb.db.transaction() as session:
        pending = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == TOPIC,
                                                              OutboxMessage.status == "pending")
                                  .order_by(OutboxMessage.seq)).all()
        for message in pending:
            outcome = plumb.deliverers[TOPIC](Message(message.id, message.topic, message.recipient,
                                                      message.employer_id, message.subject_id, message.payload,
                                                      message.attempts))
            assert outcome.acknowledged, outcome.detail
        record_deliveries(session, [(message, None) for message in pending], statuses=("pending",))
    return len(pending)


def messages_to(app, address: str) -> list[str]:
    """The messages sent to `address` (an email or phone), oldest first, as the person reads them."""
    from notifications.files import messages_dir

    deliver_invitations(app)
    folder = messages_dir(app.extensions["plumb"].config.instance_dir)
    texts = [path.read_text() for path in sorted(folder.glob("*.txt"))] if folder.exists() else []
    return [text for text in texts if address in _addressees(text)]


def _addressees(text: str) -> list[str]:
    return next(line.removeprefix("To: ") for line in text.splitlines() if line.startswith("To: ")).split(", ")


def _latest(app, address: str, label: str) -> str:
    for text in reversed(messages_to(app, address)):
        for line in text.splitlines():
            if line.strip().startswith(label):
                return line.split(":", 1)[1].strip()
    raise AssertionError(f"no message to {address} carries {label!r}")


def invite_code(app, employee: dict) -> str:
    """The newest invite code the employee received at their census email (or phone)."""
    return _latest(app, employee.get("email") or employee["phone"], "Invite code:")


def sponsor_token(app, email: str) -> str:
    """The newest invitation token the sponsor admin received."""
    return _latest(app, email, "Invitation token:")


def signing_link(app, email: str) -> str:
    """The newest signing link the sponsor admin received (the URL they open, ending in its token)."""
    return _latest(app, email, "Sign here:")


def signing_token(app, email: str) -> str:
    """The token of the newest signing link the sponsor admin received."""
    return signing_link(app, email).rsplit("/", 1)[1]


def accept_sponsor(client, setup: dict, sign: bool = True) -> dict:
    """The sponsor admin accepts the invitation and, unless `sign` is false, signs the plan's adoption agreement (a
    plan takes no pay run before), as a sponsor does on first sign-in."""
    token = sponsor_token(client.application, setup["sponsor_invitation"]["email"])
    response = client.post("/v1/auth/invitations/accept", json={"token": token, "password": SPONSOR_PASSWORD})
    assert response.status_code == 201, response.json
    headers = bearer(response.json["access_token"])
    if sign:
        sign_adoption_agreement(client, headers, setup["plan"]["id"])
    return headers


def current_document(client, headers: dict, plan_id: str, kind: str = "adoption_agreement",
                     language: str = "en") -> dict:
    response = client.get(f"/v1/plans/{plan_id}/documents", headers=headers)
    assert response.status_code == 200, response.json
    return next(d for d in response.json if d["kind"] == kind and d["language"] == language
                and d["status"] == "current")


def sign_adoption_agreement(client, sponsor_headers: dict, plan_id: str, name: str = "Pat Sponsor",
                            title: str = "Owner", **extra_headers) -> dict:
    """The sponsor admin signs the plan's current adoption agreement; the signature."""
    document = current_document(client, sponsor_headers, plan_id)
    response = client.post(f"/v1/documents/{document['id']}/signature", headers={**sponsor_headers, **extra_headers},
                           json={"typed_name": name, "title": title, "consent_to_electronic_records": True})
    assert response.status_code == 201, response.json
    return response.json


def census_row(external_id: str, born: str, hired: str, ssn: str, pay: str = "60000.00", **extra) -> dict:
    return {"external_id": external_id, "first_name": extra.pop("first_name", f"First{external_id}"),
            "last_name": extra.pop("last_name", "Worker"), "date_of_birth": born, "ssn": ssn,
            "email": f"{external_id.lower()}@example.com", "hire_date": hired, "annual_compensation": pay,
            "hours": extra.pop("hours", "1500"), "ownership_percent": extra.pop("ownership_percent", "0"),
            "officer": extra.pop("officer", "false"), **extra}


def census_csv(rows: list[dict]) -> bytes:
    fields = list(CENSUS_FIELDS) + sorted({k for row in rows for k in row} - set(CENSUS_FIELDS))
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue().encode()


def upload_csv(client, headers: dict, employer_id: str, rows: list[dict], **kw):
    return client.post(f"/v1/employers/{employer_id}/employees/csv", data=census_csv(rows),
                       content_type="text/csv", headers=headers, **kw)


def employees_by_external_id(client, headers: dict, employer_id: str) -> dict:
    response = client.get(f"/v1/employers/{employer_id}/employees?limit=500", headers=headers)
    assert response.status_code == 200, response.json
    return {e["external_id"]: e for e in response.json["data"]}


def sign_up(client, employee: dict, born: str, ssn_last4: str) -> dict:
    response = client.post("/mobile/v1/signup", json={
        "invite_code": invite_code(client.application, employee), "date_of_birth": born, "ssn_last4": ssn_last4,
        "email": f"{employee['external_id'].lower()}@phone.example.com", "password": PARTICIPANT_PASSWORD})
    assert response.status_code == 201, response.json
    return bearer(response.json["access_token"])


class World:
    """An advisor, a plan, its sponsor, a census of two and one signed-up participant: the usual cast."""

    def __init__(self, app, client, name="Acme Bakery LLC", advisor_email="advisor@example.com",
                 sponsor_email="sponsor@example.com", ein_prefix="E", sign_documents=True, **plan):
        self.advisor = advisor(app, client, advisor_email)
        self.setup = setup_plan(client, self.advisor, name=name, sponsor_email=sponsor_email, **plan)
        self.employer_id = self.setup["employer"]["id"]
        self.plan_id = self.setup["plan"]["id"]
        self.sponsor = accept_sponsor(client, self.setup, sign=sign_documents)
        rows = [census_row(f"{ein_prefix}1", "1985-07-19", "2024-03-15", "123-45-6789", pay="72000.00"),
                census_row(f"{ein_prefix}2", "2006-03-10", "2026-06-01", "987-65-4321", pay="31000.00")]
        response = upload_csv(client, self.sponsor, self.employer_id, rows)
        assert response.status_code == 200, response.json
        self.employees = employees_by_external_id(client, self.sponsor, self.employer_id)
        self.employee = self.employees[f"{ein_prefix}1"]
        self.participant = sign_up(client, self.employee, "1985-07-19", "6789")


def connect_payroll(client, headers: dict, employer_id: str, endpoint_url: str = "http://127.0.0.1:9/deferrals",
                    provider: str = "plumb_webhook") -> dict:
    response = client.post(f"/v1/employers/{employer_id}/payroll-connections",
                           json={"provider": provider, "endpoint_url": endpoint_url}, headers=headers)
    assert response.status_code == 201, response.json
    return response.json


def signed_request(connection: dict, payload: dict, *, secret: str | None = None, at=None,
                   msg_id=None) -> tuple[str, dict]:
    """A pay run's body and headers signed the way a provider signs it: Standard Webhooks over id.timestamp.body."""
    import json as _json
    from datetime import datetime, timezone

    from standardwebhooks.webhooks import Webhook

    body = _json.dumps(payload)
    at = at or datetime.now(timezone.utc)
    msg_id = msg_id or f"msg_{payload['provider_run_id']}_{payload.get('version', 1)}"
    signature = Webhook(secret or connection["secret"]).sign(msg_id, at, body)
    return body, {"content-type": "application/json", "webhook-id": msg_id,
                  "webhook-timestamp": str(int(at.timestamp())), "webhook-signature": signature}


def signed_post(client, connection: dict, payload: dict, *, secret: str | None = None, at=None, msg_id=None):
    """POST a signed pay run through the test client."""
    body, headers = signed_request(connection, payload, secret=secret, at=at, msg_id=msg_id)
    return client.post(connection["pay_runs_url"], data=body, headers=headers)


def statement(external_id: str, gross: int, *, pretax: int = 0, roth: int = 0, hours="80", **extra) -> dict:
    withholdings = {t: c for t, c in (("pretax", pretax), ("roth", roth)) if c}
    return {"external_id": external_id, "gross_pay_cents": gross, "plan_compensation_cents": gross, "hours": hours,
            "withholdings": {**withholdings, **extra.pop("withholdings", {})}, **extra}


def pay_run(run_id: str, pay_date: str, statements: list[dict], version: int = 1, **extra) -> dict:
    from datetime import date, timedelta

    end = date.fromisoformat(pay_date) - timedelta(days=5)
    return {"provider_run_id": run_id, "version": version, "pay_date": pay_date,
            "period_start": (end - timedelta(days=13)).isoformat(), "period_end": end.isoformat(),
            "run_type": extra.pop("run_type", "regular"), "statements": statements, **extra}


def load_prices(client, headers: dict, plan_id: str, prices: list[tuple[str, str, str]]):
    response = client.post(f"/v1/plans/{plan_id}/fund-prices", headers=headers, json={"prices": [
        {"ticker": t, "price_date": d, "price": p} for t, d, p in prices]})
    assert response.status_code == 200, response.json
    return response.json
