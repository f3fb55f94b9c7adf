"""Money and edge input through the HTTP API (security review 2026-11, M-6, M-7, M-8, L-1, L-7, L-9): a correction
passes a pay run's checks, an amount election above pay is refused or capped and flagged, cents are whole, edge
values are refused with a listed 422, 404s do not tell tenants' ids apart, and dates are plausible."""
import json
from datetime import datetime, timezone

import pytest
from standardwebhooks.webhooks import Webhook

from tests import scenario
from tests.support.problems import assert_problem, validation_fields

PAY_DATE = "2026-12-04"


def send(client, connection, run: dict, status: int = 200):
    response = scenario.signed_post(client, connection, run)
    assert response.status_code == status, response.json
    return response


def elect(client, participant, *lines, status: int = 201):
    response = client.post("/mobile/v1/elections", headers=participant, json={"lines": list(lines)})
    assert response.status_code == status, response.json
    return response


def open_exceptions(client, world) -> list[dict]:
    response = client.get(f"/v1/employers/{world.employer_id}/payroll-exceptions?status=open", headers=world.sponsor)
    assert response.status_code == 200, response.json
    return response.json["data"]


def resolve(client, headers, exception_id: str, **body):
    return client.post(f"/v1/payroll-exceptions/{exception_id}/resolve", headers=headers, json=body)


def limits(client, participant) -> dict:
    response = client.get("/mobile/v1/limits", headers=participant)
    assert response.status_code == 200, response.json
    return response.json


# ---- M-6: a correction passes the checks a pay run passes ------------------------------------------------------

def test_a_correction_whose_withholdings_pass_gross_pay_is_refused_as_a_pay_run_would_be(client, world, connection):
    elect(client, world.participant, {"money_type": "pretax", "percent": "6"})
    send(client, connection, scenario.pay_run("R-1", PAY_DATE, [scenario.statement("E1", 300000, pretax=6000)]))
    [mismatch] = open_exceptions(client, world)
    before = limits(client, world.participant)
    refused = resolve(client, world.sponsor, mismatch["id"], action="correct", note="typo",
                      withholdings={"pretax": 100000000000, "roth": 100000000000})
    assert validation_fields(refused) == ["withholdings"]
    assert refused.json["errors"][0]["message"] == "add up to more than gross pay"
    assert limits(client, world.participant) == before
    assert [e["id"] for e in open_exceptions(client, world)] == [mismatch["id"]]


def test_a_correction_past_the_402g_limit_is_held_with_the_finding_a_pay_run_would_raise(client, world, connection):
    """IRC 402(g)(1): $24,500 in 2026 for someone under 50. The statement paid $30,000 and withheld $60 against a 6%
    election; the sponsor 'corrects' it to $25,000, which passes the limit: the correction is held, not posted."""
    elect(client, world.participant, {"money_type": "pretax", "percent": "6"})
    send(client, connection, scenario.pay_run("R-1", PAY_DATE, [scenario.statement("E1", 3000000, pretax=6000)]))
    assert limits(client, world.participant)["deferred_here_cents"] == 6000
    [mismatch] = open_exceptions(client, world)
    corrected = resolve(client, world.sponsor, mismatch["id"], action="correct", withholdings={"pretax": 2500000})
    assert corrected.status_code == 200, corrected.json
    assert corrected.json["status"] == "corrected"
    found = {e["code"]: e for e in open_exceptions(client, world)}
    assert sorted((e["code"], e["severity"]) for e in found.values()) == [("deferral_mismatch", "warning"),
                                                                         ("over_402g", "hold")]
    held = found["over_402g"]
    assert held["details"]["deferred_cents"] == 2500000
    assert limits(client, world.participant)["deferred_here_cents"] == 0
    # Accepting the hold posts the corrected amount, once.
    accepted = resolve(client, world.sponsor, held["id"], action="accept", note="refund due in April")
    assert accepted.status_code == 200, accepted.json
    assert limits(client, world.participant)["deferred_here_cents"] == 2500000


# ---- M-8: cents are whole ----------------------------------------------------------------------------------------

WHOLE_CENTS = "must be a whole number of cents"


def test_a_pay_run_with_a_fraction_of_a_cent_is_refused_with_every_field_listed(client, world, connection):
    run = scenario.pay_run("FRAC-1", PAY_DATE, [{
        "external_id": "E2", "gross_pay_cents": 576923.99, "plan_compensation_cents": "576923",
        "withholdings": {"pretax": 20000.99}}])
    refused = send(client, connection, run, status=422)
    assert_problem(refused, 422, "validation")
    assert sorted((e["field"], e["message"]) for e in refused.json["errors"]) == [
        ("statements[0].gross_pay_cents", WHOLE_CENTS), ("statements[0].plan_compensation_cents", WHOLE_CENTS),
        ("statements[0].withholdings.pretax.value", WHOLE_CENTS)]
    assert limits(client, world.participant)["deferred_here_cents"] == 0


def test_elections_and_outside_deferrals_refuse_a_fraction_of_a_cent(client, world):
    for amount in (5000.75, "5000.75", "5000"):
        line = {"money_type": "pretax", "amount_cents": amount}
        for path in ("/mobile/v1/elections/preview", "/mobile/v1/elections"):
            refused = client.post(path, headers=world.participant, json={"lines": [line]})
            assert validation_fields(refused) == ["lines[0].amount_cents"], path
            assert refused.json["errors"][0]["message"] == WHOLE_CENTS
        refused = client.put("/mobile/v1/outside-deferrals", headers=world.participant,
                             json={"calendar_year": 2026, "amount_cents": amount, "other_employer": "Elsewhere"})
        assert validation_fields(refused) == ["amount_cents"]
        assert refused.json["errors"][0]["message"] == WHOLE_CENTS
    assert client.get("/mobile/v1/elections", headers=world.participant).json == []
    assert limits(client, world.participant)["deferred_elsewhere_cents"] == 0


# ---- M-7: an amount election larger than a paycheck --------------------------------------------------------------

def test_an_amount_above_the_pay_per_paycheck_is_refused_at_preview_and_submission(client, world):
    """E1 earns $72,000 a year, paid biweekly: $2,769.23 a paycheck."""
    line = {"money_type": "pretax", "amount_cents": 9999999}
    for path in ("/mobile/v1/elections/preview", "/mobile/v1/elections"):
        refused = client.post(path, headers=world.participant, json={"lines": [line]})
        assert validation_fields(refused) == ["lines"], path
        assert "$2,769.23" in refused.json["errors"][0]["message"]
    mixed = [{"money_type": "pretax", "percent": "50"}, {"money_type": "roth", "amount_cents": 200000}]
    assert validation_fields(client.post("/mobile/v1/elections/preview", headers=world.participant,
                                         json={"lines": mixed})) == ["lines"]
    assert client.get("/mobile/v1/elections", headers=world.participant).json == []


def test_a_census_pay_cut_below_an_amount_election_caps_and_flags_its_match_and_breaks_no_view(app, client):
    """The review's story: a valid $2,500 a paycheck election while pay is $72,000 a year, then the sponsor cuts
    pay to $30,000 ($1,153.85 a paycheck). The approval queue, /me and the election history still answer; the match
    is priced at 100% of pay and flagged, and the sponsor can still approve."""
    world = scenario.World(app, client, requires_approval=True)
    election = elect(client, world.participant, {"money_type": "pretax", "amount_cents": 250000}).json
    assert election["match"]["flag"] is None
    rows = [scenario.census_row("E1", "1985-07-19", "2024-03-15", "123-45-6789", pay="30000.00"),
            scenario.census_row("E2", "2006-03-10", "2026-06-01", "987-65-4321", pay="31000.00")]
    assert scenario.upload_csv(client, world.sponsor, world.employer_id, rows).status_code == 200
    queue = client.get(f"/v1/plans/{world.plan_id}/approvals", headers=world.sponsor)
    assert queue.status_code == 200, queue.json
    [waiting] = queue.json["data"]
    assert (waiting["id"], waiting["match"]["flag"], waiting["match"]["deferral_percent"]) == (
        election["id"], "amount exceeds pay", "100")
    views = ("/mobile/v1/me", "/mobile/v1/elections", f"/v1/employees/{world.employee['id']}/elections")
    for path in views:
        assert client.get(path, headers=world.sponsor if path.startswith("/v1") else world.participant
                          ).status_code == 200, path
    approved = client.post(f"/v1/elections/{election['id']}/approve", json={},
                           headers={**world.sponsor, "If-Match": waiting["etag"]})
    assert approved.status_code == 200, approved.json
    for path in views:
        assert client.get(path, headers=world.sponsor if path.startswith("/v1") else world.participant
                          ).status_code == 200, path


# ---- L-1: edge input answers a listed 422, never a 500 -----------------------------------------------------------

def _raw_json(client, path, raw: str, headers=None, content_type="application/json", method="post"):
    return getattr(client, method)(path, data=raw.encode(), content_type=content_type, headers=headers or {})


def test_a_lone_surrogate_anywhere_in_a_json_body_is_refused(client, world):
    login = _raw_json(client, "/v1/auth/login", '{"email":"x@y.test","password":"\\udfff"}')
    assert validation_fields(login) == ["body"]
    row = scenario.census_row("E9", "1990-01-01", "2020-01-01", "111-22-3333")
    body = json.dumps({"employees": [{**row, "first_name": "@@"}]}).replace("@@", "\\ud800")
    census = _raw_json(client, f"/v1/employers/{world.employer_id}/employees", body, world.sponsor)
    assert validation_fields(census) == ["body"]
    assert "E9" not in scenario.employees_by_external_id(client, world.sponsor, world.employer_id)
    # A valid pair of escapes is one character (an emoji), and passes.
    paired = _raw_json(client, "/v1/auth/login", '{"email":"x@y.test","password":"\\ud83d\\ude00xxxxxxxx"}')
    assert paired.status_code == 401, paired.json


def test_a_decimal_with_a_huge_exponent_is_refused(client, world):
    for percent in ("1e999999999", "-1e999999999", "1e-999999999"):
        refused = client.post("/mobile/v1/elections/preview", headers=world.participant,
                              json={"lines": [{"money_type": "pretax", "percent": percent}]})
        assert "lines[0].percent" in validation_fields(refused), percent
    refused = _raw_json(client, "/mobile/v1/elections/preview",
                        '{"lines":[{"money_type":"pretax","percent":1e999999999}]}', world.participant)
    assert_problem(refused, 422, "validation")


def test_plan_setup_with_a_fund_lacking_a_ticker_lists_the_missing_ticker(app, client):
    advisor = scenario.advisor(app, client)
    request = scenario.plan_request(funds=[{"name": "x"}])
    refused = client.post("/v1/plans/setup", json=request, headers=advisor)
    assert "plan.funds[0].ticker" in validation_fields(refused)


def test_a_nul_character_in_a_text_plain_body_to_the_signed_endpoints_is_refused(client, world, connection):
    body = json.dumps(scenario.pay_run("NUL-1", PAY_DATE, [scenario.statement("E1", 300000, hours="8\u00000")]))
    at, msg_id = datetime.now(timezone.utc), "msg_nul_1"
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(int(at.timestamp())),
               "webhook-signature": Webhook(connection["secret"]).sign(msg_id, at, body)}
    refused = _raw_json(client, connection["pay_runs_url"], body, headers, content_type="text/plain")
    assert validation_fields(refused) == ["body"]
    ack = _raw_json(client, "/v1/payroll/deferral-changes/ack", '{"ids":["msg_\\u0000x"]}',
                    {"plumb-connection-id": connection["id"]}, content_type="text/plain")
    assert validation_fields(ack) == ["body"]
    assert limits(client, world.participant)["deferred_here_cents"] == 0


# ---- L-9: plausible dates ----------------------------------------------------------------------------------------

IMPLAUSIBLE_ROWS = [  # (date_of_birth, hire_date, the fields refused); the app's today is 2026-11-24
    ("1800-01-01", "1990-01-01", ["date_of_birth"]),
    ("0001-01-01", "0015-01-01", ["date_of_birth"]),
    ("2027-01-01", "2027-02-01", ["date_of_birth", "hire_date"]),
    ("1990-01-01", "9999-12-31", ["hire_date"]),
    ("2000-06-01", "2014-05-31", ["hire_date"]),
]


@pytest.mark.parametrize("born, hired, refused", IMPLAUSIBLE_ROWS)
def test_a_census_row_with_an_implausible_date_is_refused_whether_json_or_csv(client, world, born, hired, refused):
    row = scenario.census_row("E9", born, hired, "111-22-3333")
    as_json = client.post(f"/v1/employers/{world.employer_id}/employees", json={"employees": [row]},
                          headers=world.sponsor)
    assert validation_fields(as_json) == [f"employees[0].{name}" for name in refused]
    as_csv = scenario.upload_csv(client, world.sponsor, world.employer_id, [row])
    assert sorted(f.rsplit(".", 1)[-1] for f in validation_fields(as_csv)) == sorted(refused)
    assert "E9" not in scenario.employees_by_external_id(client, world.sponsor, world.employer_id)


def test_a_hire_at_fourteen_on_the_day_is_plausible(client, world):
    row = scenario.census_row("E9", "2000-06-01", "2014-06-01", "111-22-3333")
    accepted = client.post(f"/v1/employers/{world.employer_id}/employees", json={"employees": [row]},
                           headers=world.sponsor)
    assert accepted.status_code == 200, accepted.json


@pytest.mark.parametrize("effective, anchor", [("9999-12-31", "0001-01-01"), ("0001-01-01", "9999-12-31")])
def test_plan_setup_refuses_implausible_plan_dates(app, client, effective, anchor):
    advisor = scenario.advisor(app, client)
    request = scenario.plan_request(effective_date=effective)
    request["employer"]["payroll"]["anchor_pay_date"] = anchor
    refused = client.post("/v1/plans/setup", json=request, headers=advisor)
    assert sorted(validation_fields(refused)) == ["employer.payroll.anchor_pay_date", "plan.effective_date"]
    assert client.get("/v1/employers", headers=advisor).json == []


def test_a_pay_run_dated_more_than_two_years_from_today_is_refused(client, world, connection):
    run = scenario.pay_run("OLD-1", "2024-06-07", [scenario.statement("E1", 300000, pretax=6000)])
    refused = send(client, connection, run, status=422)
    assert validation_fields(refused) == ["pay_date", "period_start", "period_end"]
    ends = scenario.pay_run("END-1", PAY_DATE, [scenario.statement("E1", 300000, termination_date="9999-12-31")])
    assert validation_fields(send(client, connection, ends, status=422)) == ["statements[0].termination_date"]
    assert limits(client, world.participant)["deferred_here_cents"] == 0


# ---- L-7: another tenant's ids read exactly as unknown ones ------------------------------------------------------

def test_another_tenants_ids_get_the_same_404_as_ids_that_do_not_exist(app, client):
    acme = scenario.World(app, client, requires_approval=True)
    beta = scenario.World(app, client, name="Beta Widgets Inc", advisor_email="advisor2@example.com",
                          sponsor_email="sponsor2@example.com", ein_prefix="B")
    connection = scenario.connect_payroll(client, acme.sponsor, acme.employer_id)
    first = elect(client, acme.participant, {"money_type": "pretax", "percent": "6"}).json
    approved = client.post(f"/v1/elections/{first['id']}/approve", json={},
                           headers={**acme.sponsor, "If-Match": first["etag"]})
    assert approved.status_code == 200, approved.json
    pending = elect(client, acme.participant, {"money_type": "pretax", "percent": "7"}).json
    run = send(client, connection, scenario.pay_run("R-1", PAY_DATE, [scenario.statement("E1", 300000, pretax=6000)]))
    [exception] = open_exceptions(client, acme)
    [message] = client.get(f"/v1/employers/{acme.employer_id}/payroll-messages?status=all",
                           headers=acme.sponsor).json["data"]
    calls = {  # what beta's sponsor sends, given an id
        "election approve": lambda i: client.post(f"/v1/elections/{i}/approve", json={},
                                                  headers={**beta.sponsor, "If-Match": pending["etag"]}),
        "election reject": lambda i: client.post(f"/v1/elections/{i}/reject", json={"reason": "no"},
                                                 headers={**beta.sponsor, "If-Match": pending["etag"]}),
        "pay run": lambda i: client.get(f"/v1/pay-runs/{i}", headers=beta.sponsor),
        "exception": lambda i: resolve(client, beta.sponsor, i, action="accept"),
        "message": lambda i: client.post(f"/v1/payroll-messages/{i}/retry", headers=beta.sponsor),
    }
    acme_ids = {"election approve": pending["id"], "election reject": pending["id"],
                "pay run": run.json["pay_run"]["id"], "exception": exception["id"], "message": message["id"]}
    for what, call in calls.items():
        theirs, unknown = call(acme_ids[what]), call(acme_ids[what][:4] + "0" * (len(acme_ids[what]) - 4))
        assert_problem(unknown, 404, "not-found")
        assert_problem(theirs, 404, "not-found", detail=unknown.json["detail"])
    bulk = {"decision": "approve", "elections": [{"election_id": pending["id"], "etag": pending["etag"]},
                                                 {"election_id": "del_" + "0" * 20, "etag": pending["etag"]}]}
    answer = client.post(f"/v1/plans/{beta.plan_id}/approvals/bulk", json=bulk, headers=beta.sponsor)
    assert answer.status_code == 200, answer.json
    theirs, unknown = answer.json["results"]
    assert {k: v for k, v in theirs.items() if k != "election_id"} == {
        k: v for k, v in unknown.items() if k != "election_id"}
