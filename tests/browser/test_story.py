"""The whole story in a real browser at phone size, on the demo's data: an invited employee signs up from the
invitation, enrolls with the rate control and its live match preview, the sponsor approves the election on the
queue (selected, approved in bulk), the payroll provider's receiver gets the change, a pay run posts through the
signed API, and the employee sees the money in their balance and the contribution in their feed. Every screen is
scanned with axe-core and photographed under test-output/browser/."""
import re
from datetime import date

from backend.demo import SPONSOR
from tests import scenario
from tests.browser.conftest import PHONES
from tests.browser.test_phone_app import assert_accessible, assert_touch_targets, dollars, log_in, log_out, step_rate_to
from tests.support.outbox import drain

SAM = {"external_id": "E003", "born": "1990-11-02", "ssn_last4": "0003", "email": "sam@acme.demo",
       "annual_pay_cents": 5_800_000}
PASSWORD = "a long and private passphrase 42"


def connect_receiver(app, receiver) -> tuple[dict, dict, str]:
    """The sponsor connects the demo employer's payroll to the provider's receiver (a local process)."""
    client = app.test_client()
    answer = client.post("/v1/auth/login", json={"email": SPONSOR[0], "password": SPONSOR[1]}).json
    sponsor = scenario.bearer(answer["access_token"])
    connection = scenario.connect_payroll(client, sponsor, answer["user"]["employer_id"], endpoint_url=receiver.url)
    receiver.start(connection["secret"])
    return sponsor, connection, answer["user"]["employer_id"]


def test_an_invited_employee_enrolls_the_sponsor_approves_payroll_applies_it_and_the_money_arrives(
        app, browser, demo_server, receiver, shots):
    base, plumb = demo_server.base, app.extensions["plumb"]
    sponsor, connection, employer_id = connect_receiver(app, receiver)
    context = browser.new_context(viewport=PHONES["large"], is_mobile=True, has_touch=True, locale="en-US")
    page = context.new_page()
    try:
        # The invitation's link opens the sign-up with the code filled in.
        page.goto(f"{base}/app/signup?code={demo_server.invite_codes['Sam Chen']}")
        page.get_by_role("heading", name="Create your account").wait_for()
        shots(page, "invitation-signup")
        page.fill("#date_of_birth", SAM["born"])
        page.fill("#ssn_last4", SAM["ssn_last4"])
        page.fill("#email", SAM["email"])
        page.fill("#password", PASSWORD)
        page.get_by_role("button", name="Create account").tap()
        page.get_by_role("heading", name="Hello, Sam").wait_for()
        assert page.get_by_test_id("balance-total").inner_text() == dollars(0)
        assert_accessible(page)
        shots(page, "home-new")

        step_rate_to(page, 6)
        page.get_by_test_id("left-on-table").wait_for()
        assert_accessible(page)
        assert_touch_targets(page)
        shots(page, "enroll-rate")
        page.get_by_role("button", name="Save 6%").tap()
        page.get_by_test_id("saved").filter(has_text="once your employer approves it").wait_for()
        shots(page, "enroll-saved")

        log_out(page)
        log_in(page, base, *SPONSOR)
        row = page.get_by_test_id("queue").get_by_role("listitem").filter(has_text="Sam Chen: 6%")
        row.wait_for()
        row.get_by_role("checkbox").check()
        page.get_by_test_id("bulk").get_by_text("1 selected").wait_for()
        assert_accessible(page)
        assert_touch_targets(page)
        shots(page, "queue-selected")
        page.get_by_role("button", name="Approve selected").tap()
        page.get_by_test_id("decided").filter(has_text="Approved 1.").wait_for()
        row.wait_for(state="detached")
        shots(page, "queue-approved")

        drain(plumb)  # the worker delivers the change to payroll moments after the approval
        applied = [m for m in receiver.received()["applied"] if m.get("external_id") == SAM["external_id"]
                   or SAM["external_id"] in str(m)]
        assert applied and applied[-1]["lines"][0]["percent"] == "6"

        employees = scenario.employees_by_external_id(app.test_client(), sponsor, employer_id)
        sam = employees[SAM["external_id"]]
        election = app.test_client().get(f"/v1/employees/{sam['id']}/elections", headers=sponsor).json[-1]
        # Time passes to the paycheck the change applies from; that day's fund price prices the contribution.
        plumb.clock.fixed_today = date.fromisoformat(election["effective_date"])
        plan_id = app.test_client().get(f"/v1/employers/{employer_id}", headers=sponsor).json["plans"][0]["id"]
        gross = SAM["annual_pay_cents"] // 26
        deferred = gross * 6 // 100
        posted = scenario.signed_post(app.test_client(), connection, scenario.pay_run(
            "story-1", election["effective_date"], [scenario.statement(SAM["external_id"], gross, pretax=deferred)]))
        assert posted.status_code == 200, posted.json
        scenario.load_prices(app.test_client(), sponsor, plan_id, [("PLTDX", election["effective_date"], "26.00")])
        drain(plumb)

        log_out(page)
        log_in(page, base, SAM["email"], PASSWORD)
        page.get_by_role("heading", name="Hello, Sam").wait_for()
        total = page.get_by_test_id("balance-total")
        assert total.inner_text() != dollars(0)
        assert int(re.sub(r"\D", "", total.inner_text())) >= deferred
        assert page.get_by_test_id("current-rate").inner_text() == "6% of pay"
        assert_accessible(page)
        shots(page, "home-balance")
        page.get_by_role("link", name="Notifications").tap()
        page.get_by_test_id("feed").get_by_role("heading", name="Contribution posted").first.wait_for()
        assert_accessible(page)
        assert_touch_targets(page)
        shots(page, "feed-contribution")
    finally:
        context.close()
