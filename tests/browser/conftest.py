"""Browser tests: the built phone app (app/dist) served by the test's app on a real port with the demo's data,
driven by Playwright for Python in Debian's Chromium at phone size.

They need Chromium (/usr/bin/chromium, or PLUMB_CHROMIUM) and the built app (`make app`); without either they are
skipped with a message saying what is missing, and PLUMB_REQUIRE_BROWSER=1 (set by .ci/run) makes that a failure.
Screenshots of each step are written under test-output/browser/ (gitignored)."""
import os
import re
import shutil
from pathlib import Path

import pytest

from backend.demo import seed_demo
from backend.web.phone_app import DEFAULT_DIST
from tests.support.served import Served

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "test-output" / "browser"
# Without the background-networking flags Chromium keeps trying hosts this machine cannot reach.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
PHONES = {"small": {"width": 360, "height": 740}, "large": {"width": 390, "height": 844}}


def chromium_path() -> str | None:
    configured = os.environ.get("PLUMB_CHROMIUM")
    if configured:
        return configured if Path(configured).is_file() else None
    return shutil.which("chromium") or (str(Path("/usr/bin/chromium")) if Path("/usr/bin/chromium").is_file() else None)


def missing() -> list[str]:
    reasons = []
    try:
        import playwright  # noqa: F401
        import axe_playwright_python  # noqa: F401
    except ImportError:
        reasons.append("Playwright for Python is not installed (pip install -e '.[test]')")
    if chromium_path() is None:
        reasons.append("Chromium is not installed (apt-get install chromium, or set PLUMB_CHROMIUM)")
    if not (DEFAULT_DIST / "index.html").is_file():
        reasons.append("the app is not built (make app)")
    return reasons


@pytest.fixture(scope="session", autouse=True)
def browser_requirements():
    """Session-scoped and autouse, so it runs before pytest-playwright's browser is launched."""
    reasons = missing()
    if reasons:
        message = "browser tests need: " + "; ".join(reasons)
        if os.environ.get("PLUMB_REQUIRE_BROWSER") == "1":
            pytest.fail(f"PLUMB_REQUIRE_BROWSER=1 and {message}", pytrace=False)
        pytest.skip(message)


def pytest_terminal_summary(terminalreporter):
    """Say at the end of the run, not only with -rs, why the browser tests were skipped."""
    skipped = [r for r in terminalreporter.stats.get("skipped", []) if "tests/browser/" in r.nodeid]
    if skipped:
        terminalreporter.write_line(f"{len(skipped)} browser tests skipped: browser tests need: "
                                    + "; ".join(missing()), yellow=True)


@pytest.fixture(scope="session")
def browser_type_launch_args():
    """This machine's Chromium, never a downloaded one."""
    return {"executable_path": chromium_path(), "args": CHROMIUM_ARGS}


@pytest.fixture(scope="module")
def browser(browser_type_launch_args):
    """Chromium for this module only, in place of pytest-playwright's session-wide one: Playwright's sync API keeps
    an event loop running in the main thread while it is started, and later tests call asyncio.run()."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(**browser_type_launch_args)
        yield launched
        launched.close()


@pytest.fixture
def demo_server(app):
    """The app (this test's database: SQLite or PostgreSQL) with the demo's data, on a free port."""
    logins = seed_demo(app.extensions["plumb"])
    served = Served(app)
    served.invite_codes = {note: code for role, code, note, _how in logins if role == "invite code"}
    yield served
    served.stop()


@pytest.fixture
def shots(request):
    """`shots(page, "name")` saves a numbered full-page screenshot for this test."""
    folder = SCREENSHOTS / re.sub(r"[^\w-]", "_", request.node.name)
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    count = iter(range(1, 100))

    def take(page, name: str) -> Path:
        path = folder / f"{next(count):02d}-{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
