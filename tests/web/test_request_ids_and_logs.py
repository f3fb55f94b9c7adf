"""Request ids (in `X-Request-Id` and in every problem) and logs as JSON lines carrying them, with paths written
without their query strings (the review found tokens from `?access_token=` in the access log)."""
import io
import json
import logging

import pytest

from backend.web.logs import JsonFormatter, configure_logging, log_access
from tests.support.problems import assert_problem


def test_a_sane_incoming_request_id_is_answered_back_and_quoted_in_the_problem(client):
    response = client.get("/v1/auth/me", headers={"X-Request-Id": "edge-7f3a.42"})
    body = assert_problem(response, 401)
    assert response.headers["X-Request-Id"] == "edge-7f3a.42" == body["request_id"]


@pytest.mark.parametrize("given", [None, "", "has spaces", "x" * 200, "<script>", "a\u00e9b"])
def test_a_missing_or_odd_request_id_is_replaced_by_one_of_our_own(client, given):
    headers = {} if given is None else {"X-Request-Id": given}
    response = client.get("/no-such-thing", headers=headers)
    body = assert_problem(response, 404)
    assert response.headers["X-Request-Id"].startswith("req_") and response.headers["X-Request-Id"] != given
    assert body["request_id"] == response.headers["X-Request-Id"]


def test_every_answer_has_its_own_request_id(client):
    ids = {client.get("/healthz").headers["X-Request-Id"] for _ in range(5)}
    assert len(ids) == 5


def test_a_validation_problem_carries_the_request_id_and_still_lists_every_problem(client):
    response = client.post("/v1/auth/login", json={}, headers={"X-Request-Id": "abc"})
    body = assert_problem(response, 422, "validation")
    assert body["request_id"] == "abc" and sorted(e["field"] for e in body["errors"]) == ["email", "password"]


def test_a_log_line_written_during_a_request_is_json_with_its_request_id_and_no_query_string(app):
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("tests.web.sample")
    logger.addHandler(handler)
    try:
        with app.test_request_context("/v1/auth/login?access_token=sekrit-token", method="POST",
                                      headers={"X-Request-Id": "rid-1"}):
            app.preprocess_request()
            logger.warning("something %s", "happened", extra={"status": 401})
    finally:
        logger.removeHandler(handler)
    line = json.loads(stream.getvalue())
    assert line["message"] == "something happened" and line["level"] == "WARNING"
    assert line["logger"] == "tests.web.sample" and line["time"].endswith("+00:00")
    assert (line["request_id"], line["method"], line["path"], line["status"]) == \
        ("rid-1", "POST", "/v1/auth/login", 401)
    assert "sekrit" not in stream.getvalue()


def test_logging_is_set_up_once_however_often_it_is_asked_and_writes_json_lines():
    stream = io.StringIO()
    root = logging.getLogger()
    before = list(root.handlers), root.level
    try:
        configure_logging(stream=stream)
        configure_logging(stream=stream)
        log_access("GET", "/healthz", 200, "rid-2", 1.25, "127.0.0.1")
    finally:
        for handler in list(root.handlers):
            if getattr(handler, "plumb", False):
                root.removeHandler(handler)
        for handler in before[0]:
            if handler not in root.handlers:
                root.addHandler(handler)
        root.setLevel(before[1])
    lines = [json.loads(line) for line in stream.getvalue().splitlines()]
    assert len(lines) == 1
    assert {k: lines[0][k] for k in ("logger", "method", "path", "status", "request_id")} == \
        {"logger": "plumb.access", "method": "GET", "path": "/healthz", "status": 200, "request_id": "rid-2"}
