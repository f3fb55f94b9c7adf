"""A local fake of FCM's v1 send endpoint, run as its own process, and what the tests need to reach it through the
real firebase-admin SDK.

Run as a script it serves `POST /v1/projects/<id>/messages:send`, answering each message by its token: success, or
FCM's real error body for the error the test chose for that token (`POST /_answers`). It records every message
it received (`GET /_received`). Imported, `FakeFcm` starts and steers that process, `ToFakeFcm` is the requests
transport adapter that sends the SDK's https://fcm.googleapis.com requests to it, and `OfflineCredential` is a
credential that needs no network."""
import argparse
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FCM_ERROR = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
# FCM's answers (https://firebase.google.com/docs/reference/fcm/rest/v1/ErrorCode), as the v1 API sends them.
ERRORS = {
    "UNREGISTERED": (404, "NOT_FOUND", "Requested entity was not found.", []),
    "INVALID_ARGUMENT": (400, "INVALID_ARGUMENT", "The registration token is not a valid FCM registration token",
                         [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                           "fieldViolations": [{"field": "message.token",
                                                "description": "The registration token is not a valid FCM "
                                                               "registration token"}]}]),
    # The same code about the message rather than the token (a reserved data key): the device is not gone.
    "INVALID_PAYLOAD": (400, "INVALID_ARGUMENT", "Invalid data payload key: from",
                        [{"@type": "type.googleapis.com/google.rpc.BadRequest",
                          "fieldViolations": [{"field": "message.data[0].key",
                                               "description": "Invalid data payload key: from"}]}]),
    "QUOTA_EXCEEDED": (429, "RESOURCE_EXHAUSTED", "Quota exceeded for quota metric 'Send requests'.", []),
    "UNAVAILABLE": (503, "UNAVAILABLE", "The service is currently unavailable.", []),
    "INTERNAL": (500, "INTERNAL", "Internal error encountered.", []),
    "SENDER_ID_MISMATCH": (403, "PERMISSION_DENIED", "SenderId mismatch", []),
}


def error_body(name: str) -> tuple[int, dict]:
    status, code, message, extra = ERRORS[name]
    fcm_code = "INVALID_ARGUMENT" if name == "INVALID_PAYLOAD" else name
    return status, {"error": {"code": status, "message": message, "status": code,
                              "details": [{"@type": FCM_ERROR, "errorCode": fcm_code}, *extra]}}


def serve(port: int, ready_file: str) -> None:
    lock = threading.Lock()
    received, answers = [], {}
    sequence = iter(range(1, 10**9))

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive: the SDK's pooled connections are reused
        disable_nagle_algorithm = True

        def log_message(self, *args):
            pass

        def _answer(self, status: int, body: dict, headers: dict | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=UTF-8")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _body(self) -> dict:
            return json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")

        def do_GET(self):
            if self.path == "/_received":
                with lock:
                    return self._answer(200, {"received": list(received)})
            self._answer(404, {})

        def do_POST(self):
            body = self._body()
            if self.path == "/_answers":
                with lock:
                    answers.clear()
                    received.clear()
                    answers.update(body)
                return self._answer(200, {})
            if not (self.path.startswith("/v1/projects/") and self.path.endswith("/messages:send")):
                return self._answer(404, {"error": {"code": 404, "status": "NOT_FOUND", "message": self.path}})
            project = self.path.split("/")[3]
            message = body.get("message", {})
            with lock:
                received.append({"project": project, "authorization": self.headers.get("Authorization"),
                                 "message": message})
                answer = answers.get(message.get("token"))
                number = next(sequence)
            if answer is None:
                return self._answer(200, {"name": f"projects/{project}/messages/{number}"})
            status, error = error_body(answer["error"])
            headers = {"Retry-After": answer["retry_after"]} if answer.get("retry_after") else {}
            self._answer(status, error, headers)

    class Server(ThreadingHTTPServer):
        request_queue_size = 1024  # send_each opens up to 500 connections at once
        daemon_threads = True

    server = Server(("127.0.0.1", port), Handler)
    Path(ready_file).write_text(str(port))
    server.serve_forever()


# ---- used by the tests ------------------------------------------------------------------------------------------

def _requests_parts():
    import requests.adapters
    from firebase_admin import credentials
    from google.oauth2.credentials import Credentials

    class ToFakeFcm(requests.adapters.HTTPAdapter):
        """Sends what the SDK addresses to https://fcm.googleapis.com to the fake, path and all."""

        def __init__(self, base_url: str, **kwargs):
            self.base_url = base_url
            super().__init__(**kwargs)

        def send(self, request, **kwargs):
            request.url = request.url.replace("https://fcm.googleapis.com", self.base_url, 1)
            return super().send(request, **kwargs)

    class OfflineCredential(credentials.Base):
        """An OAuth2 credential with a fixed token and no expiry: the SDK never refreshes it, so never calls Google."""

        def get_credential(self):
            return Credentials(token="fake-fcm-access-token")

    return ToFakeFcm, OfflineCredential


if __name__ != "__main__":
    # Imported by the tests (run as a script, this file is only the server and cannot see the tests package).
    from tests.support.local_servers import LocalServer

    class FakeFcm(LocalServer):
        """The fake FCM process: start, steer (`answer`), read what it got (`received`), stop."""

        name = "fake FCM"

        def start(self) -> "FakeFcm":
            self._launch(__file__)
            return self

        def answer(self, **by_token: str | dict) -> None:
            """From now on answer these tokens with these FCM errors (a name, or {"error": ..., "retry_after": ...});
            every other token succeeds. Forgets what was received."""
            self._call("/_answers", {t: a if isinstance(a, dict) else {"error": a} for t, a in by_token.items()})

        def received(self) -> list[dict]:
            return self._call("/_received")["received"]

    ToFakeFcm, OfflineCredential = _requests_parts()

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--ready-file", required=True)
    arguments = parser.parse_args()
    serve(arguments.port, arguments.ready_file)
