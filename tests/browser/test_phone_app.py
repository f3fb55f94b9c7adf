"""The phone app in a real browser at phone size, on the demo's data: a participant changes their rate with the
live match preview, the sponsor approves it on the queue, the participant's feed shows it; a new employee signs up
from an invitation in Spanish, with the API's problems shown beside the fields they name. Every screen is scanned
with axe-core (no serious or critical violation) and photographed under test-output/browser/."""
import re

from axe_playwright_python.sync_playwright import Axe

from backend.demo import PARTICIPANT, SPONSOR
from tests.browser.conftest import PHONES

BLOCKING = ("serious", "critical")
_axe = Axe()


def dollars(cents: int) -> str:
    """US English money, written here independently of the app's formatter: 123456 → "$1,234.56"."""
    sign, cents = ("-", -cents) if cents < 0 else ("", cents)
    return f"{sign}${cents // 100:,}.{cents % 100:02d}"


def assert_accessible(page):
    violations = [v for v in _axe.run(page).response["violations"] if v["impact"] in BLOCKING]
    assert not violations, "\n".join(f"{v['id']} ({v['impact']}): {v['help']} at "
                                     f"{[n['target'] for n in v['nodes']]}" for v in violations)


def assert_touch_targets(page):
    """Every control a thumb can reach is at least 44 by 44 CSS pixels (the range slider's track is exempt in
    height: its thumb is driven by the buttons beside it too)."""
    small = page.evaluate("""() => [...document.querySelectorAll('button, a, select, input:not([type=range])')]
        .filter(e => e.offsetParent !== null)
        .map(e => [e.outerHTML.slice(0, 80), e.getBoundingClientRect()])
        .filter(([, r]) => r.width < 44 || r.height < 44).map(([html]) => html)""")
    assert not small, small


def phone(browser, size: str, locale: str):
    context = browser.new_context(viewport=PHONES[size], is_mobile=True, has_touch=True, locale=locale)
    return context, context.new_page()


def open_tab(page, name: str):
    """Open a tab by its label, from the bar or, where the phone is too narrow for every tab, from "More"."""
    link = page.get_by_role("navigation").get_by_role("link", name=name, exact=True)
    if not link.count():
        page.get_by_role("button", name=re.compile("^(More|Más)$")).click()
    page.get_by_role("navigation").get_by_role("link", name=name, exact=True).click()


def step_rate_to(page, percent: int, button=re.compile("Enroll|Change my rate")):
    """Open the rate screen from home and step the rate control to `percent` with its + button."""
    page.get_by_role("button", name=button).tap()
    page.get_by_role("heading", name="How much to save").wait_for()
    start = int(page.get_by_test_id("rate-value").inner_text().rstrip("%"))
    for _ in range(percent - start):
        page.get_by_role("button", name="Increase by 1%").tap()


def log_out(page):
    page.get_by_role("button", name=re.compile("^(Log out|Cerrar sesión)$")).tap()
    page.get_by_role("heading", name=re.compile("^(Log in|Iniciar sesión)$")).wait_for()


def log_in(page, base, email, password):
    page.goto(f"{base}/app/login")
    page.fill("#email", email)
    page.fill("#password", password)
    page.get_by_role("button", name=re.compile("^(Log in|Entrar)$")).tap()


def participant_get(served, path: str) -> dict:
    token = served.client.post("/v1/auth/login", json={"email": PARTICIPANT[0], "password": PARTICIPANT[1]}).json()
    answer = served.client.get(path, headers={"Authorization": f"Bearer {token['access_token']}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def preview(served, percent: str) -> dict:
    token = served.client.post("/v1/auth/login", json={"email": PARTICIPANT[0], "password": PARTICIPANT[1]}).json()
    answer = served.client.post("/mobile/v1/elections/preview", json={"lines": [{"money_type": "pretax",
                                "percent": percent}]}, headers={"Authorization": f"Bearer {token['access_token']}"})
    assert answer.status_code == 200, answer.text
    return answer.json()


def test_a_participant_changes_their_rate_the_sponsor_approves_it_and_the_feed_says_so(browser, demo_server, shots):
    base = demo_server.base
    context, page = phone(browser, "large", "en-US")
    try:
        page.goto(base + "/")  # a browser at the root lands in the app
        assert page.url == f"{base}/app/"
        page.get_by_role("heading", name="Log in").wait_for()
        assert_accessible(page)
        shots(page, "login")

        log_in(page, base, *PARTICIPANT)
        page.get_by_role("heading", name="Hello, Maria").wait_for()
        assert page.get_by_test_id("balance-total").inner_text() == dollars(participant_get(demo_server, "/mobile/v1/balance")["total_cents"])
        assert_accessible(page)
        assert_touch_targets(page)
        shots(page, "home")

        step_rate_to(page, 6)
        expected = preview(demo_server, "6")
        page.get_by_test_id("employer-adds").filter(has_text=dollars(expected["annual_match_cents"])).wait_for()
        assert page.get_by_test_id("left-on-table").inner_text() == dollars(expected["left_on_table_cents"])
        assert expected["annual_match_cents"] > 0
        assert_accessible(page)
        assert_touch_targets(page)
        shots(page, "rate-preview")

        page.get_by_role("button", name="Save 6%").tap()
        page.get_by_test_id("saved").filter(has_text="once your employer approves it").wait_for()
        shots(page, "rate-saved")

        log_out(page)
        log_in(page, base, *SPONSOR)
        row = page.get_by_test_id("queue").get_by_role("listitem").filter(has_text="Maria Lopez: 6%")
        row.wait_for()
        assert_accessible(page)
        assert_touch_targets(page)
        shots(page, "approvals")
        row.get_by_role("button", name="Approve").tap()
        page.get_by_test_id("decided").filter(has_text="Approved: Maria Lopez, 6%").wait_for()
        row.wait_for(state="detached")  # the demo's other pending election stays in the queue
        assert_accessible(page)
        shots(page, "approved")

        log_out(page)
        log_in(page, base, *PARTICIPANT)
        page.get_by_role("heading", name="Hello, Maria").wait_for()
        page.get_by_role("link", name="Notifications").tap()
        page.get_by_test_id("feed").get_by_role("heading", name="Election approved").first.wait_for()
        unread = participant_get(demo_server, "/mobile/v1/me/notifications")["unread_count"]
        assert page.get_by_test_id("unread-count").inner_text() == f"{unread} unread"
        assert_accessible(page)
        assert_touch_targets(page)
        shots(page, "feed")
        page.get_by_role("button", name="Mark read").first.tap()
        page.get_by_test_id("unread-count").filter(has_text=f"{unread - 1} unread").wait_for()
        page.get_by_role("link", name="Home").tap()
        assert page.get_by_test_id("current-rate").inner_text() == "6% of pay"
        shots(page, "home-after")
    finally:
        context.close()


def test_an_invited_employee_signs_up_in_spanish_and_sees_the_apis_problems_beside_the_fields(browser, demo_server,
                                                                                               shots):
    base = demo_server.base
    context, page = phone(browser, "small", "es-ES")
    try:
        page.goto(f"{base}/app/signup?code={demo_server.invite_codes['Sam Chen']}")
        page.get_by_role("heading", name="Cree su cuenta").wait_for()
        assert page.input_value("#invite_code") == demo_server.invite_codes["Sam Chen"]
        assert_accessible(page)
        page.fill("#date_of_birth", "1990-11-02")
        page.fill("#ssn_last4", "12")
        page.fill("#email", "sam@acme.demo")
        page.fill("#password", "a long and private passphrase 42")
        page.get_by_role("button", name="Crear cuenta").tap()
        error = page.locator("#ssn_last4-error")
        error.wait_for()
        assert error.inner_text() == "Debe tener 4 dígitos."  # the API's "must be 4 digits", by its wording
        assert page.get_attribute("#ssn_last4", "aria-invalid") == "true"
        assert page.get_attribute("#ssn_last4", "aria-describedby") == "ssn_last4-error"
        assert_accessible(page)
        assert_touch_targets(page)
        shots(page, "signup-problem")

        page.fill("#ssn_last4", "0003")
        page.get_by_role("button", name="Crear cuenta").tap()
        page.get_by_role("heading", name="Hola, Sam").wait_for()
        assert page.get_by_test_id("balance-total").inner_text().replace("\u00a0", " ") == "0,00 US$"
        assert page.evaluate("document.documentElement.lang") == "es"
        assert_accessible(page)
        assert_touch_targets(page)
        shots(page, "home-es")

        page.get_by_label("Idioma").select_option("en")
        page.get_by_role("heading", name="Hello, Sam").wait_for()
        shots(page, "home-en")
    finally:
        context.close()
