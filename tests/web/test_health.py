"""/healthz answers while the process lives; /readyz only when the database answers and is fully migrated."""
from tests.support.problems import assert_problem
from tests.web.conftest import build_app


def test_a_live_process_is_healthy_and_a_migrated_database_is_ready_without_any_token(client):
    assert client.get("/healthz").json == {"status": "ok"}
    assert client.get("/readyz").json == {"status": "ready"}


def test_an_unmigrated_database_is_not_ready_and_says_to_upgrade(scratch_url, tmp_path):
    app = build_app(scratch_url, tmp_path)
    try:
        client = app.test_client()
        assert client.get("/healthz").status_code == 200
        response = client.get("/readyz")
        body = assert_problem(response, 503, "not-ready")
        assert "plumb db upgrade" in body["detail"] and response.headers["Retry-After"]
    finally:
        app.extensions["plumb"].db.engine.dispose()


def test_a_database_that_does_not_answer_is_not_ready(tmp_path):
    app = build_app(f"sqlite:///{tmp_path / 'missing-dir' / 'plumb.db'}", tmp_path)
    try:
        assert_problem(app.test_client().get("/readyz"), 503, "not-ready")
    finally:
        app.extensions["plumb"].db.engine.dispose()
