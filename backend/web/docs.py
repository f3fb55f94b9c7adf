"""/docs: Swagger UI (5.x, which reads OpenAPI 3.1) from the `flask-swagger-ui` package installed with the project
(only its `dist/` files; its blueprint is not used), never from a CDN, so the page that people paste bearer tokens
into runs only code this server ships. No inline script either: the page's
content security policy (backend/web/security.py) allows scripts from this origin only."""
import json
from importlib.resources import files

from flask import Blueprint, Response, abort, send_from_directory, url_for
from markupsafe import escape

SWAGGER_UI_DIST = str(files("flask_swagger_ui") / "dist")
blp = Blueprint("docs", __name__, url_prefix="/docs")
# Only what the page loads is served, not the package's whole directory (its own index.html loads a demo spec).
ASSETS = frozenset({"swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "favicon-32x32.png",
                    "favicon-16x16.png"})
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>{title}</title>
  <link rel="stylesheet" href="{css}">
  <link rel="icon" type="image/png" href="{icon}">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="{bundle}"></script>
  <script src="{preset}"></script>
  <script src="{init}"></script>
</body>
</html>
"""
INITIALIZER = """window.addEventListener("load", function () {
  window.ui = SwaggerUIBundle({
    url: %s,
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout",
    validatorUrl: null
  });
});
"""


@blp.get("")
def swagger_ui():
    asset = lambda name: url_for("docs.asset", name=name)  # noqa: E731
    page = PAGE.format(title=escape("Plumb API"), css=asset("swagger-ui.css"), icon=asset("favicon-32x32.png"),
                       bundle=asset("swagger-ui-bundle.js"), preset=asset("swagger-ui-standalone-preset.js"),
                       init=url_for("docs.initializer"))
    return Response(page, mimetype="text/html")


@blp.get("/initializer.js")
def initializer():
    return Response(INITIALIZER % json.dumps(url_for("api-docs.openapi_json")), mimetype="text/javascript")


@blp.get("/static/<name>")
def asset(name: str):
    if name not in ASSETS:
        abort(404)
    return send_from_directory(SWAGGER_UI_DIST, name, max_age=86400)

