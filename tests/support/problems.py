"""The API's one error shape, checked one way everywhere: RFC 9457 problem details with every problem listed."""
PROBLEM = "application/problem+json"
PROBLEM_BASE = "https://plumb.dev/problems/"
PROBLEM_KEYS = {"type", "title", "status", "detail", "errors"}


def assert_problem(response, status: int | None = None, slug: str | None = None, detail: str | None = None) -> dict:
    """`response` is a problem document: the one shape, its status in the body, a non-empty title and detail, each
    listed problem a field and a message; and the status, type slug and detail given, when given."""
    if status is not None:
        assert response.status_code == status, (response.status_code, response.get_data(as_text=True)[:500])
    assert response.mimetype == PROBLEM, (response.status_code, response.headers.get("Content-Type"),
                                          response.get_data(as_text=True)[:300])
    body = response.json
    assert PROBLEM_KEYS <= set(body), body
    assert body["status"] == response.status_code, body
    assert body["type"].startswith(PROBLEM_BASE) and body["title"], body
    assert isinstance(body["detail"], str) and body["detail"], body
    assert isinstance(body["errors"], list), body
    for error in body["errors"]:
        assert set(error) == {"field", "message"} and error["message"], error
    if slug is not None:
        assert body["type"] == PROBLEM_BASE + slug, body
    if detail is not None:
        assert body["detail"] == detail, body
    return body


def error_fields(response) -> list[str]:
    """The fields a problem document lists, sorted."""
    return sorted(e["field"] for e in response.json["errors"])


def validation_fields(response) -> list[str]:
    """A 422 validation problem's fields, in the order listed."""
    assert_problem(response, 422, "validation")
    return [e["field"] for e in response.json["errors"]]
