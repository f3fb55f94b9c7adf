"""The sponsor's screens at desktop width, in Spanish, on the demo's data: the compliance card (status, projected
ADP and ACP against the limit, the fix, the highest rate HCEs can still elect) with its history chart; a payroll
exception corrected with new amounts (the problems beside them first); and a bulk rejection with a reason in which one election changed since the queue was opened
(the participant made a newer one), shown as "changed since you opened it, review again" while the other is
rejected. Each screen is scanned with axe-core and photographed."""
from backend.demo import PARTICIPANT, SPONSOR
from tests.browser.test_phone_app import assert_accessible, assert_touch_targets, log_in

DESKTOP = {"width": 1280, "height": 900}


def assert_tabs_fit(page):
    """The tab bar does not scroll sideways and every label in it fits its tab."""
    nav = page.locator("nav.tabs")
    assert nav.evaluate("n => n.scrollWidth <= n.clientWidth")
    clipped = nav.evaluate("n => [...n.querySelectorAll(':scope > a, .more > button')]"
                           ".filter(e => e.scrollWidth > e.clientWidth + 1).map(e => e.textContent)")
    assert clipped == []


def participant_elects(served, percent: str) -> None:
    token = served.client.post("/v1/auth/login", json={"email": PARTICIPANT[0], "password": PARTICIPANT[1]}).json()
    answer = served.client.post("/mobile/v1/elections", json={"lines": [{"money_type": "pretax", "percent": percent}]},
                                headers={"Authorization": f"Bearer {token['access_token']}"})
    assert answer.status_code in (200, 201), answer.text


def test_a_sponsor_reads_compliance_resolves_an_exception_and_is_told_when_an_election_changed_under_them(
        browser, demo_server, shots):
    base = demo_server.base
    participant_elects(demo_server, "7")  # Maria's election joins the owner's in the queue
    context = browser.new_context(viewport=DESKTOP, locale="es-ES", has_touch=True)
    page = context.new_page()
    try:
        log_in(page, base, *SPONSOR)
        queue = page.get_by_test_id("queue")
        queue.get_by_role("listitem").filter(has_text="Maria Lopez: 7 %").wait_for()
        queue.get_by_role("listitem").filter(has_text="Dana Owner: 10 %").wait_for()
        assert_accessible(page)
        shots(page, "queue-desktop")

        participant_elects(demo_server, "8")  # after the sponsor opened the queue: her 7% is superseded
        for row in queue.get_by_role("listitem").all():
            row.get_by_role("checkbox").check()
        page.get_by_role("button", name="Rechazar seleccionadas").click()
        page.get_by_role("button", name="Rechazar con este motivo").click()
        page.locator("#reason-bulk:invalid").wait_for()  # a reason is required before anything is sent
        page.fill("#reason-bulk", "Hable con nosotros antes de subir el aporte.")
        page.get_by_role("button", name="Rechazar con este motivo").click()
        page.get_by_test_id("decided").filter(has_text="Rechazadas: 1.").wait_for()
        page.get_by_test_id("stale").filter(has_text="cambió desde que la abrió").wait_for()
        queue.get_by_role("listitem").filter(has_text="Maria Lopez: 8 %").wait_for()  # her newer one, to review
        assert queue.get_by_role("listitem").filter(has_text="Dana Owner").count() == 0
        assert_accessible(page)
        shots(page, "bulk-reject-stale")

        page.get_by_role("link", name="Cumplimiento").click()
        card = page.get_by_test_id("compliance-card")
        card.wait_for()
        assert page.get_by_test_id("compliance-status").inner_text() == "En regla"
        assert "límite" in card.get_by_test_id("test-adp").inner_text()
        assert page.get_by_test_id("compliance-fix").inner_text() == "No hay nada que corregir."
        assert page.get_by_test_id("hce-cap").inner_text() == "Sin límite: el plan cumple con cualquier aporte."
        page.get_by_test_id("compliance-chart").get_by_role("img").wait_for()
        assert_accessible(page)
        shots(page, "compliance-desktop")

        page.get_by_role("link", name="Excepciones").click()
        exception = page.get_by_test_id("exceptions").get_by_role("listitem").first
        exception.wait_for()
        # The API's English finding, said in Spanish from its code and figures (es-ES money)
        assert exception.get_by_test_id("finding").inner_text().replace("\xa0", " ").startswith(
            "Se retuvieron aportes de 35,77 US$ antes de la fecha de ingreso al plan del empleado")
        assert_accessible(page)
        shots(page, "exceptions")
        exception.get_by_role("button", name="Resolver").click()
        # Corrected with new amounts: what cannot be read is said beside it before anything is sent, and what the
        # server refuses (more than gross pay) is said beside the amounts; nothing is stored until both are fixed
        exception.get_by_role("button", name="Corregir importes").click()
        pretax = exception.get_by_label("Antes de impuestos", exact=True)
        pretax.fill("35.7x")
        exception.get_by_role("button", name="Guardar corrección").click()
        exception.get_by_text("Escriba un importe en dólares y centavos, como 166,15.").wait_for()
        pretax.fill("2.000,00")  # es-ES: two thousand dollars, above this paycheck's $1,192.30
        exception.get_by_role("button", name="Guardar corrección").click()
        exception.get_by_text("Importes corregidos: Suman más que el salario bruto.").wait_for()
        assert exception.get_by_role("button", name="Guardar corrección").is_enabled()
        assert_accessible(page)
        assert_touch_targets(page)
        shots(page, "exception-correction-problem")
        pretax.fill("0")  # nothing should have been withheld before the entry date
        page.fill("textarea", "Antes de su fecha de entrada: no se retiene nada.")
        exception.get_by_role("button", name="Guardar corrección").click()
        page.get_by_test_id("resolved").filter(has_text="Corregida").wait_for()
        page.get_by_text("No hay excepciones de nómina por resolver.").wait_for()
        shots(page, "exception-corrected")
        sponsor = demo_server.client.post("/v1/auth/login", json={"email": SPONSOR[0], "password": SPONSOR[1]}).json()
        employer_id, headers = sponsor["user"]["employer_id"], {"Authorization": f"Bearer {sponsor['access_token']}"}
        resolved = demo_server.client.get(f"/v1/employers/{employer_id}/payroll-exceptions?status=corrected",
                                          headers=headers).json()["data"]
        assert [e["resolution_note"] for e in resolved] == ["Antes de su fecha de entrada: no se retiene nada."]

        page.set_viewport_size({"width": 360, "height": 740})  # and the same screens on a phone
        page.get_by_role("link", name="Cumplimiento").click()
        page.get_by_test_id("compliance-card").wait_for()
        assert_tabs_fit(page)
        assert_touch_targets(page)
        shots(page, "compliance-phone")

        # Narrower still: the tabs that do not fit go under "Más", and are reached from there
        page.set_viewport_size({"width": 280, "height": 653})
        more = page.get_by_role("button", name="Más")
        more.wait_for()
        assert_tabs_fit(page)
        more.click()
        page.keyboard.press("Escape")  # closes the menu, as menus do
        page.locator("#more-tabs").wait_for(state="detached")
        more.click()
        page.locator("#more-tabs").get_by_role("link").last.wait_for()
        assert_touch_targets(page)
        assert_accessible(page)
        shots(page, "tabs-more")
        page.locator("#more-tabs").get_by_role("link", name="Avisos").click()
        page.wait_for_url(f"{base}/app/feed")
        assert page.locator("#more-tabs").count() == 0
        assert more.get_attribute("class") == "current"
    finally:
        context.close()
