"""Push in the browser, with a Firebase web configuration on the server: the first load carries no Firebase code;
"Turn on push" in Settings loads it (its own chunk) and asks Google's services for a token (here refused: the test
blocks every request off this machine, so the app says it could not); a tapped push opens /app/open?link=… and
lands on the screen the link names."""
import json
from urllib.parse import quote

import pytest

from backend.demo import PARTICIPANT, seed_demo
from tests.browser.test_phone_app import assert_accessible, log_in, phone
from tests.support.served import Served
from tests.web.conftest import build_app
from tests.web.test_app_config import FIREBASE


@pytest.fixture
def push_server(database_url, tmp_path):
    application = build_app(database_url, tmp_path, firebase_web_config=FIREBASE)
    seed_demo(application.extensions["plumb"])
    served = Served(application)
    yield served
    served.stop()
    application.extensions["plumb"].db.engine.dispose()


def test_the_firebase_sdk_loads_only_when_push_is_turned_on_and_a_tapped_push_opens_its_screen(browser, push_server,
                                                                                             shots):
    base = push_server.base
    context, page = phone(browser, "large", "en-US")
    scripts: list[str] = []
    page.on("request", lambda request: scripts.append(request.url) if request.url.endswith(".js") else None)
    # Nothing leaves this machine: Firebase's registration services are refused.
    context.route("https://**/*", lambda route: route.abort())
    context.grant_permissions(["notifications"], origin=base)
    try:
        log_in(page, base, *PARTICIPANT)
        page.get_by_role("heading", name="Hello, Maria").wait_for()
        first_load = [url for url in scripts if "/app/assets/" in url]
        assert len(first_load) == 1, first_load  # the app's one chunk: no Firebase code

        page.get_by_role("link", name="Settings").tap()
        page.get_by_test_id("push-state").filter(has_text="Push is off on this phone.").wait_for()
        assert_accessible(page)
        shots(page, "settings-push-off")
        page.get_by_role("button", name="Turn on push").tap()
        page.get_by_role("alert").filter(has_text="Push could not be turned on").wait_for()
        loaded_later = [url for url in scripts if "/app/assets/" in url and url not in first_load]
        assert loaded_later, "Turning push on loads the Firebase SDK's chunks"
        workers = page.evaluate("navigator.serviceWorker.getRegistrations().then(r => r.map(w => w.scope))")
        assert f"{base}/app/push/" in workers
        shots(page, "settings-push-refused")
        assert push_server.client.get("/v1/app-config").json() == {"firebase": FIREBASE}

        page.goto(f"{base}/app/open?link={quote(json.dumps({'screen': 'balance', 'pay_run_id': 'x'}))}")
        page.wait_for_url(f"{base}/app/balance")
        page.get_by_role("heading", name="Your balance").wait_for()
    finally:
        context.close()
