"""Issue 13 end to end in the phone app: an advisor sets a plan up through the API; its sponsor logs into the app,
reads the documents, is shown the problems of a wrong signature beside their fields, signs the adoption agreement;
the plan goes live and localstripe holds the customer and the subscription; ten participants enroll and the billing
screen bills ten; a failed payment (a webhook signed as Stripe signs it) warns of the grace period, turns billing
past due after it, and the sponsor's feed tells them; a change of the match formula shows an amendment to sign
listing it, the signed version among the past ones. A participant downloads the plan summary in Spanish.

The server here bills through localstripe (the billing tests' own fixtures, tests/billing/conftest.py), so it is
not the demo server of the other browser tests."""
import io
import re
from datetime import timedelta
from types import SimpleNamespace

from pypdf import PdfReader

from tests import scenario
from tests.billing.conftest import app, localstripe, stripe_event  # noqa: F401 - fixtures: billing on localstripe
from tests.billing.test_billing import customer_of, enroll, failed_invoice, post_event, subscriptions_of
from tests.browser.conftest import PHONES
from tests.browser.test_phone_app import assert_accessible, assert_touch_targets, log_in, open_tab
from tests.conftest import TODAY
from tests.support import run_cli
from tests.support.outbox import drain
from tests.support.served import Served


def pdf_text(download) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(download.path().read_bytes())).pages)


def test_a_sponsor_signs_in_the_app_the_plan_goes_live_is_billed_per_participant_and_told_of_a_failed_payment(
        app, client, browser, localstripe, shots):  # noqa: F811 - pytest's fixtures by name
    advisor = scenario.advisor(app, client)
    setup = scenario.setup_plan(client, advisor, name="Sierra Tile Co", requires_approval=False)
    sponsor = scenario.accept_sponsor(client, setup, sign=False)
    world = SimpleNamespace(sponsor=sponsor, employer_id=setup["employer"]["id"], plan_id=setup["plan"]["id"])
    served = Served(app)
    context = browser.new_context(viewport=PHONES["small"], is_mobile=True, has_touch=True, locale="en-US",
                                  accept_downloads=True)
    page = context.new_page()
    try:
        log_in(page, served.base, setup["sponsor_invitation"]["email"], scenario.SPONSOR_PASSWORD)
        open_tab(page, "Documents")
        agreement = page.get_by_test_id("doc-adoption_agreement-en-v1")
        agreement.get_by_test_id("doc-status").filter(has_text="Awaiting signature").wait_for()
        assert page.get_by_test_id("doc-summary_plan_description-es-v1").get_by_test_id("doc-status") \
            .inner_text() == "Draft"
        document = scenario.current_document(client, sponsor, world.plan_id)
        assert document["sha256"] in agreement.inner_text()
        with page.expect_download() as download:
            agreement.get_by_role("button", name=re.compile("^Read")).click()
        assert download.value.suggested_filename == "adoption_agreement-v1-en.pdf"
        assert "Sierra Tile Co" in pdf_text(download.value)
        assert_accessible(page)
        assert_touch_targets(page)
        shots(page, "documents-to-sign")

        # The safe-harbor notice for next year, with the window it must be given in.
        page.fill("#plan_year", "2027")
        page.get_by_role("button", name="Prepare the notice").click()
        notice = page.get_by_test_id("doc-safe_harbor_notice-en-v1")
        notice.get_by_test_id("notice-deadline").filter(has_text="2026").wait_for()

        # A wrong submission: every problem beside its field, nothing signed.
        page.fill("#typed_name", "Pat Sponsor")
        page.get_by_role("button", name="Sign", exact=True).click()
        page.locator("#title-error").wait_for()
        page.locator("#consent-error").filter(has_text="must be true").wait_for()
        assert page.locator("#title").get_attribute("aria-invalid") == "true"
        assert scenario.current_document(client, sponsor, world.plan_id)["signature"] is None
        assert_accessible(page)
        shots(page, "signature-problems")

        page.fill("#title", "Owner")
        page.locator("#consent").check()
        page.get_by_role("button", name="Sign", exact=True).click()
        page.get_by_test_id("just-signed").filter(has_text=document["sha256"]).wait_for()
        signed = agreement.get_by_test_id("signed")
        signed.filter(has_text="Signed by Pat Sponsor, Owner").wait_for()
        signature = scenario.current_document(client, sponsor, world.plan_id)["signature"]
        assert signature["signed_sha256"] in signed.inner_text()
        assert agreement.get_by_test_id("doc-status").inner_text() == "Signed"
        assert page.get_by_test_id("doc-summary_plan_description-en-v1").get_by_test_id("doc-status") \
            .inner_text() == "In effect"
        shots(page, "signed")

        # The plan is live: Stripe holds the customer and the subscriptions; no participant billed yet.
        drain(app.extensions["plumb"])
        customer = customer_of(localstripe, world.employer_id)
        assert subscriptions_of(localstripe, customer.id)["plumb-base-5000"]["quantity"] == 1
        open_tab(page, "Billing")
        page.get_by_test_id("billing-status").get_by_role("heading", name="Active").wait_for()
        assert page.get_by_test_id("billing-quantity").inner_text() == "0"
        assert page.get_by_test_id("billing-monthly").inner_text() == "$50.00"

        enroll(client, world, 10)
        drain(app.extensions["plumb"])
        assert subscriptions_of(localstripe, customer.id)["plumb-participant-400"]["quantity"] == 10
        page.reload()
        page.get_by_test_id("billing-quantity").filter(has_text="10").wait_for()
        assert page.get_by_test_id("billing-monthly").inner_text() == "$90.00"
        assert page.get_by_text("No invoices yet.").is_visible()
        assert_accessible(page)
        assert_touch_targets(page)
        shots(page, "billing-ten-participants")

        # Stripe says the payment failed: a warning of the grace period, then past due once it ran out.
        assert post_event(client, stripe_event("evt_failed_1", "invoice.payment_failed",
                                               failed_invoice(customer.id))).status_code == 200
        page.reload()
        page.get_by_test_id("billing-grace").filter(has_text="December 8, 2026").wait_for()
        assert "Payment failed" in page.get_by_test_id("invoices").inner_text()
        assert "$90.00" in page.get_by_test_id("invoices").inner_text()
        shots(page, "billing-payment-failed")
        result = run_cli(app, ["daily", "--date", (TODAY + timedelta(days=14)).isoformat()])
        assert result.exit_code == 0, result.output
        page.reload()
        page.get_by_test_id("billing-status").get_by_role("heading", name="Past due").wait_for()
        assert "not affected" in page.get_by_test_id("billing-status").inner_text()
        assert_accessible(page)
        shots(page, "billing-past-due")

        open_tab(page, "Notifications")
        told = page.get_by_test_id("feed").get_by_role("listitem").filter(has_text="Plumb payment failed")
        told.wait_for()
        shots(page, "feed-payment-failed")
        told.get_by_role("button", name="Open").click()  # its link opens the billing screen
        page.get_by_test_id("billing-status").get_by_role("heading", name="Past due").wait_for()

        # The match formula changes: an amendment to sign, listing the change; the signed version is a past one.
        changed = client.patch(f"/v1/plans/{world.plan_id}/rules", headers=sponsor, json={
            "effective_on": "2027-01-01", "match_tiers": [
                {"deferral_from_percent": "0", "deferral_to_percent": "4", "match_rate_percent": "100"}]})
        assert changed.status_code == 200, changed.json
        open_tab(page, "Documents")
        amendment = page.get_by_test_id("doc-adoption_agreement-en-v2")
        amendment.get_by_test_id("doc-status").filter(has_text="Awaiting signature").wait_for()
        assert amendment.get_by_test_id("amendment").get_by_role("listitem").all_inner_texts() == \
            ["Employer match formula"]
        past = page.get_by_test_id("docs-past").get_by_test_id("doc-adoption_agreement-en-v1")
        assert past.get_by_test_id("doc-status").inner_text() == "Superseded"
        assert "Signed by Pat Sponsor, Owner" in past.inner_text()
        assert_accessible(page)
        shots(page, "amendment-and-past-versions")
    finally:
        context.close()

    # A participant of the plan reads its summary in Spanish from the Plan screen.
    participant = browser.new_context(viewport=PHONES["large"], is_mobile=True, has_touch=True, locale="es-ES",
                                      accept_downloads=True)
    page = participant.new_page()
    try:
        log_in(page, served.base, "b0@phone.example.com", scenario.PARTICIPANT_PASSWORD)
        page.locator('nav.tabs a[href="/app/plan"]').click()
        summary = page.get_by_test_id("plan-summary")
        with page.expect_download() as download:
            summary.get_by_role("button", name="Descargar el resumen del plan (PDF)").click()
        assert download.value.suggested_filename == "plan-summary-es.pdf"
        assert "Sierra Tile Co" in pdf_text(download.value)
        assert_accessible(page)
        assert_touch_targets(page)
        shots(page, "participant-plan-summary")
    finally:
        participant.close()
        served.stop()
