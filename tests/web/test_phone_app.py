"""/app/ serves the phone app's build: index.html for every client-side route, never cached; hashed assets cached
for a year; its own content security policy (this origin only, no inline code); `/` sends a browser there; and
without a build a short page saying how to make one, never a 500."""
import pytest

from backend.web.security import API_POLICY, APP_POLICY
from tests.web.conftest import build_app

INDEX = ('<!doctype html><html lang="en"><head><script type="module" crossorigin src="/app/assets/index-abc123.js">'
         '</script></head><body><div id="root"></div></body></html>')


@pytest.fixture
def built(tmp_path):
    dist = tmp_path / "dist"
    (dist / "assets").mkdir(parents=True)
    (dist / "index.html").write_text(INDEX)
    (dist / "assets" / "index-abc123.js").write_text("console.log('app')")
    (dist / "manifest.webmanifest").write_text("{}")
    return dist


@pytest.fixture
def app_client(database_url, tmp_path, built):
    application = build_app(database_url, tmp_path, app_dir=str(built))
    yield application.test_client()
    application.extensions["plumb"].db.engine.dispose()


def test_every_client_side_route_under_app_answers_the_shell_which_no_cache_keeps(app_client):
    for path in ("/app/", "/app/rate", "/app/feed/ntf_1"):
        answer = app_client.get(path)
        assert answer.status_code == 200 and answer.get_data(as_text=True) == INDEX, path
        assert "no-cache" in answer.headers["Cache-Control"]
    assert app_client.get("/app").headers["Location"].endswith("/app/")


def test_hashed_assets_are_cached_for_a_year_and_other_files_are_revalidated(app_client):
    asset = app_client.get("/app/assets/index-abc123.js")
    assert asset.status_code == 200 and asset.get_data(as_text=True) == "console.log('app')"
    assert "max-age=31536000" in asset.headers["Cache-Control"] and "immutable" in asset.headers["Cache-Control"]
    assert "no-cache" in app_client.get("/app/manifest.webmanifest").headers["Cache-Control"]


def test_a_missing_file_is_a_404_problem_not_the_shell_and_nothing_outside_the_build_is_served(app_client):
    for path in ("/app/assets/gone-123.js", "/app/favicon.png", "/app/../pyproject.toml", "/app/..%2f..%2fetc/passwd"):
        answer = app_client.get(path)
        assert answer.status_code == 404, path
        assert answer.mimetype == "application/problem+json", path


def test_the_app_runs_only_this_origins_scripts_and_styles_and_the_api_still_allows_nothing(app_client):
    policy = app_client.get("/app/").headers["Content-Security-Policy"]
    assert policy == APP_POLICY
    assert "script-src 'self';" in policy and "style-src 'self';" in policy and "connect-src 'self';" in policy
    assert "unsafe-inline" not in policy and "unsafe-eval" not in policy and "http" not in policy
    assert app_client.get("/app/").headers["X-Frame-Options"] == "DENY"
    assert app_client.get("/v1/auth/me").headers["Content-Security-Policy"] == API_POLICY


def test_a_browser_at_the_root_is_sent_to_the_app_and_an_api_client_gets_a_404_problem(app_client):
    browser = app_client.get("/", headers={"Accept": "text/html,application/xhtml+xml,*/*;q=0.8"})
    assert browser.status_code == 302 and browser.headers["Location"].endswith("/app/")
    api = app_client.get("/", headers={"Accept": "application/json"})
    assert api.status_code == 404 and api.mimetype == "application/problem+json"
    assert api.headers["Content-Security-Policy"] == API_POLICY


def test_without_a_build_the_app_page_says_how_to_build_it(database_url, tmp_path):
    application = build_app(database_url, tmp_path, app_dir=str(tmp_path / "not-built"))
    try:
        answer = application.test_client().get("/app/rate")
        assert answer.status_code == 200 and answer.mimetype == "text/html"
        assert "make app" in answer.get_data(as_text=True)
        assert answer.headers["Cache-Control"] == "no-store"
    finally:
        application.extensions["plumb"].db.engine.dispose()
