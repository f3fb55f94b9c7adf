"""Signing in the moment from the emailed link, in the phone app, without an account: the sponsor admin opens the link,
reads the PDF, is shown a wrong submission's problems beside their fields, signs, and sees "Signed" with the hash; a
spent link then says it does not work. Phone-sized, axe-clean, 44 px touch targets; the Spanish screen too."""
import re

from tests import scenario
from tests.browser.conftest import PHONES
from tests.browser.test_phone_app import assert_accessible, assert_touch_targets
from tests.support.served import Served


def test_the_sponsor_signs_from_the_emailed_link_without_an_account(app, client, browser, shots):
    advisor = scenario.advisor(app, client)
    setup = scenario.setup_plan(client, advisor, name="Sierra Tile Co")
    email = setup["sponsor_invitation"]["email"]
    link = scenario.signing_link(app, email)
    agreement = scenario.current_document(client, advisor, setup["plan"]["id"])
    served = Served(app)
    path = link[link.index("/app/sign/"):]  # the email's link, on this test's server
    context = browser.new_context(viewport=PHONES["small"], is_mobile=True, has_touch=True, locale="en-US",
                                  accept_downloads=True)
    page = context.new_page()
    try:
        page.goto(served.base + path)
        page.get_by_test_id("link-hash").filter(has_text=agreement["sha256"]).wait_for()
        assert "Sierra Tile Co 401(k) Plan" in page.inner_text("main") and "s***@example.com" in page.inner_text("main")
        with page.expect_download() as download:
            page.get_by_test_id("link-read").click()
        assert download.value.suggested_filename == "adoption_agreement-v1.pdf"
        assert_accessible(page)
        assert_touch_targets(page)
        shots(page, "link-opened")

        page.fill("#typed_name", "Pat Sponsor")
        page.get_by_role("button", name="Sign", exact=True).click()
        page.locator("#title-error").wait_for()
        page.locator("#consent-error").filter(has_text="must be true").wait_for()
        assert scenario.current_document(client, advisor, setup["plan"]["id"])["signature"] is None
        assert_accessible(page)
        shots(page, "link-problems")

        page.fill("#title", "Owner")
        page.locator("#consent").check()
        page.get_by_role("button", name="Sign", exact=True).click()
        page.get_by_test_id("signed-hash").filter(has_text=agreement["sha256"]).wait_for()
        assert page.get_by_role("heading", name="Signed").is_visible()
        assert_accessible(page)
        shots(page, "link-signed")
        signature = scenario.current_document(client, advisor, setup["plan"]["id"])["signature"]
        assert signature["typed_name"] == "Pat Sponsor" and signature["identified_by"] == f"signing link sent to {email}"

        spanish = browser.new_context(viewport=PHONES["large"], is_mobile=True, has_touch=True, locale="es-ES")
        again = spanish.new_page()
        again.goto(served.base + path)
        again.get_by_test_id("link-invalid").filter(has_text=re.compile("no funciona")).wait_for()
        assert_accessible(again)
        shots(again, "link-spent-es")
        spanish.close()
    finally:
        context.close()
        served.stop()
