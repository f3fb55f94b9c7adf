"""The OpenAPI document is a product: it validates as OpenAPI 3.1 and says what the API does.

What each operation answers is written by the decorators that cause the answers (backend/web/smorest.py); the
authorization and robustness suites check that every status they observe is documented (`documented` below), and
these tests check the rules that hold for every operation."""
import re
from decimal import Decimal

import jsonschema
import pytest
from marshmallow import fields, validate
from openapi_spec_validator import validate as validate_openapi

from backend.identity import policy
from tests import scenario
from backend.web.schema import document_numbers

PROBLEM = "application/problem+json"
# Callers without a bearer token: they prove who they are with what they send.
PUBLIC = {("POST", "/v1/auth/login"), ("POST", "/v1/auth/refresh"), ("POST", "/v1/auth/invitations/accept"),
          ("POST", "/mobile/v1/signup"),
          # A signing link is its own credential (tests/documents/test_signing_links.py)
          ("GET", "/v1/signing/{token}"), ("POST", "/v1/signing/{token}"), ("GET", "/v1/signing/{token}/pdf"),
          # Stripe signs its webhooks its own way (Stripe-Signature) and, as Stripe's documentation does, a refused
          # signature is a 400, not a 401 (tests/billing/test_billing.py)
          ("POST", "/v1/billing/stripe-webhook"), ("GET", "/v1/app-config")}
# Providers sign these with their connection's secret instead of sending a bearer token.
SIGNED = {("POST", "/v1/payroll/connections/{connection_id}/pay-runs"),
          ("POST", "/v1/payroll/connections/{connection_id}/events"),
          ("GET", "/v1/payroll/deferral-changes"), ("POST", "/v1/payroll/deferral-changes/ack")}
# POSTs that compute an answer and store nothing, so no commit can conflict.
COMPUTING = {("POST", "/v1/plans/{plan_id}/compliance/what-if"), ("POST", "/mobile/v1/elections/preview")}


def openapi_path(rule: str) -> str:
    """A Flask rule (`/v1/plans/<plan_id>`) as the document's path (`/v1/plans/{plan_id}`)."""
    return re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule)


def documented(spec: dict, method: str, rule: str) -> dict[int, str]:
    """The answers the document lists for an operation, by status, with their descriptions."""
    operation = spec["paths"][openapi_path(rule)][method.lower()]
    return {int(status): answer.get("description", "") for status, answer in operation["responses"].items()
            if status != "default"}


def operations(spec: dict):
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method != "parameters":
                yield method.upper(), path, operation


@pytest.fixture
def spec(client):
    response = client.get("/openapi.json")
    assert response.status_code == 200
    return response.json


def test_the_document_validates_as_openapi_3_1(spec):
    assert spec["openapi"] == "3.1.0"
    validate_openapi(spec)


def test_every_operation_that_writes_documents_409(spec):
    missing = [f"{m} {p}" for m, p, op in operations(spec)
               if m != "GET" and (m, p) not in COMPUTING and "409" not in op["responses"]]
    assert not missing, missing
    computing = [f"{m} {p}" for m, p, op in operations(spec) if (m, p) in COMPUTING and "409" in op["responses"]]
    assert not computing, f"operations that store nothing list a conflict: {computing}"


def test_every_operation_documents_401_unless_it_is_public(spec):
    missing = [f"{m} {p}" for m, p, op in operations(spec) if (m, p) not in PUBLIC and "401" not in op["responses"]]
    assert not missing, missing


def test_bearer_operations_say_so_and_public_and_signed_ones_say_they_need_no_token(spec):
    for method, path, operation in operations(spec):
        expected = [] if (method, path) in PUBLIC | SIGNED else [{"bearerAuth": []}]
        assert operation.get("security") == expected, (method, path, operation.get("security"))


def test_signed_endpoints_document_their_signature_headers(spec):
    for method, path in SIGNED:
        operation = spec["paths"][path][method.lower()]
        headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
        assert {"webhook-id", "webhook-timestamp", "webhook-signature"} <= headers, (method, path, headers)
        assert "signature" in operation["responses"]["401"]["description"]
    feed = spec["paths"]["/v1/payroll/deferral-changes"]["get"]
    assert "plumb-connection-id" in {p["name"] for p in feed["parameters"]}


def test_every_error_answer_is_a_problem_document(spec):
    problem_ref = {"$ref": "#/components/schemas/Problem"}
    for method, path, operation in operations(spec):
        for status, answer in operation["responses"].items():
            if status.startswith(("4", "5")):
                assert answer["content"] == {PROBLEM: {"schema": problem_ref}}, (method, path, status)
                assert answer["description"], (method, path, status)
        default = operation["responses"]["default"]["$ref"].rsplit("/", 1)[1]
        assert spec["components"]["responses"][default]["content"] == {PROBLEM: {"schema": problem_ref}}


def test_a_forbidden_answer_quotes_the_abilitys_refusal(spec):
    approve = documented(spec, "POST", "/v1/elections/<election_id>/approve")
    assert policy.APPROVE_ELECTIONS.refusal in approve[403]
    assert 403 not in documented(spec, "GET", "/v1/auth/me"), "every signed-in user may read /me"


def test_idempotent_operations_document_the_key_the_replay_header_and_a_reused_key(spec):
    operation = spec["paths"]["/mobile/v1/elections"]["post"]
    key = next(p for p in operation["parameters"] if p["name"] == "Idempotency-Key")
    assert (key["in"], key["required"], key["schema"]["maxLength"]) == ("header", False, 255)
    assert "Idempotent-Replayed" in operation["responses"]["201"]["headers"]
    assert "idempotency-key-reused" in operation["responses"]["422"]["description"]


def test_approvals_document_if_match_and_its_412_and_428(spec):
    for verb in ("approve", "reject"):
        operation = spec["paths"][f"/v1/elections/{{election_id}}/{verb}"]["post"]
        if_match = [p for p in operation["parameters"] if p["name"] == "If-Match"]
        assert if_match and if_match[0]["in"] == "header" and if_match[0]["required"], operation["parameters"]
        assert {"412", "428"} <= set(operation["responses"])


def test_throttled_operations_document_429_with_retry_after(spec):
    for path in ("/v1/auth/login", "/mobile/v1/signup"):
        answer = spec["paths"][path]["post"]["responses"]["429"]
        assert "Retry-After" in answer["headers"]


def test_every_operation_and_schema_has_a_description(spec):
    undescribed = [f"{m} {p}" for m, p, op in operations(spec) if not (op.get("summary") or op.get("description"))]
    assert not undescribed, undescribed
    schemas = [name for name, schema in spec["components"]["schemas"].items() if not schema.get("description")]
    assert not schemas, f"schemas without a description: {schemas}"


# ---- how numbers are documented (document_numbers, a pure rule) ----------------------------------------------------

def _property(field) -> dict:
    """The property apispec writes for `field`, as the app's converter does, with our rule applied."""
    from apispec import APISpec
    from apispec.ext.marshmallow import MarshmallowPlugin

    plugin = MarshmallowPlugin()
    APISpec("t", "1", "3.1.0", plugins=[plugin])
    plugin.converter.add_attribute_function(document_numbers)
    return plugin.converter.field2property(field)


def test_a_decimal_fields_bounds_are_json_numbers_and_it_reads_as_a_number_or_a_string():
    # Range(0, 100) on a decimal string field: apispec alone writes "0" and "100", which OpenAPI refuses.
    prop = _property(fields.Decimal(as_string=True, validate=validate.Range(min=0, max=100)))
    assert prop == {"type": ["number", "string"], "minimum": 0, "maximum": 100}


def test_an_exclusive_bound_is_documented_as_exclusive():
    # A price must be above 0: "minimum: 0" would claim 0 is accepted.
    prop = _property(fields.Decimal(as_string=True, validate=validate.Range(min=0, max=10**6, min_inclusive=False)))
    assert (prop.get("minimum"), prop["exclusiveMinimum"], prop["maximum"]) == (None, 0, 1000000)


def test_integer_bounds_stay_integers_and_the_tightest_of_two_ranges_wins():
    prop = _property(fields.Integer(allow_none=True, validate=[validate.Range(min=1, max=1000),
                                                               validate.Range(min=5, max=500, max_inclusive=False)]))
    assert prop == {"type": ["integer", "null"], "minimum": 5, "exclusiveMaximum": 500}


def test_a_fractional_bound_is_refused_rather_than_written_as_a_float():
    with pytest.raises(ValueError, match="exact JSON number"):
        _property(fields.Decimal(as_string=True, validate=validate.Range(min=0, max=Decimal("0.5"))))



def test_a_view_cannot_read_if_match_without_the_decorator_that_documents_it(app):
    from backend.web.etags import if_match_header

    with app.test_request_context(headers={"If-Match": '"abc"'}):
        with pytest.raises(RuntimeError, match="blp.if_match"):
            if_match_header()


def _bounds(value, path=""):
    """Every minimum/maximum in the document, with where it is."""
    if isinstance(value, dict):
        for key, item in value.items():
            if key in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum"):
                yield path + "/" + key, item
            yield from _bounds(item, f"{path}/{key}")
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _bounds(item, f"{path}[{i}]")


def test_no_bound_in_the_document_is_a_string(spec):
    bounds = list(_bounds(spec))
    assert bounds  # the document does carry bounds, and every one is a JSON number
    assert [(where, bound) for where, bound in bounds
            if isinstance(bound, bool) or not isinstance(bound, (int, float))] == []


def _assert_conforms(spec: dict, method: str, path: str, response) -> None:
    """The answer validates against the schema the document gives for it (JSON Schema 2020-12, as OpenAPI 3.1)."""
    answer = spec["paths"][path][method]["responses"][str(response.status_code)]
    schema = {**answer["content"]["application/json"]["schema"], "components": spec["components"]}
    jsonschema.Draft202012Validator(schema, format_checker=jsonschema.FormatChecker()).validate(response.json)


def test_the_balance_and_investments_answers_conform_to_the_document(app, client, spec):
    """Security review L-6: units and vested percents are decimal strings, and a participant on the plan's default
    fund has no investment election yet (created_at null)."""
    world = scenario.World(app, client, requires_approval=False)
    elected = client.post("/mobile/v1/elections", headers=world.participant,
                          json={"lines": [{"money_type": "pretax", "percent": "6"}]})
    assert elected.status_code == 201, elected.json
    connection = scenario.connect_payroll(client, world.sponsor, world.employer_id)
    posted = scenario.signed_post(client, connection, scenario.pay_run("R-1", "2026-11-20", [
        scenario.statement("E1", 300000, pretax=18000)]))
    assert posted.status_code == 200, posted.json
    for path in ("/mobile/v1/balance", "/mobile/v1/investments"):
        response = client.get(path, headers=world.participant)
        assert response.status_code == 200, response.json
        _assert_conforms(spec, "get", path, response)
    holdings = client.get("/mobile/v1/balance", headers=world.participant).json
    assert any(isinstance(fund["units"], str) for fund in holdings["by_fund"]), holdings
