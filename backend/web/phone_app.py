"""The phone app (app/, built by `make app` into app/dist) served at /app/: the shell for every client-side route,
its hashed assets cached for a year, and `/` sending a browser there.

The app talks only to the public API, so this module serves files and nothing else. index.html is never cached (a
new build must reach phones at once); files under assets/ carry a content hash in their names (Vite), so they can be
kept for a year. Without a build, /app/ answers a short page saying how to make one instead of failing."""
from pathlib import Path

from flask import Blueprint, Response, abort, current_app, redirect, request, send_from_directory
from werkzeug.security import safe_join

from backend.web import problems

blp = Blueprint("phone_app", __name__)
PREFIX = "/app"
# Where `make app` writes the build when Plumb runs from its repository (the editable install of `make demo`).
DEFAULT_DIST = Path(__file__).resolve().parents[2] / "app" / "dist"
YEAR = 365 * 24 * 3600
NOT_BUILT = """<!DOCTYPE html>
<html lang="en">
<head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>Plumb: the app is not built</title></head>
<body>
<h1>The app is not built</h1>
<p>Build it from the repository with <code>make app</code> (it needs Node 20 or newer), then reload this page.
The API is served all the same: see <a href="/docs">/docs</a>.</p>
</body>
</html>
"""


def dist_dir() -> Path:
    configured = current_app.extensions["plumb"].config.app_dir
    return Path(configured) if configured else DEFAULT_DIST


@blp.get("/")
def root():
    """A browser opening the server lands in the app; API clients get the usual 404 problem."""
    if request.accept_mimetypes.accept_html:
        return redirect(PREFIX + "/", code=302)
    return problems.problem(404, "Not Found", "No such resource.", "not-found")


@blp.get(PREFIX)
def without_slash():
    return redirect(PREFIX + "/", code=301)


@blp.get(PREFIX + "/")
@blp.get(PREFIX + "/<path:path>")
def serve(path: str = ""):
    dist = dist_dir()
    index = dist / "index.html"
    if not index.is_file():
        return _no_store(Response(NOT_BUILT, status=200, mimetype="text/html"))
    if path:
        found = safe_join(str(dist), path)
        if found is None:
            abort(404)  # a path climbing out of the build
        if Path(found).is_file():
            if path.startswith("assets/"):
                response = send_from_directory(dist, path, max_age=YEAR)
                response.cache_control.immutable = True
                return response
            # The manifest, icons, the service worker: not hashed, so revalidated on each load.
            return _revalidate(send_from_directory(dist, path, max_age=0))
        if path.startswith("assets/") or Path(path).suffix:
            abort(404)  # a missing file, not a client-side route
    return _revalidate(send_from_directory(dist, "index.html", max_age=0))


def _revalidate(response: Response) -> Response:
    response.cache_control.no_cache = True
    return response


def _no_store(response: Response) -> Response:
    response.cache_control.no_store = True
    return response
