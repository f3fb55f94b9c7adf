"""/docs runs Swagger UI from the package installed with the project: no CDN, no inline script (review L-5)."""
import re

from backend.web.security import DOCS_POLICY


def test_the_docs_page_loads_nothing_from_another_origin_and_everything_it_loads_is_served(client):
    page = client.get("/docs")
    assert page.status_code == 200 and page.mimetype == "text/html"
    html = page.get_data(as_text=True)
    assert not re.search(r"https?://|//[a-z]", html), html
    assert "<script>" not in html  # every script is a file of this origin, so the policy need not allow inline
    loaded = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert len(loaded) == 5 and all(url.startswith("/docs/") for url in loaded), loaded
    for url in loaded:
        assert client.get(url).status_code == 200, url
    assert '"/openapi.json"' in client.get("/docs/initializer.js").get_data(as_text=True)


def test_the_docs_policy_lets_only_this_origins_scripts_run(client):
    policy = client.get("/docs").headers["Content-Security-Policy"]
    assert policy == DOCS_POLICY
    assert "script-src 'self';" in policy and "unsafe-inline" not in policy.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in policy


def test_only_the_pages_own_files_are_served_from_the_package(client):
    assert client.get("/docs/static/index.html").status_code == 404
    assert client.get("/docs/static/..%2f__init__.py").status_code == 404


def test_the_packaged_swagger_ui_reads_openapi_3_1_documents(client):
    """Swagger UI reads OpenAPI 3.1 from version 5 on; an older bundle shows an empty page for this document."""
    from backend.web.docs import SWAGGER_UI_DIST
    assert client.get("/openapi.json").json["openapi"].startswith("3.1")
    major = int(open(f"{SWAGGER_UI_DIST}/VERSION").read().strip().lstrip("v").split(".")[0])
    assert major >= 5
