"""Plan documents through the API: drawn up from the plan's rules, byte for byte reproducible, restated on amendment
(participants told), signed by the sponsor admin, required before the first pay run, read by participants."""
import hashlib
import io
import shutil
import subprocess
from datetime import date

import pytest
from pypdf import PdfReader

from backend.documents import service as documents
from backend.documents.models import PlanDocument
from backend.documents.render import render_document
from backend.events import PlanWentLive
from tests import scenario
from tests.support.problems import assert_problem, error_fields

RICH_PLAN = {"loans_allowed": True, "hardship_allowed": True, "requires_approval": False}


def text_of(pdf: bytes) -> str:
    """The PDF's text as one line of words (reportlab wraps lines wherever a phrase falls)."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages).split())


def unsigned_plan(app, client, **plan) -> tuple[dict, dict, dict]:
    """An advisor's new plan whose sponsor admin has signed in but signed nothing: (advisor, setup, sponsor)."""
    advisor = scenario.advisor(app, client)
    setup = scenario.setup_plan(client, advisor, **{**RICH_PLAN, **plan})
    return advisor, setup, scenario.accept_sponsor(client, setup, sign=False)


def pdf_of(client, headers, document) -> bytes:
    response = client.get(document["pdf_url"], headers=headers)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    return response.data


def test_the_adoption_agreement_and_summaries_state_every_elected_provision(app, client):
    _, setup, sponsor = unsigned_plan(app, client, name="Acme Bakery LLC")
    plan_id = setup["plan"]["id"]
    listed = client.get(f"/v1/plans/{plan_id}/documents", headers=sponsor).json
    assert sorted((d["kind"], d["language"], d["version"], d["status"]) for d in listed) == [
        ("adoption_agreement", "en", 1, "current"), ("summary_plan_description", "en", 1, "current"),
        ("summary_plan_description", "es", 1, "current")]
    agreement = text_of(pdf_of(client, sponsor, scenario.current_document(client, sponsor, plan_id)))
    for provision in ["Acme Bakery LLC 401(k) Plan: Adoption Agreement", "Plan sponsor (employer): Acme Bakery LLC",
                      "EIN 12-", "Trustee: Acme Bakery LLC", "Effective date of the plan: January 1, 2026",
                      "twelve months beginning January 1", "eligible at age 21 after no minimum period of service",
                      "Entry date: the first day of the month after meeting the conditions",
                      "enrolled automatically at 3% of pay", "after 30 days' notice",
                      "rises by 1 percentage point(s) each plan year up to 10% of pay", "within 90 days",
                      "100% of deferrals from 0% to 3% of pay", "50% of deferrals from 3% to 5% of pay",
                      "Safe harbor basic match", "Employer matching contributions: 100% after 0 year(s)",
                      "Profit sharing contributions: 0% after 0 year(s), 0% after 1 year(s), 20% after 2 year(s)",
                      "Roth deferrals: offered", "Catch-up contributions at age 50 and over: offered",
                      "Loans: offered", "Hardship withdrawals: offered", "Default investment (QDIA)"]:
        assert provision in agreement, provision
    spanish = text_of(pdf_of(client, sponsor, scenario.current_document(client, sponsor, plan_id,
                                                                         "summary_plan_description", "es")))
    for provision in ["Descripción Resumida del Plan", "elegible a los 21 años", "100% de las aportaciones del 0% "
                      "al 3% del pago", "Préstamos: ofrecidos", "Retiros por dificultades económicas: ofrecidos",
                      "1 de enero de 2026"]:
        assert provision in spanish, provision


def test_a_plan_without_loans_or_hardship_says_they_are_not_offered(app, client):
    _, setup, sponsor = unsigned_plan(app, client, template="starter", loans_allowed=False, hardship_allowed=False)
    text = text_of(pdf_of(client, sponsor, scenario.current_document(client, sponsor, setup["plan"]["id"])))
    assert "Loans: not offered" in text and "Hardship withdrawals: not offered" in text
    assert "Matching contributions: none" in text


def test_the_same_rules_give_byte_identical_documents_and_the_stored_hash(app, client):
    _, setup, sponsor = unsigned_plan(app, client)
    document = scenario.current_document(client, sponsor, setup["plan"]["id"])
    first, second = pdf_of(client, sponsor, document), pdf_of(client, sponsor, document)
    assert first == second and hashlib.sha256(first).hexdigest() == document["sha256"]
    with app.extensions["plumb"].db.transaction() as session:
        stored = session.get(PlanDocument, document["id"])
        assert documents.reproduce(stored) == first  # drawn up again from the provisions: the same bytes
        again = render_document(stored.kind, stored.language, stored.provisions, version=stored.version)
        assert again == render_document(stored.kind, stored.language, stored.provisions, version=stored.version)


def test_a_match_change_makes_an_amendment_listing_it_supersedes_the_old_and_tells_participants(app, client):
    world = scenario.World(app, client, requires_approval=False)
    old = scenario.current_document(client, world.sponsor, world.plan_id)
    response = client.patch(f"/v1/plans/{world.plan_id}/rules", headers=world.sponsor, json={
        "effective_on": "2027-01-01", "match_tiers": [
            {"deferral_from_percent": "0", "deferral_to_percent": "4", "match_rate_percent": "100"}]})
    assert response.status_code == 200, response.json
    assert response.json["match_tiers"] == [
        {"deferral_from_percent": "0", "deferral_to_percent": "4", "match_rate_percent": "100"}]
    listed = client.get(f"/v1/plans/{world.plan_id}/documents", headers=world.sponsor).json
    by_version = {(d["kind"], d["language"], d["version"]): d for d in listed}
    assert by_version[("adoption_agreement", "en", 1)]["status"] == "superseded"
    assert by_version[("adoption_agreement", "en", 1)]["signature"]["document_sha256"] == old["sha256"]
    for language in ("en", "es"):
        new = by_version[("summary_plan_description", language, 2)]
        assert new["status"] == "current"
        assert new["amendment"] == {"effective_on": "2027-01-01", "changes": ["match_tiers"]}
    agreement = by_version[("adoption_agreement", "en", 2)]
    assert agreement["signable"] and agreement["signature"] is None
    text = text_of(pdf_of(client, world.sponsor, agreement))
    assert "This version amends the plan effective January 1, 2027. Provisions changed:" in text
    assert "matching contribution formula" in text
    assert "100% of deferrals from 0% to 4% of pay" in text and "3% to 5%" not in text
    feed = client.get("/mobile/v1/me/notifications", headers=world.participant).json["data"]
    told = [n for n in feed if n["kind"] == "plan_summary_updated"]
    assert len(told) == 1 and told[0]["category"] == "notices", feed
    assert "January 1, 2027" in told[0]["body"]


def test_an_amendment_that_breaks_the_rules_is_refused_whole(app, client):
    world = scenario.World(app, client, requires_approval=False)
    response = client.patch(f"/v1/plans/{world.plan_id}/rules", headers=world.sponsor, json={
        "effective_on": "1970-01-01", "match_tiers": [
            {"deferral_from_percent": "0", "deferral_to_percent": "1", "match_rate_percent": "10"}]})
    assert_problem(response, 422)
    assert set(error_fields(response)) == {"effective_on", "match_tiers"}
    listed = client.get(f"/v1/plans/{world.plan_id}/documents", headers=world.sponsor).json
    assert all(d["version"] == 1 for d in listed)


def test_signing_binds_name_title_ip_agent_and_hash_and_a_second_signing_is_refused(app, client, monkeypatch):
    went_live = []
    bus = app.extensions["plumb"].db.sessionmaker.kw["info"]["bus"]
    monkeypatch.setitem(bus.handlers, PlanWentLive, (lambda session, event: went_live.append(event),))
    _, setup, sponsor = unsigned_plan(app, client)
    plan_id = setup["plan"]["id"]
    document = scenario.current_document(client, sponsor, plan_id)
    refused = client.post(f"/v1/documents/{document['id']}/signature", headers=sponsor,
                          json={"typed_name": "Pat Baker", "title": "Owner", "consent_to_electronic_records": False})
    assert_problem(refused, 422)
    assert error_fields(refused) == ["consent_to_electronic_records"]
    # A form with several mistakes hears of them all at once, each by its field.
    refused = client.post(f"/v1/documents/{document['id']}/signature", headers=sponsor,
                          json={"typed_name": "Pat Baker", "title": "", "consent_to_electronic_records": False})
    assert_problem(refused, 422)
    assert sorted(error_fields(refused)) == ["consent_to_electronic_records", "title"]
    signature = scenario.sign_adoption_agreement(client, sponsor, plan_id, name="Pat Baker", title="Owner",
                                                 **{"User-Agent": "PlumbTest/1.0"})
    assert {k: signature[k] for k in ("typed_name", "title", "consent_to_electronic_records", "ip_address",
                                      "user_agent", "document_sha256")} == {
        "typed_name": "Pat Baker", "title": "Owner", "consent_to_electronic_records": True,
        "ip_address": "127.0.0.1", "user_agent": "PlumbTest/1.0", "document_sha256": document["sha256"]}
    assert went_live == [PlanWentLive(plan_id=plan_id, employer_id=setup["employer"]["id"], on=date(2026, 11, 24))]
    signed_pdf = pdf_of(client, sponsor, document)
    assert hashlib.sha256(signed_pdf).hexdigest() == signature["signed_sha256"]
    text = text_of(signed_pdf)
    assert f"SHA-256 of the document signed: {document['sha256']}" in text
    assert "Signed electronically by Pat Baker, Owner" in text and "PlumbTest/1.0" in text
    again = client.post(f"/v1/documents/{document['id']}/signature", headers=sponsor,
                        json={"typed_name": "Someone Else", "title": "CFO", "consent_to_electronic_records": True})
    assert_problem(again, 409)
    shown = client.get(f"/v1/documents/{document['id']}", headers=sponsor).json
    assert shown["signature"]["typed_name"] == "Pat Baker" and shown["sha256"] == document["sha256"]
    assert not shown["signable"] and went_live == went_live[:1]


def test_a_summary_is_not_signed(app, client):
    _, setup, sponsor = unsigned_plan(app, client)
    summary = scenario.current_document(client, sponsor, setup["plan"]["id"], "summary_plan_description")
    response = client.post(f"/v1/documents/{summary['id']}/signature", headers=sponsor,
                           json={"typed_name": "Pat", "title": "Owner", "consent_to_electronic_records": True})
    assert_problem(response, 422)


def test_a_pay_run_before_the_adoption_agreement_is_signed_is_refused_with_the_reason(app, client):
    _, setup, sponsor = unsigned_plan(app, client)
    employer_id, plan_id = setup["employer"]["id"], setup["plan"]["id"]
    scenario.upload_csv(client, sponsor, employer_id,
                        [scenario.census_row("E1", "1985-07-19", "2024-03-15", "123-45-6789")])
    connection = scenario.connect_payroll(client, sponsor, employer_id)
    run = scenario.pay_run("run-1", "2026-11-20", [scenario.statement("E1", 250000, pretax=15000)])
    refused = scenario.signed_post(client, connection, run)
    body = assert_problem(refused, 422)
    assert error_fields(refused) == ["plan"]
    assert "adoption agreement" in body["errors"][0]["message"] and "not signed" in body["errors"][0]["message"]
    assert client.get(f"/v1/employers/{employer_id}/pay-runs", headers=sponsor).json["data"] == []
    scenario.sign_adoption_agreement(client, sponsor, plan_id)
    accepted = scenario.signed_post(client, connection, run)
    assert accepted.status_code == 200, accepted.json


def test_participants_download_the_current_summary_in_their_language(app, client):
    world = scenario.World(app, client, requires_approval=False)
    english = client.get("/mobile/v1/plan-summary.pdf", headers=world.participant)
    assert english.status_code == 200 and "Summary Plan Description" in text_of(english.data)
    spanish = client.get("/mobile/v1/plan-summary.pdf?language=es", headers=world.participant)
    assert "Descripción Resumida del Plan" in text_of(spanish.data)
    changed = client.patch("/mobile/v1/me/notification-settings", headers=world.participant, json={"language": "es"})
    assert changed.status_code == 200, changed.json
    chosen = client.get("/mobile/v1/plan-summary.pdf", headers=world.participant)
    assert "Descripción Resumida del Plan" in text_of(chosen.data)
    assert client.get("/mobile/v1/plan-summary.pdf", headers=world.sponsor).status_code == 403


def test_a_safe_harbor_plans_annual_notice_is_due_30_days_before_the_plan_year(app, client):
    world = scenario.World(app, client, requires_approval=False)
    response = client.post(f"/v1/plans/{world.plan_id}/safe-harbor-notices", headers=world.sponsor,
                           json={"plan_year": 2027})
    assert response.status_code == 201, response.json
    assert [(n["language"], n["plan_year"], n["notice_opens_on"], n["notice_deadline"]) for n in response.json] == [
        ("en", 2027, "2026-10-03", "2026-12-02"), ("es", 2027, "2026-10-03", "2026-12-02")]
    text = text_of(pdf_of(client, world.sponsor, response.json[0]))
    assert "plan year January 1, 2027 to December 31, 2027" in text and "no later than December 2, 2026" in text
    again = client.post(f"/v1/plans/{world.plan_id}/safe-harbor-notices", headers=world.sponsor,
                        json={"plan_year": 2027})
    assert [n["id"] for n in again.json] == [n["id"] for n in response.json]


def test_a_plan_that_is_not_a_safe_harbor_match_owes_no_notice(app, client):
    world = scenario.World(app, client, template="traditional")
    response = client.post(f"/v1/plans/{world.plan_id}/safe-harbor-notices", headers=world.sponsor,
                           json={"plan_year": 2027})
    assert_problem(response, 422)
    assert error_fields(response) == ["plan"]


def test_the_notice_window_is_90_to_30_days_before_the_plan_year():
    # Treas. Reg. 1.401(k)-3(d)(3)(ii): a plan year beginning July 1, 2027.
    assert documents.notice_window(date(2027, 7, 1)) == (date(2027, 4, 2), date(2027, 6, 1))


@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler's pdftoppm is not installed")
def test_the_adoption_agreements_first_page_renders_to_an_image(app, client, tmp_path):
    _, setup, sponsor = unsigned_plan(app, client)
    pdf = tmp_path / "agreement.pdf"
    pdf.write_bytes(pdf_of(client, sponsor, scenario.current_document(client, sponsor, setup["plan"]["id"])))
    subprocess.run(["pdftoppm", "-png", "-r", "50", "-f", "1", "-l", "1", str(pdf), str(tmp_path / "page")],
                   check=True)
    image = next(tmp_path.glob("page*.png"))
    assert image.read_bytes().startswith(b"\x89PNG")
