"""Installable and offline: the app names its web manifest (icons served from this server), its service worker
keeps the shell, and a reload without a network opens the app and says it is offline instead of failing."""
from backend.demo import PARTICIPANT
from tests.browser.conftest import PHONES
from tests.browser.test_phone_app import assert_accessible, log_in


def test_a_reload_while_offline_opens_the_saved_app_and_says_it_is_offline(browser, demo_server, shots):
    base = demo_server.base
    context = browser.new_context(viewport=PHONES["small"], is_mobile=True, has_touch=True, locale="en-US")
    page = context.new_page()
    try:
        log_in(page, base, *PARTICIPANT)
        page.get_by_role("heading", name="Hello, Maria").wait_for()
        manifest = page.evaluate("document.querySelector('link[rel=manifest]').href")
        assert demo_server.client.get(manifest).json()["start_url"] == "/app/"
        for icon in demo_server.client.get(manifest).json()["icons"]:
            assert demo_server.client.get(f"{base}/app/{icon['src']}").status_code == 200
        # The worker is in control once it has installed (the shell saved) and claimed the page.
        page.wait_for_function("navigator.serviceWorker.controller !== null", timeout=15000)
        assert page.get_by_test_id("offline").count() == 0

        context.set_offline(True)
        page.reload()
        page.get_by_test_id("offline").wait_for()
        assert "offline" in page.get_by_test_id("offline").inner_text()
        page.get_by_role("button", name="Log out").wait_for()  # the shell, still logged in
        assert_accessible(page)
        shots(page, "offline-reload")

        context.set_offline(False)
        page.reload()
        page.get_by_role("heading", name="Hello, Maria").wait_for()
        assert page.get_by_test_id("offline").count() == 0
    finally:
        context.close()
