"""No request, however malformed, yields a 500; bad input leaves state unchanged.

Every operation of the OpenAPI document is called as its rightful user with broken bodies (invalid JSON, arrays,
wrong types, 1e400, NaN, very long strings, nested garbage, unknown fields, wrong content types, broken CSV files),
with ids in the path that do not exist, and with bad query parameters. Requests that must be refused are refused
with a 4xx problem and leave the stored state as it was; the others may succeed but never fail with a 5xx. Each
test lists every wrong answer it saw, not just the first. Hypothesis then fuzzes the creating endpoints. Validation
lists every problem; Idempotency-Key replays the first answer."""
import base64
import copy
import hashlib
import hmac
import io
import itertools
import json
import re
import time

import pytest
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from backend.app import create_app
from backend.config import Config
from tests import scenario
from tests.support.problems import assert_problem

PLAN_RULES = {"requires_approval": True, "auto_enrollment": {"enabled": True, "default_percent": "3"}}
ELECTION = {"lines": [{"money_type": "pretax", "percent": "6"}]}
NUMERIC = re.compile(r"^-?\d+(\.\d+)?$")
RAW = "\ue000raw:"  # a string leaf that is replaced by raw JSON text (1e400, NaN) after encoding
SIGNED = ("POST", "/v1/payroll/connections/{connection_id}/pay-runs")
FEED = {("GET", "/v1/payroll/deferral-changes"), ("POST", "/v1/payroll/deferral-changes/ack"),
        ("POST", "/v1/payroll/connections/{connection_id}/events")}
_unique = itertools.count(1)


def _openapi() -> dict:
    config = Config(database_url="sqlite://", jwt_secret="x" * 40, pii_key=Fernet.generate_key().decode(),
                    testing=True)
    return create_app(config).test_client().get("/openapi.json").json


SPEC = _openapi()
OPERATIONS = [(method.upper(), path, op, item.get("parameters", []) + op.get("parameters", []))
              for path, item in SPEC["paths"].items() for method, op in item.items() if method != "parameters"]


def _op_id(operation):
    return f"{operation[0]} {operation[1]}"


def _resolve(schema: dict) -> dict:
    while "$ref" in schema:
        schema = SPEC["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _json_schema(op) -> dict | None:
    content = op.get("requestBody", {}).get("content", {})
    return _resolve(content["application/json"]["schema"]) if "application/json" in content else None


def _takes_csv(op) -> bool:
    return "text/csv" in op.get("requestBody", {}).get("content", {})


def assert_not_500(response, what):
    assert response.status_code < 500, (what, response.status_code, response.get_data(as_text=True)[:500])
    if response.status_code >= 400:
        assert_problem(response)


def assert_refused(response, what):
    assert 400 <= response.status_code < 500, (what, response.status_code, response.get_data(as_text=True)[:500])
    assert_problem(response)


def documented_statuses(op: dict) -> set[int]:
    return {int(status) for status in op["responses"] if status != "default"}


class Findings:
    """Collects every wrong answer of a test instead of stopping at the first, so one run lists them all; with the
    operation's OpenAPI description, a 4xx the document does not list is a wrong answer too."""

    def __init__(self, op: dict | None = None):
        self.items: list[str] = []
        self.documented = documented_statuses(op) if op is not None else None
        self.seen: dict[int, str] = {}  # status → the first request that got it

    def saw(self, what, response) -> None:
        self.seen.setdefault(response.status_code, str(what))

    def _check(self, what, response, ok: bool, expected) -> bool:
        self.saw(what, response)
        if not ok:
            self.items.append(f"{what}: {response.status_code}, expected {expected}: "
                              f"{response.get_data(as_text=True)[:200]}")
            return False
        if response.status_code >= 400:
            try:
                assert_problem(response)
            except AssertionError as error:
                self.items.append(f"{what}: not a problem document ({error})")
                return False
        return True

    def refused(self, what, response, status=None) -> bool:
        ok = response.status_code == status if status else 400 <= response.status_code < 500
        return self._check(what, response, ok, status or "4xx")

    def not_500(self, what, response) -> bool:
        return self._check(what, response, response.status_code < 500, "< 500")

    def check(self, what, condition: bool):
        if not condition:
            self.items.append(what)

    def assert_none(self):
        if self.documented is not None:
            self.items += [f"{what}: answered {status}, which the document does not list for this operation"
                           for status, what in sorted(self.seen.items())
                           if 400 <= status < 500 and status not in self.documented]
        assert not self.items, f"{len(self.items)} wrong answer(s):\n" + "\n".join(self.items)


# ---- the world the requests are made in ----------------------------------------------------------------------------

def sign(secret: str, raw: bytes) -> dict:
    """Standard Webhooks headers for `raw` (byte-exact, so bodies that are not UTF-8 can be signed too)."""
    msg_id, timestamp = f"msg_{next(_unique)}", str(int(time.time()))
    key = base64.b64decode(secret.removeprefix("whsec_"))
    digest = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + raw, hashlib.sha256).digest()
    return {"webhook-id": msg_id, "webhook-timestamp": timestamp,
            "webhook-signature": "v1," + base64.b64encode(digest).decode()}


PAY_RUN_CSV = ("external_id,gross_pay,plan_compensation,hours,pretax\n"
               "E1,2769.23,2769.23,80,166.15\nE2,1192.31,1192.31,80,50.00\n")


def pay_run_query() -> dict:
    return {"provider_run_id": f"csv-{next(_unique)}", "pay_date": "2026-11-20", "period_start": "2026-11-07",
            "period_end": "2026-11-20"}


PAYROLL_WORDS = ("payroll", "pay-run", "connection_id", "exception_id", "message_id")


def key_needs_payroll(template: str) -> bool:
    return any(word in template for word in PAYROLL_WORDS)


class Ctx:
    """One World (approval required, automatic enrollment on), a pending election, a payroll connection, a pay
    run with a held statement (E2 is not yet eligible) and so an open payroll exception."""

    def __init__(self, app, client):
        self.app, self.client = app, client
        self.world = scenario.World(app, client, **PLAN_RULES)
        self.employee_id = self.world.employee["id"]
        self.funds = [f["id"] for f in self.world.setup["plan"]["funds"]]
        employer = self.world.employer_id
        response = client.post("/mobile/v1/elections", headers=self.world.participant, json=ELECTION)
        assert response.status_code == 201, response.json
        self.election = response.json
        document = scenario.current_document(client, self.world.sponsor, self.world.plan_id)
        self.ids = {"employer_id": employer, "plan_id": self.world.plan_id, "employee_id": self.employee_id,
                    "election_id": self.election["id"], "ticker": "PLTDX", "price_date": "2026-11-20",
                    "document_id": document["id"]}

    def set_up_payroll(self):
        """A pull connection, a pay run with a held statement (E2 is not yet eligible) and so an open exception,
        and a message to payroll (the election approved; a new one then waits for approval)."""
        client, sponsor, employer = self.client, self.world.sponsor, self.world.employer_id
        response = client.post(f"/v1/employers/{employer}/payroll-connections", headers=sponsor,
                               json={"provider": "pull"})
        assert response.status_code == 201, response.json
        self.connection = response.json
        response = client.post(f"/v1/employers/{employer}/pay-runs/csv", headers=sponsor, query_string=pay_run_query(),
                               data=PAY_RUN_CSV, content_type="text/csv")
        assert response.status_code == 200 and response.json["held"] == 1, response.json
        pay_run_id = response.json["pay_run"]["id"]
        exceptions = self.get(f"/v1/employers/{employer}/payroll-exceptions", sponsor)["data"]
        response = client.post(f"/v1/elections/{self.election['id']}/approve", json={},
                               headers={**sponsor, "If-Match": f'"{self.election["etag"]}"'})
        assert response.status_code == 200, response.json
        response = client.post("/mobile/v1/elections", headers=self.world.participant,
                               json={"lines": [{"money_type": "pretax", "percent": "7"}]})
        assert response.status_code == 201, response.json
        self.election = response.json
        messages = self.get(f"/v1/employers/{employer}/payroll-messages?status=all", sponsor)["data"]
        self.ids.update({"election_id": self.election["id"], "connection_id": self.connection["id"],
                         "pay_run_id": pay_run_id, "message_id": messages[0]["id"],
                         "exception_id": next(e["id"] for e in exceptions if e["severity"] == "hold")})

    def headers(self, method, template, op, raw: bytes | None = None) -> dict:
        """The rightful caller of an operation (signing `raw` for the provider's endpoint)."""
        if (method, template) == SIGNED:
            return sign(self.connection["secret"], raw or b"")
        if (method, template) in FEED:
            return {"plumb-connection-id": self.connection["id"], **sign(self.connection["secret"], raw or b"{}")}
        extra = {"If-Match": f'"{self.election["etag"]}"'} if template.startswith("/v1/elections/") else {}
        if op.get("security") == []:
            return extra
        if template == "/v1/auth/logout":  # each call ends its session: a new one each time
            return scenario.login(self.client, "sponsor@example.com", scenario.SPONSOR_PASSWORD)
        if template.startswith("/mobile/"):
            return {**self.world.participant, **extra}
        if template in ("/v1/plans/setup", "/v1/employers/{employer_id}/sponsor-invitation") or \
                template.startswith("/v1/book"):  # the book is the advisor's
            return self.world.advisor
        return {**self.world.sponsor, **extra}

    def get(self, path, headers):
        response = self.client.get(path, headers=headers)
        assert response.status_code == 200, (path, response.json)
        return response.json

    def census(self):
        return self.get(f"/v1/employers/{self.world.employer_id}/employees?limit=500", self.world.sponsor)["data"]

    def elections(self):
        return self.get(f"/v1/employees/{self.employee_id}/elections", self.world.sponsor)

    def snapshot(self) -> dict:
        sponsor, participant = self.world.sponsor, self.world.participant
        employer, plan = self.world.employer_id, self.world.plan_id
        return {"employers": self.get("/v1/employers", self.world.advisor), "census": self.census(),
                "elections": self.elections(),
                "queue": self.get(f"/v1/plans/{plan}/approvals?limit=500", sponsor),
                "audit": self.get(f"/v1/employers/{employer}/audit-events?limit=500", sponsor),
                "pay_runs": self.get(f"/v1/employers/{employer}/pay-runs?limit=500", sponsor),
                "exceptions": self.get(f"/v1/employers/{employer}/payroll-exceptions?status=all&limit=500", sponsor),
                "connections": self.get(f"/v1/employers/{employer}/payroll-connections", sponsor),
                "messages": self.get(f"/v1/employers/{employer}/payroll-messages?status=all&limit=500", sponsor),
                **{p: self.get(f"/mobile/v1/{p}", participant)
                   for p in ("me", "elections", "investments", "beneficiaries", "outside-deferrals", "balance",
                             "contributions", "limits")}}


@pytest.fixture
def ctx(app, client):
    return Ctx(app, client)


def new_row(external_id="E3", **overrides):
    row = scenario.census_row(external_id, "1990-01-15", "2025-02-01", "555-55-5555")
    if "pay" in overrides:
        overrides["annual_compensation"] = overrides.pop("pay")
    return {**row, **overrides}


def provider_pay_run() -> dict:
    return {"provider_run_id": f"prov-{next(_unique)}", "pay_date": "2026-11-20", "period_start": "2026-11-07",
            "period_end": "2026-11-20", "statements": [{"external_id": "E1", "gross_pay_cents": 276923,
                                                        "plan_compensation_cents": 276923, "hours": "80",
                                                        "withholdings": {"pretax": 16615}}]}


def valid_bodies(ctx: Ctx) -> dict:
    """A valid body for every operation that takes JSON: the base the malformed variants are made from."""
    election = ctx.election
    e2 = ctx.world.employees["E2"]
    return {
        ("POST", "/v1/auth/login"): {"email": "sponsor@example.com", "password": "wrong-password-1"},
        ("POST", "/v1/auth/refresh"): {"refresh_token": "r" * 40},
        ("POST", "/v1/auth/invitations/accept"): {"token": "t" * 40, "password": "a-new-password-1"},
        ("POST", "/v1/plans/setup"): scenario.plan_request(name="Fuzz Co", sponsor_email="fuzz@example.com"),
        ("POST", "/v1/employers/{employer_id}/employees"): {"employees": [new_row()]},
        ("POST", "/v1/elections/{election_id}/approve"): {},
        ("POST", "/v1/elections/{election_id}/reject"): {"reason": "Payroll freeze"},
        ("POST", "/v1/employees/{employee_id}/account/unlink"): {"reason": "claimed by someone else"},
        ("POST", "/v1/plans/{plan_id}/approvals/bulk"): {
            "decision": "reject", "reason": "Payroll freeze",
            "elections": [{"election_id": election["id"], "etag": election["etag"]}]},
        ("POST", "/v1/employers/{employer_id}/payroll-connections"): {"provider": "plumb_webhook"},
        SIGNED: provider_pay_run(),
        ("POST", "/v1/payroll-exceptions/{exception_id}/resolve"): {"action": "reject", "note": "Not eligible yet"},
        ("POST", "/v1/plans/{plan_id}/fund-prices"): {"prices": [{"ticker": "PLTDX", "price_date": "2026-11-20",
                                                                  "price": "10.00"}]},
        ("POST", "/mobile/v1/signup"): {"invite_code": scenario.invite_code(ctx.app, e2), "date_of_birth": "2006-03-10",
                                        "ssn_last4": "4321", "email": "e2@phone.example.com",
                                        "password": scenario.PARTICIPANT_PASSWORD},
        ("POST", "/mobile/v1/elections"): ELECTION,
        ("POST", "/mobile/v1/devices"): {"token": "fcm-robustness", "platform": "android"},
        ("POST", "/v1/me/devices"): {"token": "fcm-robustness-staff", "platform": "web"},
        ("PATCH", "/v1/plans/{plan_id}/rules"): {"effective_on": "2027-01-01", "roth_allowed": True},
        ("POST", "/v1/documents/{document_id}/signature"): {"typed_name": "Pat Sponsor", "title": "Owner",
                                                             "consent_to_electronic_records": True},
        ("POST", "/v1/plans/{plan_id}/safe-harbor-notices"): {"plan_year": 2027},
        ("POST", "/v1/signing/{token}"): {"typed_name": "Pat Sponsor", "title": "Owner",
                                          "consent_to_electronic_records": True},
        ("PATCH", "/mobile/v1/me/notification-settings"): {"language": "es", "time_zone": "America/Chicago",
                                                          "quiet_hours": {"enabled": True, "start": "22:00",
                                                                          "end": "07:00"},
                                                          "categories": [{"category": "nudges", "push": False}]},
        ("PATCH", "/v1/me/notification-settings"): {"language": "en", "categories": [{"category": "digests",
                                                                                       "email": False}]},
        ("POST", "/mobile/v1/elections/preview"): ELECTION,
        ("PUT", "/mobile/v1/investments"): {"allocations": [{"fund_id": ctx.funds[0], "percent": "60"},
                                                            {"fund_id": ctx.funds[1], "percent": "40"}]},
        ("PUT", "/mobile/v1/beneficiaries"): {"beneficiaries": [
            {"tier": "primary", "name": "Pat Doe", "relationship": "spouse", "percent": "100"}]},
        ("PUT", "/mobile/v1/outside-deferrals"): {"calendar_year": 2026, "amount_cents": 150000},
        ("POST", "/v1/payroll/connections/{connection_id}/events"): {"type": "payroll.note", "data": {"message_id": "msg_unknown"}},
        ("PUT", "/v1/plans/{plan_id}/compliance/settings"): {"warning_margin": "0.75"},
        ("PUT", "/v1/plans/{plan_id}/price-settings"): {"price_move_band": "0.3"},
        ("PUT", "/v1/plans/{plan_id}/fund-prices/{ticker}/{price_date}"): {"price": "10.00"},
        ("POST", "/v1/plans/{plan_id}/fund-prices/{ticker}/{price_date}/confirm"): {"price": "10.00"},
        ("POST", "/v1/plans/{plan_id}/compliance/what-if"): {"changes": [{"external_id": ctx.world.employee["external_id"],
                                                                          "deferral_percent": "5"}]},
    }


# A valid file (and query) for every operation that takes CSV, with the columns that hold numbers.
CSV_OPERATIONS = {
    ("POST", "/v1/employers/{employer_id}/employees/csv"): (
        lambda: scenario.census_csv([new_row()]), dict, ("annual_compensation", "hours", "ownership_percent")),
    ("POST", "/v1/employers/{employer_id}/pay-runs/csv"): (
        lambda: PAY_RUN_CSV.encode(), pay_run_query, ("gross_pay", "plan_compensation", "hours", "pretax")),
    ("POST", "/v1/plans/{plan_id}/fund-prices/csv"): (
        lambda: b"ticker,price_date,price\nPLTDX,2026-11-20,10.00\n", dict, ("price",)),
}


def test_every_operation_with_a_body_has_a_valid_example(app, client):
    bodies = valid_bodies(Ctx(app, client))
    taking_json = {(m, p) for m, p, op, _ in OPERATIONS if _json_schema(op) is not None}
    assert taking_json == set(bodies), (sorted(taking_json - set(bodies)), sorted(set(bodies) - taking_json))
    taking_csv = {(m, p) for m, p, op, _ in OPERATIONS if _takes_csv(op)}
    assert taking_csv == set(CSV_OPERATIONS), (sorted(taking_csv ^ set(CSV_OPERATIONS)))
    others = {(m, p) for m, p, op, _ in OPERATIONS if op.get("requestBody") and _json_schema(op) is None
              and not _takes_csv(op)}
    assert not others, f"operations with a body of another kind: {sorted(others)}"


# ---- malformed variants --------------------------------------------------------------------------------------------

def _nodes(value, path=()):
    """Every node of a JSON value (but the root), as paths."""
    if isinstance(value, dict):
        items = value.items()
    elif isinstance(value, list):
        items = enumerate(value)
    else:
        return
    for key, child in items:
        yield path + (key,)
        yield from _nodes(child, path + (key,))


def _replace(body, path, new):
    body = copy.deepcopy(body)
    target = body
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = new
    return body


def _at(body, path):
    for key in path:
        body = body[key]
    return body


def _encode(body) -> bytes:
    text = json.dumps(body)
    return re.sub(r'"\\ue000raw:([^"]*)"', lambda m: m.group(1), text).encode()


def _is_numeric(value):
    return (isinstance(value, (int, float)) and not isinstance(value, bool)) or (
        isinstance(value, str) and NUMERIC.match(value))


GARBAGE = {"$ne": [None, {"a": [[{}], {"b": None}]}], "__proto__": {"admin": True}}


def body_variants(valid: dict, schema: dict):
    """(name, body) pairs: `must` ones are refused by any correct server, `may` ones may be accepted (a long
    name, a null for an optional field) but must never fail with a 5xx."""
    must, may = [], []
    for path in _nodes(valid):
        value, where = _at(valid, path), ".".join(map(str, path))
        scalar = not isinstance(value, (dict, list))
        must.append((f"wrong type at {where}", _replace(valid, path, ["x"] if scalar else "x")))
        must.append((f"nested garbage at {where}", _replace(valid, path, GARBAGE)))
        may.append((f"null at {where}", _replace(valid, path, None)))
        if _is_numeric(value):
            must.append((f"text for a number at {where}", _replace(valid, path, "abc")))
            must.append((f"1e400 at {where}", _replace(valid, path, RAW + "1e400")))
            must.append((f"-1e400 at {where}", _replace(valid, path, RAW + "-1e400")))
            must.append((f"NaN at {where}", _replace(valid, path, RAW + "NaN")))
            may.append((f"10**30 at {where}", _replace(valid, path, 10 ** 30)))
            may.append((f"400 digits at {where}", _replace(valid, path, "9" * 400)))
            if isinstance(value, str):
                must.append((f"'1e400' at {where}", _replace(valid, path, "1e400")))
                must.append((f"'Infinity' at {where}", _replace(valid, path, "Infinity")))
        if isinstance(value, str):
            may.append((f"very long string at {where}", _replace(valid, path, "x" * 100_000)))
            may.append((f"NUL byte at {where}", _replace(valid, path, value + "\x00")))
    must.append(("unknown field", {**valid, "zz_unknown": 1}))
    (must if schema.get("required") else may).append(("empty object", {}))
    return must, may


RAW_MUST = [
    ("invalid JSON", b'{"lines": [1, 2', "application/json"),
    ("JSON array", b"[]", "application/json"),
    ("JSON string", b'"hello"', "application/json"),
    ("JSON number", b"42", "application/json"),
    ("not UTF-8", b'{"name": "\xff\xfe\xfd"}', "application/json"),
    ("deep array nesting", b"[" * 100_000, "application/json"),
    ("deep object nesting", b'{"a":' * 50_000, "application/json"),
]
RAW_MAY = [("JSON null", b"null", "application/json"), ("empty body", b"", "application/json")]

CSV_MUST = [
    ("empty file", b""),
    ("not UTF-8", b"\xff\xfe\xfa\x00garbage\n\x81\x82\n"),
    ("binary", bytes(range(256)) * 4),
    ("JSON instead", b'{"employees": [{"external_id": "E9"}]}'),
    ("only quotes", b'"""""""\n""""\n'),
]


def _csv_variants(valid: bytes):
    header, first = valid.decode().split("\n")[:2]
    must = CSV_MUST + [
        ("header only", (header + "\n").encode()),
        ("unknown column", f"{header},shoe_size\n{first},42\n".encode()),
        ("too many fields", f"{header}\n{first},extra,more\n".encode()),
    ]
    may = [("NUL byte", f"{header}\n{first[:2]}\x00{first[2:]}\n".encode()),
           ("very long cell", f"{header}\n{first[:2]}{'x' * 200_000}{first[2:]}\n".encode()),
           ("BOM", b"\xef\xbb\xbf" + valid), ("CRLF", valid.replace(b"\n", b"\r\n")),
           ("many empty lines", valid + b"\n" * 10_000)]
    return must, may


def _send(client, method, path, headers, raw=None, content_type="application/json", query=None):
    return client.open(path, method=method, headers=headers, data=raw,
                       content_type=content_type if raw is not None else None, query_string=query)


def _path(template, ids):
    return re.sub(r"{(\w+)}", lambda m: ids.get(m.group(1), f"{m.group(1)}_unknown"), template)


BAD_IDS = ["emp_doesnotexist", "../../etc", "..%2F..%2Fetc%2Fpasswd", "%00", "x" * 3000, "' OR '1'='1", "-1",
           "%F0%9F%92%A9", "%FF%FE"]


def _cursor(value: str) -> str:
    return base64.urlsafe_b64encode(value.encode()).decode().rstrip("=")


# With one past the documented maximum of `limit`, so the documented bound is checked too.
PAGING_MUST = [{"limit": "-1"}, {"limit": "0"}, {"limit": "abc"}, {"limit": "1e400"},
               {"limit": "99999999999999999999999999"}, {"limit": "1.5"}, {"cursor": "garbage"},
               {"cursor": "!!!"}, {"cursor": _cursor("not json")}, {"cursor": _cursor('{"a": 1}')},
               {"cursor": _cursor('"x"')}, {"cursor": _cursor("[1, 2, 3, 4, 5]")}, {"cursor": "%FF"}]
# Cursors that decode but that the API never issued: refused with 422, or an answer (an empty page, say).
PAGING_MAY = [{"cursor": _cursor('["x"]')}, {"cursor": _cursor('["x", "y"]')}, {"cursor": _cursor("[null, null]")},
              {"cursor": _cursor('[{"a": 1}, [2]]')}, {"cursor": _cursor("[1e400]")}, {"cursor": _cursor("[1e400, 1]")},
              {"cursor": _cursor('["\\u0000", "\\u0000"]')}, {"cursor": _cursor("[99999999999999999999999999]")},
              {"cursor": _cursor('["2026-13-45T99:99:99", "x"]')}, {"limit": ""}, {"unknown": "1"}]


def _query_variants(params, valid: dict):
    """Variants of the non-paging query parameters, from their OpenAPI declarations."""
    must, may = [], []
    for param in params:
        if param["in"] != "query" or param["name"] in ("limit", "cursor"):
            continue
        name, schema = param["name"], param.get("schema", {})
        if param.get("required"):
            must.append((f"without {name}", {k: v for k, v in valid.items() if k != name}))
        bad = []
        if schema.get("type") == "integer":
            bad += ["abc", "1e400", "1.5", "99999999999999999999999999"]
        if schema.get("format") == "date":
            bad += ["2026-02-30", "yesterday", "1e400"]
        if "enum" in schema:
            bad += ["bogus"]
        must += [(f"{name}={v}", {**valid, name: v}) for v in bad]
        may += [(f"{name}=long", {**valid, name: "x" * 5000}), (f"{name}=NUL", {**valid, name: "a\x00b"})]
    return must, may


@pytest.mark.parametrize("operation", OPERATIONS, ids=_op_id)
def test_malformed_requests_are_refused_without_a_500_and_change_nothing(app, client, ctx, operation):
    method, template, op, params = operation
    key = (method, template)
    schema = _json_schema(op)
    if key_needs_payroll(template):
        ctx.set_up_payroll()
    path = _path(template, ctx.ids)
    found = Findings(op)

    def send(raw=None, content_type="application/json", query=None, to=path):
        return _send(client, method, to, ctx.headers(method, template, op, raw), raw, content_type, query)

    # The valid request the variants start from.
    if schema is not None:
        valid_raw, valid_type, valid_query = _encode(valid_bodies(ctx)[key]), "application/json", None
    elif key in CSV_OPERATIONS:
        make_file, make_query, _ = CSV_OPERATIONS[key]
        valid_raw, valid_type, valid_query = make_file(), "text/csv", make_query() or None
    else:
        valid_raw, valid_type, valid_query = None, None, None
    before = ctx.snapshot()

    # Refused whatever the server's taste: broken bodies and files, ids that do not exist, bad parameters.
    if schema is not None:
        must, may = body_variants(valid_bodies(ctx)[key], schema)
        for name, body in must:
            response = send(_encode(body))
            if found.refused(name, response) and name == "unknown field":
                found.check(f"unknown field not named: {response.json}",
                            "zz_unknown" in [e["field"] for e in response.json["errors"]])
        for name, raw, content_type in RAW_MUST:
            found.refused(name, send(raw, content_type))
        if schema.get("required"):
            found.refused("form-encoded", send(b"a=1&b=2", "application/x-www-form-urlencoded"))
            found.refused("no body", send())
            if key != SIGNED:  # the provider's endpoint reads its signed bytes whatever their label
                found.refused("JSON labelled text/plain", send(valid_raw, "text/plain"))
    if key in CSV_OPERATIONS:
        must_files, may_files = _csv_variants(valid_raw)
        for name, raw in must_files:
            response = send(raw, "text/csv", valid_query)
            if found.refused(name, response, 422):
                found.check(f"{name}: no errors listed", bool(response.json["errors"]))
    query_must, query_may = _query_variants(params, valid_query or {})
    for name, query in query_must:
        found.refused(name, send(valid_raw, valid_type, query), 422)
    for name in [p["name"] for p in params if p["in"] == "path"]:
        for bad in BAD_IDS:
            found.refused(f"{name}={bad[:20]!r}", send(valid_raw, valid_type, valid_query,
                                                       to=_path(template, {**ctx.ids, name: bad})), 404)
    limit = next((p for p in params if p["name"] == "limit"), None)
    paging = limit is not None
    for query in PAGING_MUST + [{"limit": str(limit["schema"]["maximum"] + 1)}] if paging else []:
        response = send(query=query)
        if found.refused(query, response, 422):
            found.check(f"{query}: no errors listed", bool(response.json["errors"]))
    found.check("a refused request changed stored state", ctx.snapshot() == before)

    # These may be accepted, but nothing yields a 5xx.
    if schema is not None:
        for name, body in may:
            found.not_500(name, send(_encode(body)))
        for name, raw, content_type in RAW_MAY:
            found.not_500(name, send(raw, content_type))
        if key == SIGNED:
            found.not_500("JSON labelled text/plain", send(valid_raw, "text/plain"))
    elif key in CSV_OPERATIONS:
        for name, raw in may_files:
            found.not_500(name, send(raw, "text/csv", valid_query))
        found.not_500("multipart garbage", client.open(path, method=method, headers=ctx.headers(method, template, op),
                                                       data={"file": (io.BytesIO(b"\x00\x01\x02"), "f.csv")},
                                                       content_type="multipart/form-data", query_string=valid_query))
    else:
        for name, raw, content_type in RAW_MUST + RAW_MAY + [("text", b"hello", "text/plain")]:
            found.not_500(name, send(raw, content_type))
    for name, query in query_may:
        found.not_500(name, send(valid_raw, valid_type, query))
    for query in PAGING_MAY if paging else []:
        response = send(query=query)
        if response.status_code != 200:
            found.refused(query, response, 422)
    found.not_500("stray query", send(valid_raw, valid_type, {**(valid_query or {}), "zz": "\x00", "limit": "-1"}))
    # The rightful caller's valid request gets past authentication: the refusals above were not vacuous.
    if op.get("security") != [] or key == SIGNED or key in FEED:
        response = send(valid_raw, valid_type, valid_query)
        found.saw("the valid request", response)
        found.check(f"the valid request was refused: {response.status_code} {response.get_data()[:200]!r}",
                    response.status_code not in (401, 403))
    found.assert_none()


BAD_NUMBERS_MUST = ["abc", "1e400", "-1e400", "Infinity", "NaN", "-5"]
BAD_NUMBERS_MAY = ["9" * 400, "1,000.00", "0.0000001", " 12 "]


@pytest.mark.parametrize("key", list(CSV_OPERATIONS), ids=lambda k: f"{k[0]} {k[1]}")
def test_bad_numbers_in_files_are_refused_and_change_nothing(client, ctx, key):
    method, template = key
    op = next(op for m, p, op, _ in OPERATIONS if (m, p) == key)
    make_file, make_query, columns = CSV_OPERATIONS[key]
    path = _path(template, ctx.ids)
    found = Findings(op)
    header, first, *rest = make_file().decode().split("\n")
    names = header.split(",")

    def with_cell(column, value):
        cells = first.split(",")
        cells[names.index(column)] = value
        return "\n".join([header, ",".join(cells), *rest]).encode()

    def send(raw):
        return client.open(path, method=method, headers=ctx.headers(method, template, op), data=raw,
                           content_type="text/csv", query_string=make_query() or None)

    before = ctx.snapshot()
    for column in columns:
        for value in BAD_NUMBERS_MUST:
            response = send(with_cell(column, value))
            if found.refused(f"{column}={value}", response, 422):
                found.check(f"{column}={value}: the line is not named: {response.json['errors']}",
                            any(e["field"].startswith("line 2") for e in response.json["errors"]))
    found.check("a refused file changed stored state", ctx.snapshot() == before)
    for column in columns:
        for value in BAD_NUMBERS_MAY:
            found.not_500(f"{column}={value[:20]}", send(with_cell(column, value)))
    found.assert_none()


# ---- every problem is listed; refused writes leave state as it was -------------------------------------------------

def _fields(response) -> set[str]:
    assert_problem(response, 422)
    return {e["field"] for e in response.json["errors"]}


def test_plan_setup_lists_every_schema_problem(client, ctx):
    before = ctx.snapshot()
    body = scenario.plan_request(name="Three Problems Co", sponsor_email="three@example.com")
    body["employer"]["ein"] = "not-an-ein"
    body["employer"]["address"]["state"] = "Utah"
    body["plan"]["eligibility"] = {"entry_frequency": "weekly"}
    response = client.post("/v1/plans/setup", json=body, headers=ctx.world.advisor)
    assert _fields(response) == {"employer.ein", "employer.address.state", "plan.eligibility.entry_frequency"}
    assert response.json["detail"].startswith("3 problem")
    assert ctx.snapshot() == before


def test_plan_setup_lists_shape_and_rule_problems_together(client, ctx):
    """Three independent bad fields, one a malformed EIN and two breaking plan rules: all three are listed."""
    before = ctx.snapshot()
    body = scenario.plan_request(name="Mixed Problems Co", sponsor_email="mixed@example.com",
                                 eligibility={"min_age": 30},
                                 auto_enrollment={"enabled": True, "default_percent": "3",
                                                  "escalation_step_percent": "20", "escalation_cap_percent": "10",
                                                  "opt_out_window_days": 90})
    body["employer"]["ein"] = "not-an-ein"
    fields = _fields(client.post("/v1/plans/setup", json=body, headers=ctx.world.advisor))
    assert fields == {"employer.ein", "plan.eligibility.min_age", "plan.auto_enrollment.escalation_step_percent"}
    assert ctx.snapshot() == before


def test_plan_setup_lists_every_rule_problem(client, ctx):
    before = ctx.snapshot()
    body = scenario.plan_request(name="Rule Problems Co", sponsor_email="rules@example.com",
                                 plan_year_start="02-30",
                                 auto_enrollment={"enabled": True, "default_percent": "3",
                                                  "escalation_step_percent": "20", "escalation_cap_percent": "10",
                                                  "opt_out_window_days": 90},
                                 funds=[{"ticker": "AAA", "name": "A", "default": True},
                                        {"ticker": "BBB", "name": "B", "default": True}])
    fields = _fields(client.post("/v1/plans/setup", json=body, headers=ctx.world.advisor))
    assert {"plan.plan_year_start", "plan.auto_enrollment.escalation_step_percent", "plan.funds"} <= fields
    assert ctx.snapshot() == before


def test_census_lists_every_problem_and_is_rejected_whole(client, ctx):
    before = ctx.snapshot()
    employer = ctx.world.employer_id
    changed_e1 = scenario.census_row("E1", "1985-07-19", "2024-03-15", "123-45-6789", pay="99000.00")
    rows = [changed_e1, new_row("E3"), new_row("E4", ssn="12"), new_row("E5", hire_date="soon", email="nope")]
    fields = _fields(client.post(f"/v1/employers/{employer}/employees", json={"employees": rows},
                                 headers=ctx.world.sponsor))
    assert fields == {"employees[2].ssn", "employees[3].hire_date", "employees[3].email"}

    csv_fields = _fields(scenario.upload_csv(client, ctx.world.sponsor, employer, rows))
    assert csv_fields == {"line 4.ssn", "line 5.hire_date", "line 5.email"}
    after = ctx.snapshot()
    assert after == before
    assert [e["external_id"] for e in after["census"]] == ["E1", "E2"]
    assert after["census"][0]["annual_compensation"] == "72000.00"


def test_rejected_elections_leave_the_history_identical(client, ctx):
    before = ctx.snapshot()
    bad = [{"lines": [{"money_type": "bogus", "percent": "150"}, {"money_type": "roth", "percent": "-1"}]},
           {"lines": []}, {"lines": [ELECTION["lines"][0]] * 5},
           {"lines": [{"money_type": "pretax", "percent": "60"}, {"money_type": "pretax", "percent": "60"}]},
           {"lines": [{"money_type": "pretax", "percent": "6", "amount_cents": 1000}]}]
    fields = _fields(client.post("/mobile/v1/elections", json=bad[0], headers=ctx.world.participant))
    assert fields == {"lines[0].money_type", "lines[0].percent", "lines[1].percent"}
    for body in bad[1:]:
        assert_refused(client.post("/mobile/v1/elections", json=body, headers=ctx.world.participant), body)
    after = ctx.snapshot()
    assert after == before
    assert (after["elections"][0]["id"], after["elections"][0]["status"]) == (ctx.election["id"], "pending_approval")


# ---- fuzzing the creating endpoints --------------------------------------------------------------------------------

JUNK = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False, allow_infinity=False),
                 st.text(max_size=30), st.lists(st.integers(), max_size=3),
                 st.dictionaries(st.text(max_size=5), st.integers(), max_size=2))


def _strategy(schema: dict, hints: dict, name: str = "", depth: int = 0):
    """Values shaped like `schema`, each leaf sometimes junk: most get past the outer checks, many get deep."""
    schema = _resolve(schema)
    if name in hints:
        return st.one_of(hints[name], JUNK)
    types = schema.get("type", "object")
    types = [t for t in (types if isinstance(types, list) else [types]) if t != "null"] or ["object"]
    kind = types[0]
    if "enum" in schema:
        base = st.sampled_from(schema["enum"])
    elif kind == "object" and "properties" in schema and depth < 4:
        required = set(schema.get("required", []))
        props = {k: _strategy(v, hints, k, depth + 1) for k, v in schema["properties"].items()}
        base = st.fixed_dictionaries({k: v for k, v in props.items() if k in required},
                                     optional={k: v for k, v in props.items() if k not in required})
    elif kind == "array":
        base = st.lists(_strategy(schema.get("items", {}), hints, name, depth + 1), max_size=3)
    elif kind == "integer":
        base = st.integers(min_value=-10, max_value=10 ** 7) | st.integers()
    elif kind == "number":
        base = st.decimals(min_value=-5, max_value=120, places=2, allow_nan=False).map(str) | st.integers(-5, 120)
    elif kind == "boolean":
        base = st.booleans()
    elif schema.get("format") == "date":
        base = st.dates().map(lambda d: d.isoformat())
    elif schema.get("format") == "email":
        base = st.emails()
    elif kind == "string":
        base = st.text(max_size=20)
    else:
        base = JUNK
    return st.one_of(base, base, JUNK)


FUZZED = {
    ("POST", "/v1/plans/setup"): ("advisor", lambda ctx: ctx.get("/v1/employers", ctx.world.advisor)),
    ("POST", "/v1/employers/{employer_id}/employees"): ("sponsor", lambda ctx: ctx.census()),
    ("POST", "/mobile/v1/elections"): ("participant", lambda ctx: ctx.elections()),
    ("PUT", "/mobile/v1/beneficiaries"): ("participant",
                                          lambda ctx: ctx.get("/mobile/v1/beneficiaries", ctx.world.participant)),
    ("PUT", "/mobile/v1/investments"): ("participant",
                                        lambda ctx: ctx.get("/mobile/v1/investments", ctx.world.participant)),
    ("POST", "/mobile/v1/signup"): ("anonymous", lambda ctx: ctx.census()),
}


@pytest.mark.parametrize("target", list(FUZZED), ids=lambda t: f"{t[0]} {t[1]}")
def test_fuzzed_bodies_never_500_and_refusals_change_nothing(client, ctx, target):
    method, template = target
    role, state_of = FUZZED[target]
    op = next(op for m, p, op, _ in OPERATIONS if (m, p) == target)
    headers = {"advisor": ctx.world.advisor, "sponsor": ctx.world.sponsor, "participant": ctx.world.participant,
               "anonymous": {}}[role]
    hints = {"fund_id": st.sampled_from(ctx.funds), "invite_code": st.sampled_from(
        [scenario.invite_code(ctx.app, e) for e in ctx.world.employees.values()]), "ssn": st.from_regex(r"\d{3}-\d{2}-\d{4}", fullmatch=True),
             "ssn_last4": st.sampled_from(["4321", "6789", "0000"]), "ein": st.from_regex(r"\d{2}-\d{7}", fullmatch=True),
             "state": st.sampled_from(["UT", "CA"]), "postal_code": st.just("84601"),
             "percent": st.sampled_from(["0", "3", "6", "50", "100", "100.001", "1e2"])}
    strategy = st.one_of(_strategy(_json_schema(op), hints), JUNK)
    path = _path(template, ctx.ids)
    state = {"now": state_of(ctx)}
    seen: set[int] = set()

    @settings(max_examples=25, deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                                     HealthCheck.data_too_large, HealthCheck.filter_too_much])
    @given(body=strategy)
    def fuzz(body):
        response = client.open(path, method=method, json=body, headers=headers)
        assert_not_500(response, body)
        seen.add(response.status_code)
        after = state_of(ctx)
        if response.status_code >= 400:
            assert after == state["now"], (body, response.json)
        state["now"] = after

    fuzz()
    undocumented = {status for status in seen if 400 <= status < 500} - documented_statuses(op)
    assert not undocumented, f"answered {sorted(undocumented)}, which the document does not list"


# ---- Idempotency-Key -----------------------------------------------------------------------------------------------

def _creating(ctx: Ctx):
    employer = ctx.world.employer_id
    return {
        "plan setup": ("/v1/plans/setup", ctx.world.advisor, "application/json",
                       json.dumps(scenario.plan_request(name="Once Co", sponsor_email="once@example.com")),
                       json.dumps(scenario.plan_request(name="Twice Co", sponsor_email="twice@example.com")), 201),
        "census": (f"/v1/employers/{employer}/employees", ctx.world.sponsor, "application/json",
                   json.dumps({"employees": [new_row("E3")]}), json.dumps({"employees": [new_row("E4")]}), 200),
        "census csv": (f"/v1/employers/{employer}/employees/csv", ctx.world.sponsor, "text/csv",
                       scenario.census_csv([new_row("E3")]).decode(), scenario.census_csv([new_row("E4")]).decode(),
                       200),
        "election": ("/mobile/v1/elections", ctx.world.participant, "application/json",
                     json.dumps({"lines": [{"money_type": "pretax", "percent": "7"}]}),
                     json.dumps({"lines": [{"money_type": "pretax", "percent": "8"}]}), 201),
        "opt-out": ("/mobile/v1/elections/opt-out", ctx.world.participant, "application/json", "", "{}", 201),
        "payroll connection": (f"/v1/employers/{employer}/payroll-connections", ctx.world.sponsor, "application/json",
                               json.dumps({"provider": "pull"}), json.dumps({"provider": "pull", "config": {"b": 1}}), 201),
    }


CREATING = ["plan setup", "census", "census csv", "election", "opt-out", "payroll connection"]
# Their answers carry a secret shown once (an invitation token, a signing secret): a repeat is a 409 that says so.
SHOWN_ONCE = {"plan setup", "payroll connection"}


def _operation_of(method: str, path: str) -> tuple[str, dict]:
    """The document's (path template, operation) that `path` is a request to."""
    return next((template, op) for m, template, op, _ in OPERATIONS
                if m == method and re.fullmatch(re.sub(r"{\w+}", "[^/]+", template), path))


def test_the_operations_that_document_an_idempotency_key_are_the_ones_tested_for_replays(ctx):
    reading_the_key = {(m, p) for m, p, _, params in OPERATIONS if "Idempotency-Key" in [q["name"] for q in params]}
    tested = {("POST", _operation_of("POST", _creating(ctx)[name][0])[0]) for name in CREATING}
    assert reading_the_key == tested, (sorted(reading_the_key - tested), sorted(tested - reading_the_key))


@pytest.mark.parametrize("name", CREATING)
def test_idempotency_key_replays_the_first_answer_and_refuses_another_body(client, ctx, name):
    path, auth, content_type, body, other_body, status = _creating(ctx)[name]
    _, op = _operation_of("POST", path)
    assert "Idempotent-Replayed" in op["responses"][str(status)]["headers"]
    assert "idempotency-key-reused" in op["responses"]["422"]["description"]
    headers = {**auth, "Idempotency-Key": f"key-{name}"}
    first = client.post(path, data=body, content_type=content_type, headers=headers)
    assert first.status_code == status, first.get_data(as_text=True)
    assert "Idempotent-Replayed" not in first.headers
    after_first = ctx.snapshot()

    replay = client.post(path, data=body, content_type=content_type, headers=headers)
    assert replay.headers.get("Idempotent-Replayed") == "true"
    if name in SHOWN_ONCE:
        assert_problem(replay, 409, "secret-shown-once")
        assert "secret-shown-once" in op["responses"]["409"]["description"]
    else:
        assert replay.status_code == status
        assert replay.get_data() == first.get_data()
        assert replay.mimetype == first.mimetype
        assert replay.headers.get("ETag") == first.headers.get("ETag")
    assert ctx.snapshot() == after_first, "a replay stored something again"

    reused = client.post(path, data=other_body, content_type=content_type, headers=headers)
    assert_problem(reused, 422)
    assert "Idempotency-Key" in [e["field"] for e in reused.json["errors"]]
    assert "Idempotent-Replayed" not in reused.headers
    assert ctx.snapshot() == after_first, "a refused reuse of the key stored something"


def test_idempotency_keys_are_checked_and_scoped_to_the_caller(app, client, ctx):
    too_long = client.post("/mobile/v1/elections", json=ELECTION,
                           headers={**ctx.world.participant, "Idempotency-Key": "k" * 256})
    assert_problem(too_long, 422)
    other_advisor = scenario.advisor(app, client, "advisor2@example.com")
    key = {"Idempotency-Key": "same-key"}
    mine = client.post("/v1/plans/setup", headers={**ctx.world.advisor, **key},
                       json=scenario.plan_request(name="Mine Co", sponsor_email="mine@example.com"))
    theirs = client.post("/v1/plans/setup", headers={**other_advisor, **key},
                         json=scenario.plan_request(name="Theirs Co", sponsor_email="theirs@example.com"))
    assert (mine.status_code, theirs.status_code) == (201, 201), (mine.json, theirs.json)
    assert "Idempotent-Replayed" not in theirs.headers
    assert mine.json["employer"]["id"] != theirs.json["employer"]["id"]
    assert [e["name"] for e in client.get("/v1/employers", headers=other_advisor).json] == ["Theirs Co"]
