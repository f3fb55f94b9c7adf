"""The participant's own screens in a real browser at phone size, on the demo's data: eligibility and the entry
date; enrolling with the pre-tax/Roth split and catch-up (the split kept when only the rate moves); the change
followed from "waiting for approval" to "approved" and opened from the feed's deep link; investments and
beneficiaries (the API's problems beside the row, or the list, they name); the balance with its history chart, the 402(g) limit
and the contributions a page at a time; settings (push off without a Firebase configuration, a notification
choice, quiet hours, the language). Every screen is scanned with axe-core and photographed."""
from datetime import date


from backend.demo import SPONSOR
from tests.browser.test_phone_app import assert_accessible, assert_touch_targets, dollars, log_in, phone, step_rate_to

PRIYA = ("priya@acme.demo", "priya's own long passphrase 7")



def api(served, method: str, path: str, token: str, **kwargs):
    answer = served.client.request(method, path, headers={"Authorization": f"Bearer {token}",
                                                          **kwargs.pop("headers", {})}, **kwargs)
    assert answer.status_code < 300, answer.text
    return answer.json() if answer.content else None


def sign_up_priya(served) -> str:
    answer = served.client.post("/mobile/v1/signup", json={
        "invite_code": served.invite_codes["Priya Patel"], "date_of_birth": "1972-05-30", "ssn_last4": "0004",
        "email": PRIYA[0], "password": PRIYA[1]})
    assert answer.status_code == 201, answer.text
    return answer.json()["access_token"]


def sponsor_login(served) -> dict:
    return served.client.post("/v1/auth/login", json={"email": SPONSOR[0], "password": SPONSOR[1]}).json()


def test_a_participant_enrolls_follows_the_change_and_reads_the_balance_and_settings(browser, demo_server, shots):
    base, served = demo_server.base, demo_server
    participant = sign_up_priya(served)
    login = sponsor_login(served)
    sponsor = login["access_token"]
    # The demo's four months of pay runs and prices give Priya a balance with a history.
    me = api(served, "GET", "/mobile/v1/me", participant)
    assert me["catch_up_eligible"] is True  # born 1972: 50 or older by the end of 2026
    context, page = phone(browser, "small", "en-US")
    try:
        log_in(page, base, *PRIYA)
        page.get_by_role("heading", name="Hello, Priya").wait_for()

        # Eligibility and entry date, on the plan screen
        page.get_by_role("link", name="My plan").tap()
        eligibility = page.get_by_test_id("eligibility")
        eligibility.get_by_text("You can save in the plan.").wait_for()
        entry = date.fromisoformat(me["eligibility"]["entry_date"])
        assert f"Entry date: {entry:%B} {entry.day}, {entry.year}" in eligibility.inner_text()
        assert_accessible(page)
        assert_touch_targets(page)
        shots(page, "plan")

        # Her rate is the plan's automatic one, so next plan year's step is announced: she skips it
        announced = page.get_by_test_id("election").filter(has_text="Automatic increase: 5% of pay")
        announced.get_by_text("unless you skip it").wait_for()
        shots(page, "escalation-announced")
        announced.get_by_role("button", name="Skip this increase").tap()
        page.get_by_test_id("plan-done").filter(has_text="Skipped: your rate stays as it is.").wait_for()
        announced.get_by_test_id("stage").filter(has_text="Skipped.").wait_for()
        assert announced.get_by_role("button", name="Skip this increase").count() == 0
        assert [e["status"] for e in api(served, "GET", "/mobile/v1/elections", participant)
                if e["kind"] == "escalation" and e["lines"][0]["percent"] == "5"] == ["skipped"]
        assert_accessible(page)
        shots(page, "escalation-skipped")

        # Change the demo's 4% to 6% with 2% of it Roth, and 1% catch-up as pre-tax
        step_rate_to(page, 6, "Change my rate")
        if me["roth_allowed"]:
            page.fill("#roth", "2")
        page.fill("#catch-up", "1")
        lines = [{"money_type": "pretax", "percent": "4" if me["roth_allowed"] else "6"}] \
            + ([{"money_type": "roth", "percent": "2"}] if me["roth_allowed"] else []) \
            + [{"money_type": "pretax_catchup", "percent": "1"}]
        expected = api(served, "POST", "/mobile/v1/elections/preview", participant, json={"lines": lines})
        page.get_by_test_id("employer-adds").filter(has_text=dollars(expected["annual_match_cents"])).wait_for()
        assert page.get_by_test_id("left-on-table").inner_text() == dollars(expected["left_on_table_cents"])
        assert_accessible(page)
        assert_touch_targets(page)
        shots(page, "enroll-split")
        page.get_by_role("button", name="Save 6%").tap()
        page.get_by_test_id("saved").filter(has_text="once your employer approves it").wait_for()
        pending = api(served, "GET", "/mobile/v1/elections", participant)[0]
        assert sorted((line["money_type"], line["percent"]) for line in pending["lines"]) == sorted(
            (line["money_type"], line["percent"]) for line in lines)

        # Its stage: waiting for approval, then (approved by the sponsor) on its way to payroll
        page.get_by_role("button", name="Follow this change").tap()
        stage = page.locator(".focused").get_by_test_id("stage")
        assert stage.locator("[aria-current=step]").inner_text().endswith("Waiting for approval")
        shots(page, "stage-requested")
        api(served, "POST", f"/v1/elections/{pending['id']}/approve", sponsor, json={},
            headers={"If-Match": pending["etag"]})

        # The feed's entry opens the election it is about
        page.get_by_role("link", name="Notifications").tap()
        entry_item = page.get_by_test_id("feed").get_by_role("listitem").filter(has_text="Election approved")
        entry_item.get_by_role("button", name="Open").tap()
        page.wait_for_url(f"{base}/app/election/{pending['id']}")
        # Approved; the payroll connection has not taken it yet (its receiver is not listening), so not yet "sent"
        current = page.locator(".focused").get_by_test_id("stage").locator("[aria-current=step]")
        assert current.inner_text().endswith("Approved by your employer")
        assert_accessible(page)
        shots(page, "stage-approved")

        # Only the rate moves: the Roth share is kept (6% with 2% Roth → 9% with 3% Roth)
        if me["roth_allowed"]:
            page.goto(f"{base}/app/rate")
            page.get_by_test_id("rate-value").filter(has_text="6%").wait_for()
            for _ in range(3):
                page.get_by_role("button", name="Increase by 1%").tap()
            assert page.input_value("#roth") == "3"

        # Investments: a mix of the menu's funds
        page.goto(f"{base}/app/investments")
        page.get_by_role("heading", name="Investments").wait_for()
        page.get_by_label("My own mix").check()
        funds = me["funds"]
        page.fill(f"#fund-{funds[0]['id']}", "60")
        page.fill(f"#fund-{funds[1]['id']}", "40")
        assert page.get_by_test_id("mix-total").inner_text() == "Total: 100% (must be 100%)"
        assert_accessible(page)
        assert_touch_targets(page)
        page.get_by_role("button", name="Save", exact=True).tap()
        page.get_by_test_id("saved").wait_for()
        shots(page, "investments")
        chosen = api(served, "GET", "/mobile/v1/investments", participant)
        assert {(a["fund_id"], a["percent"]) for a in chosen["allocations"]} == {
            (funds[0]["id"], "60"), (funds[1]["id"], "40")}

        # Beneficiaries: shares that do not add to 100% are refused, the problem shown beside the row
        page.goto(f"{base}/app/beneficiaries")
        page.get_by_text("No beneficiaries named yet.").wait_for()
        page.get_by_role("button", name="Add a beneficiary").tap()
        page.fill("#ben-0-percent", "50")
        page.get_by_role("button", name="Save", exact=True).tap()
        page.locator("#ben-0-error").wait_for()  # no name: said on the row
        assert_accessible(page)
        shots(page, "beneficiaries-row-problem")
        page.fill("#ben-0-name", "Ravi Patel")
        page.get_by_role("button", name="Save", exact=True).tap()
        page.locator("#ben-error").filter(has_text="add up to 100").wait_for()  # the shares: said on the list
        assert page.locator("#ben-0-error").count() == 0
        shots(page, "beneficiaries-list-problem")
        page.fill("#ben-0-percent", "100")
        page.get_by_role("button", name="Save", exact=True).tap()
        page.get_by_test_id("saved").wait_for()
        assert api(served, "GET", "/mobile/v1/beneficiaries", participant)["beneficiaries"][0]["name"] == "Ravi Patel"

        # Balance: total, the chart of its history, the 402(g) limit with catch-up, the contributions
        balance = api(served, "GET", "/mobile/v1/balance", participant)
        limits = api(served, "GET", "/mobile/v1/limits", participant)
        page.get_by_role("link", name="Balance").tap()
        page.get_by_test_id("balance-big").filter(has_text=dollars(balance["total_cents"])).wait_for()
        assert balance["total_cents"] > 0
        assert page.get_by_test_id("chart").locator("path.value").get_attribute("d").count("L") >= 1
        assert dollars(limits["remaining_cents"]) in page.get_by_test_id("limits").inner_text()
        assert limits["catch_up_limit_cents"] > 0
        assert dollars(limits["catch_up_limit_cents"]) in page.get_by_test_id("limits").inner_text()
        contributions = page.get_by_test_id("contributions").get_by_role("listitem")
        contributions.nth(1).wait_for()  # the list loads on its own, after the balance
        assert contributions.count() >= 2
        assert_accessible(page)
        assert_touch_targets(page)
        shots(page, "balance")

        # Opt out, after a confirmation
        page.get_by_role("link", name="My plan").tap()
        page.get_by_role("button", name="Opt out").tap()
        page.get_by_role("button", name="Yes, stop my contributions").tap()
        page.get_by_test_id("plan-done").filter(has_text="You opted out").wait_for()
        assert api(served, "GET", "/mobile/v1/elections", participant)[0]["kind"] == "opt_out"
        shots(page, "opted-out")

        # Settings: no Firebase configuration here, so push is off and the feed is the way
        page.get_by_role("link", name="Settings").tap()
        page.get_by_test_id("push-state").filter(has_text="Push is not set up on this server").wait_for()
        api(served, "POST", "/mobile/v1/devices", participant, json={"token": "fcm-other-phone", "platform": "ios"})
        page.reload()
        devices = page.get_by_test_id("devices").get_by_role("listitem")
        devices.filter(has_text="A phone").wait_for()
        devices.get_by_role("button", name="Remove").tap()
        page.get_by_text("None yet.").wait_for()
        assert api(served, "GET", "/mobile/v1/devices", participant) == []
        page.get_by_label("Contributions: Email").uncheck()
        page.get_by_test_id("settings-saved").wait_for()
        page.get_by_label("Quiet hours on").check()
        page.fill("#quiet-start", "22:00")
        page.fill("#quiet-end", "07:00")
        page.get_by_role("button", name="Save quiet hours").tap()
        page.get_by_test_id("settings-saved").wait_for()
        assert_accessible(page)
        assert_touch_targets(page)
        shots(page, "settings")
        page.select_option("#settings-language", "es")
        page.get_by_role("heading", name="Ajustes").wait_for()
        page.get_by_test_id("settings-saved").wait_for()
        settings = api(served, "GET", "/mobile/v1/me/notification-settings", participant)
        assert settings["language"] == "es"
        assert settings["quiet_hours"] == {"enabled": True, "start": "22:00", "end": "07:00"}
        assert next(c for c in settings["categories"] if c["category"] == "contributions")["email"] is False
        assert_accessible(page)
        shots(page, "settings-es")
        page.get_by_role("button", name="Cerrar sesión").last.tap()
        page.get_by_role("heading", name="Iniciar sesión").wait_for()
    finally:
        context.close()
