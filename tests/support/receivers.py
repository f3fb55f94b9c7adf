"""A payroll provider's receiver as its own process (tests/receivers/payroll_receiver.py), steered over HTTP, and the
usual cast connected to it. The `receiver` fixture is in tests/conftest.py."""
import socket
from pathlib import Path

from tests import scenario
from tests.support.local_servers import LocalServer

RECEIVER = Path(__file__).resolve().parent.parent / "receivers" / "payroll_receiver.py"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Receiver(LocalServer):
    name = "receiver"

    def __init__(self, tmp_path, port: int):
        super().__init__(tmp_path, port)
        self.url = f"http://127.0.0.1:{port}/deferrals"

    def start(self, secret: str) -> None:
        self.secret = secret
        self._launch(str(RECEIVER), "--secret", secret)

    def mode(self, mode: str, **extra) -> None:
        self._call("/_mode", {"mode": mode, **extra})

    def received(self) -> dict:
        return self._call("/_received")


def connected_world(app, client, receiver, **plan):
    world = scenario.World(app, client, **plan)
    connection = scenario.connect_payroll(client, world.sponsor, world.employer_id, endpoint_url=receiver.url)
    receiver.start(connection["secret"])
    return world
