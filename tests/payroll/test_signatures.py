"""Pay runs from providers are signed (Standard Webhooks: HMAC-SHA256 over id.timestamp.body, five-minute window):
missing, wrong, tampered, stale and future signatures are refused with a 401 problem, and nothing is stored."""
import json
from base64 import b64encode
from datetime import datetime, timedelta, timezone

import pytest
from standardwebhooks.webhooks import Webhook

from tests import scenario
from tests.payroll.support import account_balances, row_counts
from tests.support.problems import assert_problem

NEW_HIRE = {"first_name": "Nia", "last_name": "Hire", "date_of_birth": "1999-02-01", "ssn": "555-44-3333",
            "hire_date": "2020-01-06", "annual_compensation": "39000.00"}


def run_with_new_hire() -> dict:
    """E1 defers, and N9 is a new hire: a stored run would add a census row, a pay run and ledger entries."""
    return scenario.pay_run("SIG-1", "2026-11-20", [
        scenario.statement("E1", 300000, pretax=9000),
        scenario.statement("N9", 150000, employee=NEW_HIRE)])


def headers_for(secret: str, body: str, at: datetime, msg_id: str = "msg_sig_1") -> dict:
    return {"webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())),
            "webhook-signature": Webhook(secret).sign(msg_id, at, body)}


def post(client, connection, body: str, headers: dict):
    return client.post(connection["pay_runs_url"], data=body, content_type="application/json", headers=headers)


def tampered(body: str) -> str:
    """One byte changed: E1's gross pay 300000 becomes 300001."""
    assert body.count('"gross_pay_cents": 300000,') == 1
    changed = body.replace('"gross_pay_cents": 300000,', '"gross_pay_cents": 300001,')
    assert len(changed) == len(body) and sum(a != b for a, b in zip(body, changed)) == 1
    return changed


def _now():
    return datetime.now(timezone.utc)


def other_secret() -> str:
    return "whsec_" + b64encode(b"not the connection's secret, 32b").decode()


REFUSALS = {
    # name: (headers from (secret, body, now), body sent)
    "no headers": (lambda s, b, now: {}, None),
    "no signature header": (lambda s, b, now: {k: v for k, v in headers_for(s, b, now).items()
                                                if k != "webhook-signature"}, None),
    "no timestamp header": (lambda s, b, now: {k: v for k, v in headers_for(s, b, now).items()
                                                if k != "webhook-timestamp"}, None),
    "no id header": (lambda s, b, now: {k: v for k, v in headers_for(s, b, now).items() if k != "webhook-id"}, None),
    "wrong secret": (lambda s, b, now: headers_for(other_secret(), b, now), None),
    "tampered body": (lambda s, b, now: headers_for(s, b, now), tampered),
    "signed for another message id": (lambda s, b, now: {**headers_for(s, b, now), "webhook-id": "msg_other"}, None),
    "six minutes old": (lambda s, b, now: headers_for(s, b, now - timedelta(minutes=6)), None),
    "six minutes ahead": (lambda s, b, now: headers_for(s, b, now + timedelta(minutes=6)), None),
    "garbage signature": (lambda s, b, now: {**headers_for(s, b, now), "webhook-signature": "v1,AAAA"}, None),
}


@pytest.mark.parametrize("case", list(REFUSALS))
def test_bad_signatures_are_refused_and_nothing_is_stored(client, plumb, connection, case):
    make_headers, change_body = REFUSALS[case]
    body = json.dumps(run_with_new_hire())
    before = row_counts(plumb)
    assert (before["pay_runs"], before["ledger_entries"], before["employees"]) == (0, 0, 2)

    response = post(client, connection, change_body(body) if change_body else body,
                    make_headers(connection["secret"], body, _now()))

    assert_problem(response, 401, "unauthenticated")
    assert response.json["title"] == "Authentication required"
    assert [e["field"] for e in response.json["errors"]] == ["webhook-signature"]
    assert row_counts(plumb) == before


def test_a_signature_made_for_another_connection_is_refused(app, client, plumb, connection):
    other = scenario.World(app, client, name="Other Co", advisor_email="a2@example.com",
                           sponsor_email="s2@example.com", ein_prefix="F")
    theirs = scenario.connect_payroll(client, other.sponsor, other.employer_id)
    body = json.dumps(run_with_new_hire())
    before = row_counts(plumb)
    response = post(client, connection, body, headers_for(theirs["secret"], body, _now()))
    assert_problem(response, 401, "unauthenticated")
    assert row_counts(plumb) == before


def test_unknown_connection_is_404(client, plumb, connection):
    body = json.dumps(run_with_new_hire())
    before = row_counts(plumb)
    response = client.post("/v1/payroll/connections/pcn_doesnotexist0000000/pay-runs", data=body,
                           content_type="application/json", headers=headers_for(connection["secret"], body, _now()))
    assert_problem(response, 404, "not-found")
    assert row_counts(plumb) == before


def test_a_replaced_connection_no_longer_takes_pay_runs(client, plumb, world, connection):
    newer = scenario.connect_payroll(client, world.sponsor, world.employer_id)
    body = json.dumps(run_with_new_hire())
    before = row_counts(plumb)
    response = post(client, connection, body, headers_for(connection["secret"], body, _now()))
    assert_problem(response, 404, "not-found")
    assert row_counts(plumb) == before
    assert post(client, newer, body, headers_for(newer["secret"], body, _now())).status_code == 200


@pytest.mark.parametrize("age", [timedelta(minutes=-4), timedelta(0), timedelta(minutes=4)])
def test_a_valid_signature_inside_the_window_is_accepted(client, plumb, world, connection, age):
    body = json.dumps(run_with_new_hire())
    response = post(client, connection, body, headers_for(connection["secret"], body, _now() - age))
    assert response.status_code == 200, response.json
    assert (response.json["posted"], response.json["held"], response.json["replayed"]) == (2, 0, False)
    assert response.json["pay_run"]["received_via"] == "api"
    # 3% deferred earns the safe-harbor 3% match; the new hire defers nothing and gets none.
    assert response.json["pay_run"]["totals"] == {"pretax": 9000, "employer_match": 9000}
    after = row_counts(plumb)
    assert (after["pay_runs"], after["pay_statements"], after["employees"]) == (1, 2, 3)
    # Deposited from payroll clearing into trust cash, and on to E1's cash waiting for a PLTDX price.
    balances = account_balances(plumb, world.plan_id)
    assert balances.pop("payroll_clearing") == (-18000, "0") and balances.pop("trust_cash") == (0, "0")
    assert {key.split(":")[2]: cents for key, (cents, _) in balances.items()} == {"pretax": 9000, "employer_match": 9000}
    assert all(key.startswith(f"participant_pending:{world.employee['id']}:") for key in balances)
