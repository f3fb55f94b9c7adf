"""A Gusto-shaped payroll API for the tests, run as its own process: employee benefits with optimistic concurrency.

    python tests/receivers/fake_gusto.py --port 0 --token ACCESS_TOKEN --company-benefits UUID,UUID --ready-file F

GET /v1/employees/{employee}/employee_benefits lists an employee's benefits; POST there creates one (409 if the
employee already has one for that company benefit); PUT /v1/employee_benefits/{uuid} updates one and must carry
the `version` last read, else 409 (every write gives the record a new version). Requests without
`Authorization: Bearer ACCESS_TOKEN` get a 401. Tests steer it over HTTP: POST /_mode {"bump_version_once": true}
makes someone else edit the benefit the next PUT targets just before that PUT is checked (so it is stale);
GET /_received returns the benefits as stored, every write applied, and how many 409s were answered."""
import argparse
import json
import re
import secrets
import threading
import uuid
from decimal import Decimal, InvalidOperation
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FIELDS = ("employee_deduction", "deduct_as_percentage", "catch_up", "effective_date")


class State:
    def __init__(self, token: str, company_benefits: list[str]):
        self.token, self.company_benefits = token, set(company_benefits)
        self.lock = threading.Lock()
        self.benefits: dict[str, dict] = {}
        self.writes: list[dict] = []  # {"op": "create" | "update" | "external_edit", "uuid", "body"}
        self.conflicts = 0
        self.bump_version_once = False


class Handler(BaseHTTPRequestHandler):
    state: State
    disable_nagle_algorithm = True

    def log_message(self, *args):
        pass

    def _send(self, status: int, body) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _body(self) -> dict:
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        return json.loads(raw) if raw else {}

    def _authorized(self) -> bool:
        if self.headers.get("Authorization") == f"Bearer {self.state.token}":
            return True
        self._send(401, {"errors": [{"error_key": "base", "category": "invalid_token", "message": "unauthorized"}]})
        return False

    def _invalid(self, body: dict) -> str | None:
        try:
            Decimal(str(body.get("employee_deduction")))
        except InvalidOperation:
            return "employee_deduction must be a decimal string"
        if not isinstance(body.get("deduct_as_percentage"), bool) or not isinstance(body.get("catch_up"), bool):
            return "deduct_as_percentage and catch_up must be booleans"
        return None

    def do_GET(self):
        if self.path == "/_received":
            with self.state.lock:
                return self._send(200, {"benefits": list(self.state.benefits.values()), "writes": self.state.writes,
                                        "conflicts": self.state.conflicts})
        if not self._authorized():
            return
        match = re.fullmatch(r"/v1/employees/([^/?]+)/employee_benefits", self.path)
        if not match:
            return self._send(404, {"errors": [{"message": "not found"}]})
        with self.state.lock:
            self._send(200, [b for b in self.state.benefits.values() if b["employee_uuid"] == match.group(1)])

    def do_POST(self):
        body = self._body()
        if self.path == "/_mode":
            with self.state.lock:
                self.state.bump_version_once = bool(body.get("bump_version_once"))
            return self._send(200, {"ok": True})
        if not self._authorized():
            return
        match = re.fullmatch(r"/v1/employees/([^/?]+)/employee_benefits", self.path)
        if not match:
            return self._send(404, {"errors": [{"message": "not found"}]})
        employee = match.group(1)
        if body.get("company_benefit_uuid") not in self.state.company_benefits:
            return self._send(422, {"errors": [{"error_key": "company_benefit_uuid", "message": "unknown benefit"}]})
        problem = self._invalid(body)
        if problem:
            return self._send(422, {"errors": [{"error_key": "base", "message": problem}]})
        with self.state.lock:
            if any(b["employee_uuid"] == employee and b["company_benefit_uuid"] == body["company_benefit_uuid"]
                   for b in self.state.benefits.values()):
                self.state.conflicts += 1
                return self._send(409, {"errors": [{"error_key": "base", "message": "already enrolled"}]})
            benefit = {"uuid": str(uuid.uuid4()), "version": secrets.token_hex(8), "employee_uuid": employee,
                       "company_benefit_uuid": body["company_benefit_uuid"], "active": True,
                       **{k: body.get(k) for k in FIELDS}}
            self.state.benefits[benefit["uuid"]] = benefit
            self.state.writes.append({"op": "create", "uuid": benefit["uuid"], "body": body})
            self._send(201, benefit)

    def do_PUT(self):
        if not self._authorized():
            return
        match = re.fullmatch(r"/v1/employee_benefits/([^/?]+)", self.path)
        if not match:
            return self._send(404, {"errors": [{"message": "not found"}]})
        body = self._body()
        problem = self._invalid(body)
        if problem:
            return self._send(422, {"errors": [{"error_key": "base", "message": problem}]})
        with self.state.lock:
            benefit = self.state.benefits.get(match.group(1))
            if benefit is None:
                return self._send(404, {"errors": [{"message": "no such employee benefit"}]})
            if self.state.bump_version_once:
                # Someone edits it in Gusto's own screens between the adapter's read and its write.
                self.state.bump_version_once = False
                benefit["version"] = secrets.token_hex(8)
                self.state.writes.append({"op": "external_edit", "uuid": benefit["uuid"], "body": {}})
            if body.get("version") != benefit["version"]:
                self.state.conflicts += 1
                return self._send(409, {"errors": [{"error_key": "version", "category": "invalid_attribute_value",
                                                    "message": "The resource has been updated since it was read"}]})
            benefit.update({k: body.get(k) for k in FIELDS}, version=secrets.token_hex(8))
            self.state.writes.append({"op": "update", "uuid": benefit["uuid"], "body": body})
            self._send(200, benefit)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", required=True)
    parser.add_argument("--company-benefits", required=True, help="comma-separated company benefit uuids")
    parser.add_argument("--ready-file", required=True)
    args = parser.parse_args()
    Handler.state = State(args.token, args.company_benefits.split(","))
    Handler.protocol_version = "HTTP/1.1"
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    with open(args.ready_file, "w") as ready:
        ready.write(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
