"""A local SMTP server for the email tests (aiosmtpd), run as its own process, steered and read over a small HTTP
side channel like the fake FCM.

Run as a script it listens for SMTP on `--smtp-port` and for the tests on `--port`. It keeps every message it
accepted (`GET /_received`: envelope sender, recipients, the raw message in base64, whether it came over TLS and who logged
in). `POST /_answers` makes it answer given recipients with a given reply (451, 550 ...), every time or the first
`times` times, and forgets what was received. With `--tls-cert/--tls-key` it offers STARTTLS and requires it
before anything else; with `--login user:password` it requires that login (AUTH PLAIN or LOGIN, over TLS only)."""
import argparse
import base64
import json
import ssl
import threading
from email import message_from_bytes, policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

# Replies as real servers word them, the address echoed: what the sender keeps of them must not carry it.
REPLIES = {451: "451 4.3.0 <{address}>: mailbox busy, try again later",
           452: "452 4.2.2 <{address}>: mailbox full",
           550: "550 5.1.1 <{address}>: recipient address rejected: no such user",
           553: "553 5.1.3 <{address}>: bad address syntax"}


def serve(port: int, smtp_port: int, ready_file: str, tls_cert: str | None, tls_key: str | None,
          login: str | None) -> None:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult

    lock = threading.Lock()
    received, answers = [], {}

    class Handler:
        async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
            with lock:
                answer = answers.get(address.lower())
                if answer is not None and answer.get("times") is not None:
                    answer["times"] -= 1
                    if answer["times"] < 0:
                        answer = None
            if answer is not None:
                return REPLIES[answer["code"]].format(address=address)
            envelope.rcpt_tos.append(address)
            return "250 2.1.5 OK"

        async def handle_DATA(self, server, session, envelope):
            with lock:
                received.append({"mail_from": envelope.mail_from, "rcpt_tos": list(envelope.rcpt_tos),
                                 "data": base64.b64encode(envelope.original_content).decode(),
                                 "tls": session.ssl is not None,
                                 "login": session.auth_data.login.decode() if session.auth_data else None})
            return "250 2.0.0 OK: queued"

    settings = {}
    if tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls_cert, tls_key)
        settings.update(tls_context=context, require_starttls=True)
    if login:
        user, password = login.split(":", 1)

        def authenticator(server, session, envelope, mechanism, auth_data):
            ok = auth_data.login.decode() == user and auth_data.password.decode() == password
            # handled=False: aiosmtpd then answers a failure with 535 5.7.8 itself.
            return AuthResult(success=ok, handled=False, auth_data=auth_data if ok else None)

        settings.update(authenticator=authenticator, auth_required=True, auth_require_tls=True)
    controller = Controller(Handler(), hostname="127.0.0.1", port=smtp_port, server_hostname="fake-smtp.test",
                            **settings)
    controller.start()

    class Control(BaseHTTPRequestHandler):
        def log_message(self, *args):
            pass

        def _answer(self, body: dict) -> None:
            data = json.dumps(body).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def do_GET(self):
            with lock:
                self._answer({"received": list(received)})

        def do_POST(self):
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
            with lock:
                answers.clear()
                received.clear()
                answers.update({address.lower(): dict(answer) for address, answer in body.items()})
            self._answer({})

    server = ThreadingHTTPServer(("127.0.0.1", port), Control)
    Path(ready_file).write_text(str(port))
    try:
        server.serve_forever()
    finally:
        controller.stop()


# ---- used by the tests ------------------------------------------------------------------------------------------

if __name__ != "__main__":
    # Imported by the tests (run as a script, this file is only the server and cannot see the tests package).
    from tests.support.local_servers import LocalServer
    from tests.support.receivers import free_port

    class FakeSmtp(LocalServer):
        """The fake SMTP server process: start, steer (`answer`), read what it got (`received`), stop."""

        name = "fake SMTP"

        def __init__(self, tmp_path, port: int | None = None, smtp_port: int | None = None):
            super().__init__(tmp_path, port or free_port())
            self.smtp_port = smtp_port or free_port()

        def start(self, *, tls_cert: str | None = None, tls_key: str | None = None,
                  login: str | None = None) -> "FakeSmtp":
            options = ["--smtp-port", str(self.smtp_port)]
            if tls_cert:
                options += ["--tls-cert", str(tls_cert), "--tls-key", str(tls_key)]
            if login:
                options += ["--login", login]
            self._launch(__file__, *options)
            return self

        def answer(self, **by_address: int | dict) -> None:
            """From now on answer these recipients with these reply codes (a code, or {"code": ..., "times": n} for
            the first n tries only); every other recipient is accepted. Forgets what was received."""
            self._call("/_answers", {a: r if isinstance(r, dict) else {"code": r} for a, r in by_address.items()})

        def received(self) -> list[dict]:
            """Each message accepted, oldest first: `data` its bytes as sent, `message` those parsed (an
            email.message.EmailMessage)."""
            return [{**r, "data": base64.b64decode(r["data"]),
                     "message": message_from_bytes(base64.b64decode(r["data"]), policy=policy.default)}
                    for r in self._call("/_received")["received"]]

if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--smtp-port", type=int, required=True)
    parser.add_argument("--ready-file", required=True)
    parser.add_argument("--tls-cert")
    parser.add_argument("--tls-key")
    parser.add_argument("--login")
    arguments = parser.parse_args()
    serve(arguments.port, arguments.smtp_port, arguments.ready_file, arguments.tls_cert, arguments.tls_key,
          arguments.login)
