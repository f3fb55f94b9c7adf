"""A Finch stand-in for the tests, run as its own process: just the deductions endpoints the finch-api SDK calls.

    python tests/receivers/fake_finch.py --port 0 --token ACCESS_TOKEN --ready-file F

POST /employer/benefits creates a company benefit; POST /employer/benefits/{id}/individuals starts an enrollment
job; GET /jobs/manual/{job_id} reports it, "pending" until it has been polled enough, then "complete" (the
enrollment is applied and recorded) or "error". Requests without `Authorization: Bearer ACCESS_TOKEN` get a 401.
Tests steer it over HTTP: POST /_mode {"fail_jobs": N, "failure": "error" | "invalid", "polls": K} makes the
next N enrollment jobs fail (a server-side error, or Finch refusing the input) and jobs complete on their K-th poll;
GET /_received returns the benefits created, the enrollments applied, and counts of jobs and polls."""
import argparse
import itertools
import json
import re
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

FAILURES = {
    "error": (500, {"name": "server_error", "finch_code": "provider_unavailable",
                    "message": "the payroll provider did not answer"}),
    "invalid": (400, {"name": "invalid_request_error", "finch_code": "invalid_configuration",
                      "message": "employee_deduction.amount is above what the plan allows"}),
}


class State:
    def __init__(self, token: str):
        self.token = token
        self.lock = threading.Lock()
        self.polls_to_complete = 2
        self.fail_jobs, self.failure = 0, "error"
        self.benefits: dict[str, dict] = {}
        self.enrollments: list[dict] = []  # applied, in order: {benefit_id, benefit_type, individual_id, configuration}
        self.jobs: dict[str, dict] = {}
        self.polls = 0
        self.job_numbers = itertools.count(1)


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

    def _body(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        return json.loads(raw) if raw else None

    def _authorized(self) -> bool:
        if self.headers.get("Authorization") == f"Bearer {self.state.token}":
            return True
        self._send(401, {"code": 401, "name": "authentication_error", "message": "invalid access token"})
        return False

    def _new_job(self, kind: str, apply=None, failure: str | None = None) -> str:
        job_id = f"job_{next(self.state.job_numbers)}_{uuid.uuid4().hex[:8]}"
        self.state.jobs[job_id] = {"kind": kind, "polls_left": self.state.polls_to_complete, "apply": apply or [],
                                   "failure": failure, "status": "pending", "body": None}
        return job_id

    def do_GET(self):
        if self.path == "/_received":
            with self.state.lock:
                return self._send(200, {"benefits": list(self.state.benefits.values()),
                                        "enrollments": self.state.enrollments, "polls": self.state.polls,
                                        "jobs": {k: {"kind": j["kind"], "status": j["status"]}
                                                 for k, j in self.state.jobs.items()}})
        if not self._authorized():
            return
        match = re.fullmatch(r"/jobs/manual/([^/?]+)", self.path)
        if not match:
            return self._send(404, {"code": 404, "name": "not_found_error", "message": self.path})
        with self.state.lock:
            job = self.state.jobs.get(match.group(1))
            if job is None:
                return self._send(404, {"code": 404, "name": "not_found_error", "message": "no such job"})
            self.state.polls += 1
            if job["status"] in ("pending", "in_progress"):
                job["polls_left"] -= 1
                if job["polls_left"] > 0:
                    job["status"] = "in_progress"
                elif job["failure"]:
                    code, error = FAILURES[job["failure"]]
                    job["status"] = "error"
                    job["body"] = [{"individual_id": e["individual_id"], "code": code, "body": error}
                                   for e in job["apply"]] or [{"code": code, "body": error}]
                else:
                    job["status"] = "complete"
                    self.state.enrollments.extend(job["apply"])
                    job["body"] = [{"individual_id": e["individual_id"], "code": 200, "body": {}} for e in job["apply"]]
            return self._send(200, {"job_id": match.group(1), "status": job["status"], "body": job["body"]})

    def do_POST(self):
        body = self._body()
        if self.path == "/_mode":
            with self.state.lock:
                self.state.fail_jobs = body.get("fail_jobs", self.state.fail_jobs)
                self.state.failure = body.get("failure", self.state.failure)
                self.state.polls_to_complete = body.get("polls", self.state.polls_to_complete)
            return self._send(200, {"ok": True})
        if not self._authorized():
            return
        if self.path.split("?")[0] == "/employer/benefits":
            if body.get("type") not in ("401k", "401k_roth"):
                return self._send(400, {"code": 400, "name": "invalid_request_error", "message": "unsupported type"})
            with self.state.lock:
                benefit_id = str(uuid.uuid4())
                self.state.benefits[benefit_id] = {"benefit_id": benefit_id, **body}
                job_id = self._new_job(f"create {body['type']}")
            return self._send(200, {"benefit_id": benefit_id, "job_id": job_id})
        match = re.fullmatch(r"/employer/benefits/([^/?]+)/individuals", self.path.split("?")[0])
        if not match:
            return self._send(404, {"code": 404, "name": "not_found_error", "message": self.path})
        with self.state.lock:
            benefit = self.state.benefits.get(match.group(1))
            if benefit is None:
                return self._send(404, {"code": 404, "name": "not_found_error", "message": "no such benefit"})
            if not isinstance(body, list):  # the SDK sends the individuals array as the whole body
                return self._send(400, {"code": 400, "name": "invalid_request_error", "message": "expected an array"})
            for individual in body:
                deduction = individual.get("configuration", {}).get("employee_deduction", {})
                if deduction.get("type") not in ("percent", "fixed") or not isinstance(deduction.get("amount"), int):
                    return self._send(422, {"code": 422, "name": "invalid_request_error",
                                            "message": f"bad employee_deduction {deduction!r}"})
            failure = None
            if self.state.fail_jobs:
                self.state.fail_jobs -= 1
                failure = self.state.failure
            apply = [{"benefit_id": benefit["benefit_id"], "benefit_type": benefit["type"], **individual}
                     for individual in body]
            job_id = self._new_job(f"enroll {benefit['type']}", apply, failure)
        self._send(200, {"job_id": job_id})


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--token", required=True)
    parser.add_argument("--ready-file", required=True)
    args = parser.parse_args()
    Handler.state = State(args.token)
    Handler.protocol_version = "HTTP/1.1"
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    with open(args.ready_file, "w") as ready:
        ready.write(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
