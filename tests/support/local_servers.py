"""A test's stand-in for an outside service, run as its own process: started with a ready file, steered and read
over HTTP with JSON, stopped at the end (the payroll receiver, the fake FCM)."""
import json
import subprocess
import sys
import time
import urllib.request


class LocalServer:
    """A script serving on 127.0.0.1:`port`; `_launch` starts it and waits until it has written its ready file."""

    name = "local server"

    def __init__(self, tmp_path, port: int):
        self.tmp_path, self.port, self.process = tmp_path, port, None
        self.base_url = f"http://127.0.0.1:{port}"

    def _launch(self, script: str, *args: str) -> None:
        ready = self.tmp_path / f"{self.name.replace(' ', '-')}-{time.monotonic_ns()}.ready"
        self.process = subprocess.Popen([sys.executable, script, "--port", str(self.port), *args,
                                         "--ready-file", str(ready)])
        deadline = time.monotonic() + 15
        while not (ready.exists() and ready.read_text()):
            assert time.monotonic() < deadline, f"{self.name} did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def _call(self, path: str, body: dict | None = None) -> dict:
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(self.base_url + path, data=data, method="POST" if data else "GET")
        with urllib.request.urlopen(request, timeout=30) as r:
            return json.loads(r.read())


class LocalStripe(LocalServer):
    """localstripe on loopback (tests/support/localstripe_server.py): stripe-python is pointed at `base_url`, and
    the test reads back what Stripe would hold through the same client."""

    name = "localstripe"

    def start(self) -> "LocalStripe":
        from pathlib import Path

        self._launch(str(Path(__file__).with_name("localstripe_server.py")))
        return self
