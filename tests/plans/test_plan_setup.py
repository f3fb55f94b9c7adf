"""Plan setup through HTTP: templates, overrides, rule validation (every problem at once), EIN uniqueness, the 414A
notice, idempotent replay, reading back what was set up, and the OpenAPI document."""
import pytest

from tests import scenario
from tests.support.problems import validation_fields as fields_of

DEFAULT_TICKERS = ["PLTDX", "PLUSX", "PLINX", "PLBDX", "PLSVX"]
AUTO_ENROLL_DEFAULTS = {"enabled": True, "default_percent": "3", "escalation_step_percent": "1",
                        "escalation_cap_percent": "10", "opt_out_window_days": 90, "notice_days": 30}
NOTICE_414A_OFF = ("IRC 414A: plans established after 2022-12-29 must use automatic enrollment from 2025 unless the "
                   "employer has 10 or fewer employees or is under 3 years old; this plan has it off.")


@pytest.fixture
def advisor(app, client):
    return scenario.advisor(app, client)


def setup(client, headers, body, **extra_headers):
    return client.post("/v1/plans/setup", json=body, headers={**headers, **extra_headers})


def employers(client, headers) -> list[dict]:
    response = client.get("/v1/employers", headers=headers)
    assert response.status_code == 200, response.json
    return response.json


def single_default(plan: dict) -> str:
    defaults = [f["ticker"] for f in plan["funds"] if f["is_default"]]
    assert len(defaults) == 1, plan["funds"]
    return defaults[0]


# ---- templates ----------------------------------------------------------------------------------------------------

def test_safe_harbor_match_template(client, advisor):
    response = setup(client, advisor, scenario.plan_request(template="safe_harbor_match"))
    assert response.status_code == 201, response.json
    plan = response.json["plan"]
    assert plan["id"].startswith("pln_") and plan["template"] == "safe_harbor_match"
    assert plan["name"] == "Acme Bakery LLC 401(k) Plan"
    assert (plan["effective_date"], plan["plan_year_start"]) == ("2026-01-01", "01-01")
    assert plan["eligibility"] == {"min_age": 21, "service_months": 0, "entry_frequency": "monthly",
                                   "long_term_part_time": True}
    assert plan["auto_enrollment"] == AUTO_ENROLL_DEFAULTS
    assert plan["match_tiers"] == [
        {"deferral_from_percent": "0", "deferral_to_percent": "3", "match_rate_percent": "100"},
        {"deferral_from_percent": "3", "deferral_to_percent": "5", "match_rate_percent": "50"}]
    assert plan["safe_harbor"] == "basic_match"
    assert plan["vesting"] == {"employer_match": "immediate", "profit_sharing": "graded_6"}
    assert (plan["requires_approval"], plan["roth_allowed"]) == (False, True)
    assert [f["ticker"] for f in plan["funds"]] == DEFAULT_TICKERS
    assert single_default(plan) == "PLTDX"
    assert all(f["id"].startswith("fnd_") for f in plan["funds"])
    assert response.json["notices"] == []


def test_traditional_template(client, advisor):
    response = setup(client, advisor, scenario.plan_request(template="traditional"))
    assert response.status_code == 201, response.json
    plan = response.json["plan"]
    assert plan["template"] == "traditional"
    assert plan["eligibility"] == {"min_age": 21, "service_months": 12, "entry_frequency": "semi_annual",
                                   "long_term_part_time": True}
    assert plan["auto_enrollment"] == AUTO_ENROLL_DEFAULTS
    assert plan["match_tiers"] == [{"deferral_from_percent": "0", "deferral_to_percent": "6", "match_rate_percent": "50"}]
    assert plan["safe_harbor"] == "none"
    assert plan["vesting"] == {"employer_match": "graded_6", "profit_sharing": "graded_6"}
    assert plan["requires_approval"] is True
    assert [f["ticker"] for f in plan["funds"]] == DEFAULT_TICKERS
    assert single_default(plan) == "PLTDX"


def test_starter_template(client, advisor):
    response = setup(client, advisor, scenario.plan_request(template="starter"))
    assert response.status_code == 201, response.json
    plan = response.json["plan"]
    assert plan["template"] == "starter"
    assert plan["eligibility"] == {"min_age": 18, "service_months": 0, "entry_frequency": "immediate",
                                   "long_term_part_time": True}
    assert plan["auto_enrollment"] == AUTO_ENROLL_DEFAULTS
    assert plan["match_tiers"] == []
    assert plan["safe_harbor"] == "none"
    assert plan["vesting"] == {}
    assert plan["requires_approval"] is False
    assert [f["ticker"] for f in plan["funds"]] == DEFAULT_TICKERS
    assert single_default(plan) == "PLTDX"


def test_setup_returns_employer_and_sponsor_invitation(client, advisor):
    body = scenario.plan_request(name="Zephyr Tools Inc", sponsor_email="Boss@Zephyr.example")
    response = setup(client, advisor, body)
    assert response.status_code == 201, response.json
    employer = response.json["employer"]
    assert employer["id"].startswith("org_")
    assert (employer["name"], employer["ein"]) == ("Zephyr Tools Inc", body["employer"]["ein"])
    assert employer["address"] == {"line1": "1 Main St", "line2": None, "city": "Provo", "state": "UT",
                                   "postal_code": "84601"}
    assert employer["payroll"] == {"frequency": "biweekly", "anchor_pay_date": "2026-01-02"}
    assert [p["id"] for p in employer["plans"]] == [response.json["plan"]["id"]]
    assert response.json["plan"]["employer_id"] == employer["id"]
    invitation = response.json["sponsor_invitation"]
    # The token goes to the sponsor admin only: with it, the advisor could accept it and act as the sponsor.
    assert set(invitation) == {"email", "expires_at"} and invitation["email"] == "boss@zephyr.example"


def test_explicit_fields_override_the_template(client, advisor):
    funds = [{"ticker": "VFIAX", "name": "500 Index", "asset_class": "us_equity"},
             {"ticker": "VTTSX", "name": "Target 2060", "asset_class": "target_date", "default": True}]
    body = scenario.plan_request(
        template="safe_harbor_match", plan_year_start="07-01",
        eligibility={"min_age": 18, "service_months": 3},
        auto_enrollment={"default_percent": "6", "escalation_cap_percent": "15"},
        match_tiers=[{"deferral_from_percent": "0", "deferral_to_percent": "4", "match_rate_percent": "100"}],
        safe_harbor="enhanced_match", vesting={"profit_sharing": "cliff_3"},
        requires_approval=True, roth_allowed=False, funds=funds)
    body["plan"]["name"] = "Acme Retirement Savings Plan"
    response = setup(client, advisor, body)
    assert response.status_code == 201, response.json
    plan = response.json["plan"]
    assert plan["name"] == "Acme Retirement Savings Plan"
    assert plan["plan_year_start"] == "07-01"
    # Nested objects are merged: what is not given comes from the template.
    assert plan["eligibility"] == {"min_age": 18, "service_months": 3, "entry_frequency": "monthly",
                                   "long_term_part_time": True}
    assert plan["auto_enrollment"] == {**AUTO_ENROLL_DEFAULTS, "default_percent": "6", "escalation_cap_percent": "15"}
    assert plan["match_tiers"] == [{"deferral_from_percent": "0", "deferral_to_percent": "4", "match_rate_percent": "100"}]
    assert plan["safe_harbor"] == "enhanced_match"
    assert plan["vesting"] == {"employer_match": "immediate", "profit_sharing": "cliff_3"}
    assert (plan["requires_approval"], plan["roth_allowed"]) == (True, False)
    assert [(f["ticker"], f["name"], f["asset_class"], f["is_default"]) for f in plan["funds"]] == [
        ("VFIAX", "500 Index", "us_equity", False), ("VTTSX", "Target 2060", "target_date", True)]
    assert response.json["notices"] == []


# ---- invalid rules --------------------------------------------------------------------------------------------------

FOUR_YEAR_CLIFF = {"0": "0", "1": "0", "2": "0", "3": "0", "4": "100"}
OVERLAPPING_TIERS = [{"deferral_from_percent": "0", "deferral_to_percent": "4", "match_rate_percent": "100"},
                     {"deferral_from_percent": "3", "deferral_to_percent": "6", "match_rate_percent": "50"}]
TWO_DEFAULT_FUNDS = [{"ticker": "AAAAX", "name": "Fund A", "default": True},
                     {"ticker": "BBBBX", "name": "Fund B", "default": True}]


def test_every_rule_problem_is_listed_in_one_422(client, advisor):
    body = scenario.plan_request(template="traditional", vesting={"employer_match": FOUR_YEAR_CLIFF},
                                 auto_enrollment={"default_percent": "2"}, match_tiers=OVERLAPPING_TIERS,
                                 eligibility={"min_age": 22}, funds=TWO_DEFAULT_FUNDS)
    fields = fields_of(setup(client, advisor, body))
    for expected in ("plan.vesting.employer_match", "plan.auto_enrollment.default_percent",
                     "plan.match_tiers[1].deferral_from_percent", "plan.eligibility.min_age", "plan.funds"):
        assert expected in fields, fields
    assert employers(client, advisor) == []


def test_rule_problems_beyond_the_schema_are_all_listed_and_nothing_stored(client, advisor):
    body = scenario.plan_request(template="traditional", vesting={"employer_match": FOUR_YEAR_CLIFF},
                                 auto_enrollment={"default_percent": "2"}, match_tiers=OVERLAPPING_TIERS,
                                 funds=TWO_DEFAULT_FUNDS)
    response = setup(client, advisor, body)
    fields = fields_of(response)
    assert sorted(fields) == sorted(["plan.vesting.employer_match", "plan.auto_enrollment.default_percent",
                                     "plan.match_tiers[1].deferral_from_percent", "plan.funds"])
    assert response.json["detail"] == "4 problems found; nothing was stored."
    messages = {e["field"]: e["message"] for e in response.json["errors"]}
    assert "overlaps match tier 0" in messages["plan.match_tiers[1].deferral_from_percent"]
    assert "exactly one fund must be the default" in messages["plan.funds"]
    assert employers(client, advisor) == []


def test_min_age_over_21_is_rejected(client, advisor):
    fields = fields_of(setup(client, advisor, scenario.plan_request(eligibility={"min_age": 22})))
    assert fields == ["plan.eligibility.min_age"]
    assert employers(client, advisor) == []


@pytest.mark.parametrize("auto", [
    {"default_percent": "6", "escalation_cap_percent": "16"},   # above 15
    {"default_percent": "6", "escalation_cap_percent": "5"},    # below the default
])
def test_escalation_cap_outside_default_to_15_is_rejected(client, advisor, auto):
    fields = fields_of(setup(client, advisor, scenario.plan_request(auto_enrollment=auto)))
    assert fields == ["plan.auto_enrollment.escalation_cap_percent"]
    assert employers(client, advisor) == []


@pytest.mark.parametrize("cap", ["15", "6"])
def test_escalation_cap_at_the_bounds_is_accepted(client, advisor, cap):
    response = setup(client, advisor, scenario.plan_request(auto_enrollment={"default_percent": "6",
                                                                             "escalation_cap_percent": cap}))
    assert response.status_code == 201, response.json
    assert response.json["plan"]["auto_enrollment"]["escalation_cap_percent"] == cap


def test_safe_harbor_match_must_vest_immediately(client, advisor):
    body = scenario.plan_request(template="safe_harbor_match", vesting={"employer_match": "cliff_3"})
    response = setup(client, advisor, body)
    assert fields_of(response) == ["plan.vesting.employer_match"]
    assert "100% vested immediately" in response.json["errors"][0]["message"]
    assert employers(client, advisor) == []


QACA_TIERS = [{"deferral_from_percent": "0", "deferral_to_percent": "1", "match_rate_percent": "100"},
              {"deferral_from_percent": "1", "deferral_to_percent": "6", "match_rate_percent": "50"}]


def test_qaca_match_may_use_a_two_year_cliff(client, advisor):
    body = scenario.plan_request(safe_harbor="qaca_match", match_tiers=QACA_TIERS, vesting={"employer_match": "cliff_2"})
    response = setup(client, advisor, body)
    assert response.status_code == 201, response.json
    assert response.json["plan"]["safe_harbor"] == "qaca_match"
    assert response.json["plan"]["vesting"]["employer_match"] == "cliff_2"
    # ...but not a three-year cliff.
    body = scenario.plan_request(safe_harbor="qaca_match", match_tiers=QACA_TIERS, vesting={"employer_match": "cliff_3"})
    assert fields_of(setup(client, advisor, body)) == ["plan.vesting.employer_match"]


def test_custom_graded_schedule_faster_than_two_to_six_is_accepted(client, advisor):
    schedule = {"0": "0", "1": "20", "2": "40", "3": "60", "4": "80", "5": "100"}
    response = setup(client, advisor, scenario.plan_request(template="traditional", vesting={"employer_match": schedule}))
    assert response.status_code == 201, response.json
    assert response.json["plan"]["vesting"] == {"employer_match": schedule, "profit_sharing": "graded_6"}


def test_custom_graded_schedule_slower_than_two_to_six_is_rejected(client, advisor):
    schedule = {"0": "0", "1": "0", "2": "0", "3": "20", "4": "40", "5": "60", "6": "80", "7": "100"}
    response = setup(client, advisor, scenario.plan_request(template="traditional", vesting={"employer_match": schedule}))
    assert fields_of(response) == ["plan.vesting.employer_match"]
    assert "slower than the law allows" in response.json["errors"][0]["message"]
    assert employers(client, advisor) == []


def test_custom_schedule_with_a_year_that_is_not_a_number_is_a_422(client, advisor):
    response = setup(client, advisor, scenario.plan_request(template="traditional",
                                                            vesting={"employer_match": {"zero": "0", "3": "100"}}))
    assert fields_of(response) == ["plan.vesting.employer_match"]
    assert employers(client, advisor) == []


def test_duplicate_ein_is_rejected(client, advisor):
    first = scenario.plan_request(name="First Co")
    assert setup(client, advisor, first).status_code == 201
    second = scenario.plan_request(name="Second Co")
    second["employer"]["ein"] = first["employer"]["ein"].replace("-", "")  # same EIN written without the dash
    response = setup(client, advisor, second)
    assert fields_of(response) == ["employer.ein"]
    assert [e["name"] for e in employers(client, advisor)] == ["First Co"]


# ---- 414A notice ------------------------------------------------------------------------------------------------------

def test_414a_notice_when_auto_enrollment_is_off_for_a_new_plan(client, advisor):
    response = setup(client, advisor, scenario.plan_request(auto_enrollment={"enabled": False}))
    assert response.status_code == 201, response.json
    assert response.json["notices"] == [NOTICE_414A_OFF]
    assert response.json["plan"]["auto_enrollment"]["enabled"] is False


def test_no_414a_notice_for_a_plan_established_before_secure_2(client, advisor):
    response = setup(client, advisor, scenario.plan_request(effective_date="2020-01-01",
                                                            auto_enrollment={"enabled": False}))
    assert response.status_code == 201, response.json
    assert response.json["notices"] == []


# ---- idempotency ------------------------------------------------------------------------------------------------------

def test_idempotency_key_repeat_creates_one_employer_and_does_not_show_the_invitation_token_again(client, advisor):
    body = scenario.plan_request()
    first = setup(client, advisor, body, **{"Idempotency-Key": "setup-acme-1"})
    assert first.status_code == 201, first.json
    replay = setup(client, advisor, body, **{"Idempotency-Key": "setup-acme-1"})
    assert replay.status_code == 409, replay.json
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert replay.json["type"] == "https://plumb.dev/problems/secret-shown-once"
    assert first.json["employer"]["id"] in replay.json["detail"]
    assert "token" not in first.json["sponsor_invitation"]
    assert scenario.sponsor_token(client.application, "sponsor@example.com") not in replay.get_data(as_text=True)
    assert [e["id"] for e in employers(client, advisor)] == [first.json["employer"]["id"]]

    # The same key with another body is refused, and creates nothing.
    other = setup(client, advisor, scenario.plan_request(name="Other Co"), **{"Idempotency-Key": "setup-acme-1"})
    assert other.status_code == 422, other.json
    assert other.json["type"] == "https://plumb.dev/problems/idempotency-key-reused"
    assert len(employers(client, advisor)) == 1


# ---- reading back -----------------------------------------------------------------------------------------------------

def test_advisor_reads_back_what_was_set_up(app, client, advisor):
    created = setup(client, advisor, scenario.plan_request(template="traditional", name="Birch Dental PC")).json
    employer_id, plan_id = created["employer"]["id"], created["plan"]["id"]

    listed = employers(client, advisor)
    assert listed == [created["employer"]]

    response = client.get(f"/v1/employers/{employer_id}", headers=advisor)
    assert response.status_code == 200, response.json
    assert response.json == created["employer"]
    assert response.json["plans"] == [created["plan"]]

    response = client.get(f"/v1/plans/{plan_id}", headers=advisor)
    assert response.status_code == 200, response.json
    assert response.json == created["plan"]

    # Another advisor sees none of it.
    stranger = scenario.advisor(app, client, "stranger@example.com")
    assert employers(client, stranger) == []
    assert client.get(f"/v1/employers/{employer_id}", headers=stranger).status_code == 404
    assert client.get(f"/v1/plans/{plan_id}", headers=stranger).status_code == 404


def test_plan_setup_needs_an_advisor(app, client, advisor):
    assert client.post("/v1/plans/setup", json=scenario.plan_request()).status_code == 401
    created = setup(client, advisor, scenario.plan_request()).json
    sponsor = scenario.accept_sponsor(client, created)
    response = setup(client, sponsor, scenario.plan_request())
    assert response.status_code == 403, response.json
    assert [e["id"] for e in employers(client, advisor)] == [created["employer"]["id"]]


# ---- OpenAPI ----------------------------------------------------------------------------------------------------------

HTTP_METHODS = {"get", "put", "post", "delete", "patch", "head", "options"}


def test_openapi_lists_the_paths(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    spec = response.json
    for path, method in [("/v1/auth/login", "post"), ("/v1/auth/refresh", "post"), ("/v1/auth/logout", "post"),
                         ("/v1/auth/me", "get"), ("/v1/auth/invitations/accept", "post"), ("/v1/plans/setup", "post"),
                         ("/v1/employers", "get"), ("/v1/employers/{employer_id}", "get"),
                         ("/v1/plans/{plan_id}", "get"), ("/v1/employers/{employer_id}/employees", "get"),
                         ("/v1/employers/{employer_id}/employees", "post"),
                         ("/v1/employers/{employer_id}/employees/csv", "post")]:
        assert method in spec["paths"].get(path, {}), (path, method)


def test_openapi_every_operation_has_a_summary_or_description(client):
    spec = client.get("/openapi.json").json
    missing = [f"{method.upper()} {path}" for path, item in spec["paths"].items() for method, op in item.items()
               if method in HTTP_METHODS and not (op.get("summary") or op.get("description"))]
    assert missing == []


def test_openapi_every_component_schema_has_a_description(client):
    spec = client.get("/openapi.json").json
    schemas = spec["components"]["schemas"]
    assert "PlanSetupIn" in schemas and "EmployeeOut" in schemas
    missing = sorted(name for name, schema in schemas.items() if not schema.get("description"))
    assert missing == []


def test_incomplete_match_tiers_and_funds_are_named_not_a_crash(client, advisor):
    """Found by the robustness fuzzing on PostgreSQL: a tier or fund missing a field reached the rule checks."""
    body = scenario.plan_request(match_tiers=[{"deferral_from_percent": "0"}], funds=[{"name": "No ticker"}])
    fields = fields_of(setup(client, advisor, body))
    assert "plan.match_tiers[0].deferral_to_percent" in fields and "plan.match_tiers[0].match_rate_percent" in fields
    assert "plan.funds[0].ticker" in fields
