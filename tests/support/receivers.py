"""A payroll provider's receiver as its own process (tests/receivers/payroll_receiver.py), steered over HTTP, and the
usual cast connected to it. The `receiver` fixture is in tests/conftest.py."""
import json
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from tests import scenario

RECEIVER = Path(__file__).resolve().parent.parent / "receivers" / "payroll_receiver.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver:
    def __init__(self, tmp_path, port: int):
        self.tmp_path, self.port, self.process = tmp_path, port, None
        self.url = f"http://127.0.0.1:{port}/deferrals"

    def start(self, secret: str) -> None:
        self.secret = secret
        ready = self.tmp_path / f"receiver-{time.monotonic_ns()}.ready"
        self.process = subprocess.Popen([sys.executable, str(RECEIVER), "--port", str(self.port), "--secret", secret,
                                         "--ready-file", str(ready)])
        deadline = time.monotonic() + 15
        while not (ready.exists() and ready.read_text()):
            assert time.monotonic() < deadline, "receiver did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def _call(self, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        with urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{self.port}{path}", data=data,
                                                           method="POST" if data else "GET"), timeout=10) as r:
            return json.loads(r.read())

    def mode(self, mode: str, **extra) -> None:
        self._call("/_mode", {"mode": mode, **extra})

    def received(self) -> dict:
        return self._call("/_received")


def connected_world(app, client, receiver, **plan):
    world = scenario.World(app, client, **plan)
    connection = scenario.connect_payroll(client, world.sponsor, world.employer_id, endpoint_url=receiver.url)
    receiver.start(connection["secret"])
    return world
