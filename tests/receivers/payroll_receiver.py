"""A payroll provider stand-in for the tests, run as its own process:

    python tests/receivers/payroll_receiver.py --port 0 --secret whsec_... --ready-file F

It verifies each deferral change's Standard Webhooks signature, de-duplicates by message id (as the contract asks
of receivers), and records what it applied. Tests steer it over HTTP: POST /_mode {"mode": "ok" | "fail" | "slow",
"count": N} (fail answers 500, slow waits before answering), GET /_received for what arrived."""
import argparse
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from standardwebhooks.webhooks import Webhook, WebhookVerificationError


class State:
    def __init__(self, secret: str):
        self.webhook = Webhook(secret)
        self.lock = threading.Lock()
        self.mode, self.remaining, self.slow_seconds = "ok", None, 1.0
        self.applied: list[dict] = []  # each message once, in the order applied
        self.applied_ids: set[str] = set()
        self.received_at: dict[str, float] = {}  # message id → when first applied (unix seconds)
        self.deliveries: list[str] = []  # every delivery, duplicates included
        self.in_flight: dict[str, int] = {}
        self.max_concurrent_same_id = 0
        self.refused = 0


class Handler(BaseHTTPRequestHandler):
    state: State
    disable_nagle_algorithm = True  # keep-alive answers must not wait on delayed ACKs

    def log_message(self, *args):
        pass

    def _send(self, status: int, body: dict | list) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        if self.path == "/_count":
            with self.state.lock:
                return self._send(200, {"applied": len(self.state.applied)})
        if self.path == "/_timings":
            with self.state.lock:
                return self._send(200, self.state.received_at)
        if self.path == "/_received":
            with self.state.lock:
                return self._send(200, {"applied": self.state.applied, "deliveries": self.state.deliveries,
                                        "max_concurrent_same_id": self.state.max_concurrent_same_id,
                                        "refused": self.state.refused})
        self._send(404, {"error": "not found"})

    def do_POST(self):
        raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/_mode":
            body = json.loads(raw)
            with self.state.lock:
                self.state.mode, self.state.remaining = body["mode"], body.get("count")
                self.state.slow_seconds = body.get("seconds", 1.0)
            return self._send(200, {"mode": body["mode"]})
        try:
            self.state.webhook.verify(raw, {k.lower(): v for k, v in self.headers.items()})
        except WebhookVerificationError:
            with self.state.lock:
                self.state.refused += 1
            return self._send(401, {"error": "bad signature"})
        message_id = self.headers["webhook-id"]
        with self.state.lock:
            mode = self.state.mode
            if self.state.remaining is not None:
                self.state.remaining -= 1
                if self.state.remaining <= 0:
                    self.state.mode, self.state.remaining = "ok", None
            self.state.deliveries.append(message_id)
            self.state.in_flight[message_id] = self.state.in_flight.get(message_id, 0) + 1
            self.state.max_concurrent_same_id = max(self.state.max_concurrent_same_id, self.state.in_flight[message_id])
        try:
            if mode == "fail":
                return self._send(500, {"error": "payroll is having a bad day"})
            if mode == "slow":
                time.sleep(self.state.slow_seconds)
            with self.state.lock:
                if message_id not in self.state.applied_ids:
                    self.state.applied_ids.add(message_id)
                    self.state.applied.append(json.loads(raw))
                    self.state.received_at[message_id] = time.time()
            self._send(200, {"applied": message_id})
        finally:
            with self.state.lock:
                self.state.in_flight[message_id] -= 1


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--ready-file", required=True)
    args = parser.parse_args()
    Handler.state = State(args.secret)
    Handler.protocol_version = "HTTP/1.1"  # keep-alive, as a real provider's server would
    ThreadingHTTPServer.request_queue_size = 128  # a worker opens its connections all at once
    server = ThreadingHTTPServer(("127.0.0.1", args.port), Handler)
    with open(args.ready_file, "w") as ready:
        ready.write(str(server.server_address[1]))
    server.serve_forever()


if __name__ == "__main__":
    main()
