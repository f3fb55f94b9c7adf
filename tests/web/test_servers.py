"""Both HTTP servers, run for real: `plumb serve` (gunicorn) as a process, started, asked, and stopped with SIGTERM;
and the development server's handler (`make demo`). Neither names its software, both answer an over-long request
line or header with problem details, and both write the access line as JSON without the query string."""
import io
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
from werkzeug.serving import make_server

from backend.web.logs import JsonFormatter
from backend.web.security import PlumbRequestHandler
from tests.support.receivers import free_port

PLUMB = str(Path(sys.executable).with_name("plumb"))
PROBLEM = "application/problem+json"


def wait_until_answering(base: str, process: subprocess.Popen, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert process.poll() is None, process.communicate()[1][-3000:]
        try:
            if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            time.sleep(0.2)
    raise AssertionError("plumb serve did not answer")


def raw_request(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as connection:
        connection.sendall(request)
        chunks = []
        while chunk := connection.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def assert_raw_problem(answer: bytes, status: int) -> dict:
    head, _, body = answer.partition(b"\r\n\r\n")
    lines = head.decode("latin1").split("\r\n")
    assert lines[0].split(" ")[1] == str(status), lines[0]
    headers = {k.lower(): v.strip() for k, _, v in (line.partition(":") for line in lines[1:])}
    assert headers["content-type"] == PROBLEM, headers
    problem = json.loads(body)
    assert problem["status"] == status and problem["request_id"] == headers["x-request-id"] and problem["title"]
    return problem


def test_plumb_serve_answers_health_and_readiness_and_stops_gracefully_on_sigterm(database_url, tmp_path):
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "DATABASE_URL": database_url, "PLUMB_INSTANCE_DIR": str(tmp_path),
           "PLUMB_JWT_SECRET": "serve-test-" + "x" * 40}
    process = subprocess.Popen([PLUMB, "serve", "--bind", f"127.0.0.1:{port}", "--workers", "2", "--threads", "2",
                                "--graceful-timeout", "10"], env=env, cwd=tmp_path, stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, text=True)
    try:
        wait_until_answering(base, process)
        ready = httpx.get(f"{base}/readyz")
        assert ready.status_code == 200 and ready.json() == {"status": "ready"}
        traced = httpx.get(f"{base}/healthz?access_token=sekrit-token", headers={"X-Request-Id": "trace-42"})
        assert traced.headers["X-Request-Id"] == "trace-42"
        assert traced.headers["Server"] == "Plumb" and traced.headers["X-Content-Type-Options"] == "nosniff"
        missing = httpx.get(f"{base}/no-such-thing")
        assert missing.headers["Content-Type"] == PROBLEM and missing.json()["request_id"]
        assert_raw_problem(raw_request(port, b"GET /" + b"a" * 8000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"), 414)
        assert_raw_problem(raw_request(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 9000
                                       + b"\r\n\r\n"), 431)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            _, stderr = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            process.kill()
            raise
    assert process.returncode == 0, stderr[-3000:]
    lines = [json.loads(line) for line in stderr.splitlines() if line.startswith("{")]
    assert any(line["message"] == "Shutting down: Master" for line in lines)
    access = [line for line in lines if line["logger"] == "plumb.access"]
    traced_line = next(line for line in access if line["request_id"] == "trace-42")
    assert (traced_line["method"], traced_line["path"], traced_line["status"]) == ("GET", "/healthz", 200)
    assert "sekrit" not in stderr
    # Every line gunicorn and the app wrote is a JSON line (a few plain status lines of the command aside).
    assert all(line.startswith("{") or line.startswith(("SQLite:", "outbox")) for line in stderr.splitlines()), \
        stderr[-3000:]


@pytest.fixture
def dev_server(app):
    """The app on Werkzeug's server with the demo's request handler, its access lines captured."""
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True, request_handler=PlumbRequestHandler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    access = logging.getLogger("plumb.access")
    access.addHandler(handler)
    access.setLevel(logging.INFO)
    yield port, stream
    access.removeHandler(handler)
    server.shutdown()
    thread.join(10)


def test_the_development_server_names_no_software_and_logs_paths_without_query_strings(dev_server):
    port, stream = dev_server
    answer = httpx.get(f"http://127.0.0.1:{port}/healthz?access_token=sekrit-token", headers={"X-Request-Id": "d-1"})
    assert answer.status_code == 200 and answer.headers["Server"] == "Plumb"
    line = json.loads(stream.getvalue().splitlines()[0])
    assert (line["request_id"], line["path"], line["status"]) == ("d-1", "/healthz", 200)
    assert "sekrit" not in stream.getvalue()


def test_the_development_server_answers_over_long_lines_and_headers_with_problem_details(dev_server):
    port, _ = dev_server
    assert_raw_problem(raw_request(port, b"GET /" + b"a" * 70000 + b" HTTP/1.1\r\nHost: x\r\n\r\n"), 414)
    assert_raw_problem(raw_request(port, b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000
                                   + b"\r\n\r\n"), 431)
