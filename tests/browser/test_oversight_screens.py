"""The oversight screens on the demo's data: the sponsor opens the people (a CSV of them too), one participant's
account (the balance equal, to the cent, to what the participant's phone shows) and the plan dashboard, and from its
count of failed messages to payroll the list of them (its reason in Spanish too) to send one again; the advisor
opens the book (the at-risk plan first, with its badge) and the setup pipeline. Each screen is scanned with axe-core
and photographed at phone size; the book also at desktop width, where it is a table."""
from sqlalchemy import select

from backend.demo import ADVISOR, SPONSOR
from backend.enrollment.payroll_messages import TOPIC as PAYROLL_TOPIC
from backend.identity.models import User
from backend.outbox import enqueue, mark_dead
from tests.browser.conftest import PHONES
from tests.browser.test_phone_app import assert_accessible, assert_touch_targets, dollars, log_in, participant_get

DESKTOP = {"width": 1280, "height": 900}


def dead_letter(app, reason: str) -> None:
    """A contribution change to the sponsor's payroll that was given up on (as the dispatcher gives up on one)."""
    with app.extensions["plumb"].db.transaction() as session:
        employer_id = session.scalar(select(User.employer_id).where(User.email == SPONSOR[0]))
        message = enqueue(session, PAYROLL_TOPIC, f"payroll:{employer_id}:E1", {
            "action": "set", "external_id": "E1", "effective_date": "2026-12-04", "lines": []}, employer_id=employer_id)
        session.flush()
        assert mark_dead(session, message, reason)


def test_the_sponsor_sees_their_people_an_account_and_the_dashboard_and_the_advisor_their_book_and_pipeline(
        app, browser, demo_server, shots):
    base = demo_server.base
    dead_letter(app, "HTTP 503 from the payroll endpoint")
    maria = participant_get(demo_server, "/mobile/v1/balance")["total_cents"]
    context = browser.new_context(viewport=PHONES["large"], is_mobile=True, has_touch=True, locale="en-US")
    page = context.new_page()
    try:
        log_in(page, base, *SPONSOR)
        page.get_by_role("heading", name="Approvals").wait_for()
        page.goto(f"{base}/app/dashboard")
        page.get_by_test_id("headline").wait_for()
        assert page.get_by_test_id("participation").inner_text().endswith("%")
        assert page.get_by_test_id("dashboard-compliance").inner_text() == "On track"
        page.get_by_test_id("month-chart").get_by_role("img").wait_for()
        assert page.get_by_test_id("waiting").get_by_role("listitem").first.inner_text().split() == ["Approvals", "1"]
        assert_accessible(page)
        assert_touch_targets(page)
        shots(page, "dashboard-phone")

        page.get_by_role("link", name="Messages to payroll that failed").tap()
        messages = page.get_by_test_id("payroll-messages")
        messages.get_by_role("listitem").first.wait_for()
        assert messages.get_by_test_id("reason").inner_text() == "HTTP 503 from the payroll endpoint"
        page.get_by_label("Language").select_option("es")
        page.get_by_role("heading", name="Mensajes a nómina").wait_for()
        assert messages.get_by_test_id("reason").inner_text() == "La dirección de la nómina respondió HTTP 503."
        assert_accessible(page)
        assert_touch_targets(page)
        shots(page, "payroll-messages-es")
        messages.get_by_role("button", name="Enviar de nuevo").tap()
        page.get_by_test_id("retried").wait_for()
        page.get_by_text("No hay mensajes fallidos: la nómina aceptó todo.").wait_for()  # it is back in line
        page.get_by_label("Idioma").select_option("en")
        page.get_by_role("link", name="Back to the dashboard").tap()
        page.get_by_test_id("dead-letters").wait_for()
        assert page.get_by_test_id("dead-letters").inner_text() == "0"

        page.get_by_role("link", name="See the people").tap()
        people = page.get_by_test_id("people")
        row = people.get_by_role("listitem").filter(has_text="Maria Lopez")
        row.wait_for()
        assert dollars(maria) in row.inner_text()
        assert "Enrolled" in row.inner_text() and "5 % of pay" in row.inner_text()
        page.get_by_label("Status").select_option("not_yet_eligible")
        row.wait_for(state="detached")
        people.get_by_role("listitem").filter(has_text="Lee Park").wait_for()
        assert_accessible(page)
        assert_touch_targets(page)
        shots(page, "people-not-yet-eligible")
        with page.expect_download() as download:
            page.get_by_role("button", name="Download CSV").tap()
        assert download.value.suggested_filename == "participants.csv"
        page.get_by_label("Status").select_option("")

        row.get_by_role("link", name="Maria Lopez").tap()
        page.get_by_role("heading", name="Maria Lopez").wait_for()
        assert page.get_by_test_id("account-balance").inner_text() == dollars(maria)  # what her phone shows
        assert page.get_by_test_id("account-status").inner_text() == "Enrolled"
        page.get_by_test_id("account-contributions").get_by_role("listitem").first.wait_for()
        page.get_by_test_id("account-elections").get_by_test_id("stage").first.wait_for()
        assert_accessible(page)
        assert_touch_targets(page)
        shots(page, "account-phone")
    finally:
        context.close()

    context = browser.new_context(viewport=PHONES["small"], is_mobile=True, has_touch=True, locale="en-US")
    page = context.new_page()
    try:
        log_in(page, base, *ADVISOR)
        book = page.get_by_test_id("book")
        book.get_by_role("listitem").first.wait_for()
        first = book.get_by_role("listitem").first.inner_text()
        assert "Harbor Roofing Co" in first and "At risk" in first
        assert "Approvals waiting" in book.get_by_role("listitem").nth(1).inner_text()
        assert_accessible(page)
        assert_touch_targets(page)
        shots(page, "book-phone")

        page.get_by_role("link", name="Pipeline").tap()
        page.get_by_test_id("pipeline-counts").wait_for()
        assert [page.get_by_test_id(f"count-{stage}").inner_text() for stage in
                ("created", "documents_signed", "live")] == ["1", "1", "2"]
        assert page.get_by_test_id("stage-created").inner_text().startswith("Birch Dental PLLC")
        assert_accessible(page)
        assert_touch_targets(page)
        shots(page, "pipeline-phone")

        page.set_viewport_size(DESKTOP)
        page.get_by_role("link", name="Book").click()
        table = page.get_by_role("table")
        table.get_by_role("row").filter(has_text="Harbor Roofing Co").wait_for()
        assert "At risk" in table.get_by_role("row").nth(1).inner_text()
        table.get_by_role("link", name="Acme Bakery LLC").click()  # a plan opens its dashboard
        page.get_by_test_id("headline").wait_for()
        assert page.get_by_test_id("dashboard-compliance").inner_text() == "On track"
        page.go_back()
        page.get_by_role("table").wait_for()
        assert_accessible(page)
        shots(page, "book-desktop")
    finally:
        context.close()
