"""No PII or secret in any log line: every record logged during a full story through the API (sign-up, elections,
approvals, pay runs, refused requests, a 409, duplicates sent in parallel) is formatted as the root handler would,
tracebacks included, and searched for every SSN, birth date, email, phone, name, token, password and secret the
story used."""
import logging
from datetime import date

import pytest

from tests import scenario
from tests.support.served import all_at_once

PEOPLE = [
    # external id, first name, last name, birth date, SSN, email, phone
    ("L1", "Quintessa", "Vantongeren", "1985-07-19", "123-45-6789", "quintessa.v@mail.example.com", "+1 555 010 4411"),
    ("L2", "Bartholomew", "Okonkwo", "1990-02-01", "555-44-3333", "bart.okonkwo@mail.example.com", "+1 555 010 4422"),
]
NEW_HIRE = ("L3", "Perpetua", "Szczepanski", "1979-11-05", "321-54-9876", "perpetua.sz@mail.example.com",
            "+1 555 010 4433")
RACER = ("L4", "Evangelina", "Thistlewood", "1993-04-27", "246-80-1357", "evangelina.t@mail.example.com",
         "+1 555 010 4444")


class Collected(logging.Handler):
    """Every record, formatted the way a handler on the root logger writes it (traceback and stack included)."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record):
        self.lines.append(self.format(record))


@pytest.fixture
def logged():
    root = logging.getLogger()
    handler, level = Collected(), root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    yield handler
    root.removeHandler(handler)
    root.setLevel(level)


def _row(person, pay="60000.00") -> dict:
    external_id, first, last, born, ssn, email, phone = person
    return scenario.census_row(external_id, born, "2020-01-06", ssn, pay=pay, first_name=first, last_name=last,
                               email=email, phone=phone)


def _birth_date_forms(iso: str) -> list[str]:
    d = date.fromisoformat(iso)
    return [iso, d.strftime("%m/%d/%Y"), d.strftime("%Y%m%d"), d.strftime("%d/%m/%Y"), repr(d),
            f"{d.year}, {d.month}, {d.day}"]


def _signed(served, connection, run):
    body, headers = scenario.signed_request(connection, run)
    return lambda _i: served.client.post(connection["pay_runs_url"], content=body, headers=headers)


def test_a_full_story_logs_no_ssn_birth_date_email_phone_name_token_password_or_secret(app, client, served, plumb,
                                                                                       logged):
    secrets: list[str] = [scenario.ADVISOR_PASSWORD, scenario.SPONSOR_PASSWORD, scenario.PARTICIPANT_PASSWORD,
                          plumb.config.jwt_secret, plumb.config.pii_key]
    advisor = scenario.advisor(app, client, "advisor.logscan@mail.example.com")
    setup = scenario.setup_plan(client, advisor, sponsor_email="sponsor.logscan@mail.example.com",
                                requires_approval=True)
    sponsor_token = scenario.sponsor_token(app, "sponsor.logscan@mail.example.com")
    secrets.append(sponsor_token)
    sponsor_pair = client.post("/v1/auth/invitations/accept", json={
        "token": sponsor_token, "password": scenario.SPONSOR_PASSWORD}).json
    sponsor = scenario.bearer(sponsor_pair["access_token"])
    secrets += [sponsor_pair["access_token"], sponsor_pair["refresh_token"]]
    scenario.sign_adoption_agreement(client, sponsor, setup["plan"]["id"])  # the plan takes pay runs once signed
    employer_id = setup["employer"]["id"]

    # The census, then a bad one (every row refused, values echoed in the answer, never in a log).
    assert scenario.upload_csv(client, sponsor, employer_id, [_row(p) for p in PEOPLE]).status_code == 200
    bad = dict(_row(PEOPLE[0]), ssn="123-45-67890", date_of_birth="1985-19-07")
    assert scenario.upload_csv(client, sponsor, employer_id, [bad]).status_code == 422
    employees = scenario.employees_by_external_id(client, sponsor, employer_id)
    codes = {external_id: scenario.invite_code(app, e) for external_id, e in employees.items()}
    secrets += list(codes.values())

    # Sign-up: a wrong SSN first (401), then the right one.
    wrong = client.post("/mobile/v1/signup", json={"invite_code": codes["L1"], "date_of_birth": "1985-07-19",
                                                   "ssn_last4": "0000", "email": PEOPLE[0][5],
                                                   "password": scenario.PARTICIPANT_PASSWORD})
    assert wrong.status_code == 401
    signup = client.post("/mobile/v1/signup", json={"invite_code": codes["L1"], "date_of_birth": "1985-07-19",
                                                    "ssn_last4": "6789", "email": PEOPLE[0][5],
                                                    "password": scenario.PARTICIPANT_PASSWORD})
    assert signup.status_code == 201, signup.json
    secrets += [signup.json["access_token"], signup.json["refresh_token"]]
    participant = scenario.bearer(signup.json["access_token"])

    # Logins: a wrong password, a right one, a refresh, a reused refresh token (the session ends).
    assert client.post("/v1/auth/login", json={"email": PEOPLE[0][5], "password": "not-my-password-at-all"}
                       ).status_code == 401
    secrets.append("not-my-password-at-all")
    pair = client.post("/v1/auth/login", json={"email": PEOPLE[0][5],
                                               "password": scenario.PARTICIPANT_PASSWORD}).json
    rotated = client.post("/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}).json
    assert client.post("/v1/auth/refresh", json={"refresh_token": pair["refresh_token"]}).status_code == 401
    secrets += [pair["access_token"], pair["refresh_token"], rotated["access_token"], rotated["refresh_token"]]

    # Elections and approvals: one approved, the same approval again is a 409; approvals sent in parallel.
    election = client.post("/mobile/v1/elections", headers=participant,
                           json={"lines": [{"money_type": "pretax", "percent": "6"}]}).json
    headers = {**sponsor, "If-Match": election["etag"]}
    ok = client.post(f"/v1/elections/{election['id']}/approve", json={}, headers=headers)
    assert ok.status_code == 200
    assert client.post(f"/v1/elections/{election['id']}/approve", json={},
                       headers={**sponsor, "If-Match": ok.json["etag"]}).status_code == 409
    second = client.post("/mobile/v1/elections", headers=participant,
                         json={"lines": [{"money_type": "pretax", "percent": "7"}]}).json
    all_at_once(4, lambda _i: served.client.post(f"/v1/elections/{second['id']}/approve", json={},
                                                 headers={**sponsor, "If-Match": second["etag"]}))

    # Pay runs: a connection, a run with a new hire, its retries in parallel, a bad run, a conflicting version.
    connection = scenario.connect_payroll(client, sponsor, employer_id)
    secrets.append(connection["secret"])
    external_id, first, last, born, ssn, email, phone = NEW_HIRE
    hire = {"first_name": first, "last_name": last, "date_of_birth": born, "ssn": ssn, "email": email,
            "phone": phone, "hire_date": "2026-11-02", "annual_compensation": "52000.00"}
    run = scenario.pay_run("LOG-1", "2026-11-20", [scenario.statement("L1", 300000, pretax=18000),
                                                   scenario.statement(external_id, 200000, employee=hire)])
    answers = all_at_once(4, _signed(served, connection, run))
    assert sorted(a.status_code for a in answers) == [200] * 4, [a.text[:300] for a in answers]
    changed = dict(run, statements=run["statements"][:1])
    assert _signed(served, connection, changed)(0).status_code == 409
    malformed = dict(run, provider_run_id="LOG-2", statements=[dict(run["statements"][1], gross_pay_cents=-5)])
    assert _signed(served, connection, malformed)(0).status_code == 422

    # The same new employee uploaded by parallel requests (a replay or a 409, whatever the race gives).
    all_at_once(4, lambda _i: served.client.post(
        f"/v1/employers/{employer_id}/employees/csv", content=scenario.census_csv([_row(RACER)]),
        headers={**sponsor, "content-type": "text/csv"}))

    text = "\n".join(logged.lines)
    assert "POST /v1/plans/setup" in text or logged.lines, "nothing was logged: the capture is not working"
    forbidden: list[str] = list(secrets)
    for _, first, last, born, ssn, email, phone in (*PEOPLE, NEW_HIRE, RACER):
        forbidden += [first, last, ssn, ssn.replace("-", ""), email, phone, phone.replace(" ", "")]
        forbidden += _birth_date_forms(born)
    forbidden += ["advisor.logscan@mail.example.com", "sponsor.logscan@mail.example.com"]
    found = {value: next(line for line in logged.lines if value in line)[:400]
             for value in forbidden if value and value in text}
    assert found == {}
