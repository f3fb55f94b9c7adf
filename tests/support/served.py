"""The app served on a real port by a threaded server, so tests can fire requests in parallel the way a busy
production server receives them (each request on its own thread, its own session and connection)."""
import os
import threading

import httpx
from werkzeug.serving import make_server

from tests.support.receivers import free_port


class Served:
    """The test's app on 127.0.0.1:<free port>; `client` is an httpx client pointed at it."""

    def __init__(self, app):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self._server = make_server("127.0.0.1", self.port, app, threaded=True)
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        self.client = httpx.Client(base_url=self.base, timeout=30)

    def stop(self) -> None:
        self.client.close()
        self._server.shutdown()
        self._thread.join(10)


def all_at_once(count: int, call) -> list:
    """Run `call(i)` on `count` threads released together by a barrier; returns the answers in order."""
    barrier, answers = threading.Barrier(count), [None] * count

    def run(i):
        barrier.wait()
        try:
            answers[i] = call(i)
        except BaseException as error:  # noqa: BLE001 - the test looks at every answer, failures included
            answers[i] = error

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return answers


def race_trials() -> int:
    """How many times each race test repeats itself: a few in the everyday run, 50 when PLUMB_RACE_TRIALS=50 asks
    for the acceptance measure."""
    return int(os.environ.get("PLUMB_RACE_TRIALS", "3"))
