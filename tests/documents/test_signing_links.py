"""Signing the adoption agreement from a signing link, without an account: the link the setup emails to the sponsor
admin, what it shows, the signature it records (as a signed-in one, plus how the signer was identified), and every
way a link stops working (used, expired, superseded, replaced, signed otherwise), each answered alike."""
import hashlib
import logging
from datetime import date, timedelta

from sqlalchemy import func, select

from backend.db import utcnow
from backend.documents import signing_links
from backend.documents.models import DocumentSignature, SigningLink
from backend.events import PlanWentLive
from backend.web.logs import JsonFormatter, log_access, loggable_path
from tests import scenario
from tests.documents.test_plan_documents import text_of
from tests.support.problems import assert_problem, error_fields
from tests.support.served import all_at_once, race_trials
from tests.web.conftest import build_app

SPONSOR = "sponsor@example.com"
SIGN = {"typed_name": "Pat Baker", "title": "Owner", "consent_to_electronic_records": True}


def new_plan(app, client, **plan) -> tuple[dict, dict]:
    """An advisor's new plan, nobody signed in for the sponsor yet: (advisor headers, setup answer)."""
    advisor = scenario.advisor(app, client)
    return advisor, scenario.setup_plan(client, advisor, **plan)


def signatures(app) -> int:
    with app.extensions["plumb"].db.transaction() as session:
        return session.scalar(select(func.count()).select_from(DocumentSignature))


def assert_no_such_link(response) -> None:
    assert_problem(response, 404, detail=signing_links.NO_SUCH_LINK)


def test_setting_up_a_plan_emails_the_sponsor_admin_a_link_to_sign_its_agreement(app, client):
    advisor, setup = new_plan(app, client)
    link = scenario.signing_link(app, SPONSOR)
    assert link.startswith("http://localhost:5000/app/sign/")
    token = link.rsplit("/", 1)[1]
    assert len(token) >= 43  # 32 random bytes, url-safe base64
    message = scenario.messages_to(app, SPONSOR)[-1]
    agreement = scenario.current_document(client, advisor, setup["plan"]["id"])
    assert "Adoption Agreement" in message and agreement["sha256"] in message and "Acme Bakery LLC" in message
    with app.extensions["plumb"].db.transaction() as session:
        stored = session.scalars(select(SigningLink)).all()
        assert [(row.document_id, row.email) for row in stored] == [(agreement["id"], SPONSOR)]
        assert stored[0].token_hash == hashlib.sha256(token.encode()).hexdigest()
        assert stored[0].expires_at - stored[0].created_at == timedelta(days=7)
    shown = client.get(f"/v1/signing/{token}")
    assert shown.status_code == 200, shown.json
    assert shown.headers["Cache-Control"] == "no-store"
    assert {k: shown.json[k] for k in ("title", "plan", "employer", "version", "sha256", "effective_on",
                                       "addressed_to")} == {
        "title": "Adoption Agreement", "plan": "Acme Bakery LLC 401(k) Plan", "employer": "Acme Bakery LLC",
        "version": 1, "sha256": agreement["sha256"], "effective_on": "2026-01-01", "addressed_to": "s***@example.com"}
    pdf = client.get(f"/v1/signing/{token}/pdf")
    assert pdf.status_code == 200 and pdf.mimetype == "application/pdf"
    assert hashlib.sha256(pdf.data).hexdigest() == agreement["sha256"]


def test_signing_through_the_link_records_the_signature_as_signing_in_does_and_puts_the_plan_live(
        app, client, monkeypatch):
    went_live = []
    bus = app.extensions["plumb"].db.sessionmaker.kw["info"]["bus"]
    monkeypatch.setitem(bus.handlers, PlanWentLive, (lambda session, event: went_live.append(event),))
    advisor, setup = new_plan(app, client)
    plan_id = setup["plan"]["id"]
    agreement = scenario.current_document(client, advisor, plan_id)
    token = scenario.signing_token(app, SPONSOR)
    signed = client.post(f"/v1/signing/{token}", json=SIGN, headers={"User-Agent": "PlumbTest/1.0"})
    assert signed.status_code == 201, signed.json
    assert {k: signed.json[k] for k in ("typed_name", "title", "consent_to_electronic_records", "ip_address",
                                        "user_agent", "document_sha256", "signer_user_id", "identified_by")} == {
        "typed_name": "Pat Baker", "title": "Owner", "consent_to_electronic_records": True,
        "ip_address": "127.0.0.1", "user_agent": "PlumbTest/1.0", "document_sha256": agreement["sha256"],
        "signer_user_id": None, "identified_by": f"signing link sent to {SPONSOR}"}
    assert went_live == [PlanWentLive(plan_id=plan_id, employer_id=setup["employer"]["id"], on=date(2026, 11, 24))]
    shown = client.get(f"/v1/documents/{agreement['id']}", headers=advisor).json
    assert shown["signature"]["identified_by"] == f"signing link sent to {SPONSOR}" and not shown["signable"]
    signed_pdf = client.get(agreement["pdf_url"], headers=advisor).data
    assert hashlib.sha256(signed_pdf).hexdigest() == signed.json["signed_sha256"]
    assert f"SHA-256 of the document signed: {agreement['sha256']}" in text_of(signed_pdf)
    # The sponsor's password comes later: the invitation still works, and the plan is already signed.
    sponsor = scenario.accept_sponsor(client, setup, sign=False)
    assert scenario.current_document(client, sponsor, plan_id)["signature"]["typed_name"] == "Pat Baker"
    # Used once: the link no longer opens, reads or signs, in the one answer for every failure.
    assert_no_such_link(client.get(f"/v1/signing/{token}"))
    assert_no_such_link(client.get(f"/v1/signing/{token}/pdf"))
    assert_no_such_link(client.post(f"/v1/signing/{token}", json={**SIGN, "typed_name": "Someone Else"}))
    assert signatures(app) == 1


def test_every_problem_of_the_form_is_listed_and_nothing_is_stored_nor_the_link_spent(app, client):
    new_plan(app, client)
    token = scenario.signing_token(app, SPONSOR)
    refused = client.post(f"/v1/signing/{token}", json={"typed_name": "", "title": "",
                                                         "consent_to_electronic_records": False})
    assert_problem(refused, 422)
    assert error_fields(refused) == ["consent_to_electronic_records", "title", "typed_name"]
    blank = client.post(f"/v1/signing/{token}", json={**SIGN, "typed_name": "   ", "title": " "})
    assert_problem(blank, 422)
    assert error_fields(blank) == ["title", "typed_name"]
    assert signatures(app) == 0
    with app.extensions["plumb"].db.transaction() as session:
        assert session.scalar(select(SigningLink.used_at)) is None
    assert client.post(f"/v1/signing/{token}", json=SIGN).status_code == 201


def test_a_wrong_token_gets_the_same_answer_as_a_spent_one(app, client):
    new_plan(app, client)
    for path in ("/v1/signing/not-a-real-token", "/v1/signing/" + "A" * 43 + "/pdf"):
        assert_no_such_link(client.get(path))
    assert_no_such_link(client.post("/v1/signing/" + "A" * 43, json=SIGN))
    assert signatures(app) == 0


def test_a_link_expires_after_seven_days(app, client, monkeypatch):
    new_plan(app, client)
    token = scenario.signing_token(app, SPONSOR)
    now = utcnow()
    monkeypatch.setattr(signing_links, "utcnow", lambda: now + timedelta(days=7, minutes=-1))
    assert client.get(f"/v1/signing/{token}").status_code == 200
    monkeypatch.setattr(signing_links, "utcnow", lambda: now + timedelta(days=7, minutes=1))
    assert_no_such_link(client.get(f"/v1/signing/{token}"))
    assert_no_such_link(client.post(f"/v1/signing/{token}", json=SIGN))
    assert signatures(app) == 0


def test_how_long_a_link_works_is_a_setting(database_url, tmp_path):
    app = build_app(database_url, tmp_path, signing_link_days=2, public_base_url="https://plumb.example")
    try:
        client = app.test_client()
        new_plan(app, client)
        assert scenario.signing_link(app, SPONSOR).startswith("https://plumb.example/app/sign/")
        with app.extensions["plumb"].db.transaction() as session:
            link = session.scalars(select(SigningLink)).one()
            assert link.expires_at - link.created_at == timedelta(days=2)
    finally:
        app.extensions["plumb"].db.engine.dispose()


def test_an_amendment_supersedes_the_document_and_voids_its_link(app, client):
    advisor, setup = new_plan(app, client)
    plan_id = setup["plan"]["id"]
    token = scenario.signing_token(app, SPONSOR)
    sponsor = scenario.accept_sponsor(client, setup, sign=False)
    amended = client.patch(f"/v1/plans/{plan_id}/rules", headers=sponsor, json={
        "effective_on": "2027-01-01", "match_tiers": [
            {"deferral_from_percent": "0", "deferral_to_percent": "4", "match_rate_percent": "100"}]})
    assert amended.status_code == 200, amended.json
    assert_no_such_link(client.get(f"/v1/signing/{token}"))
    assert_no_such_link(client.post(f"/v1/signing/{token}", json=SIGN))
    # A new link for the new version signs it.
    current = scenario.current_document(client, advisor, plan_id)
    sent = client.post(f"/v1/documents/{current['id']}/signing-link", headers=advisor)
    assert sent.status_code == 201, sent.json
    fresh = scenario.signing_token(app, SPONSOR)
    shown = client.get(f"/v1/signing/{fresh}").json
    assert shown["version"] == 2 and shown["changes"] == ["match_tiers"]
    assert client.post(f"/v1/signing/{fresh}", json=SIGN).status_code == 201


def test_a_new_link_voids_the_old_and_goes_only_to_the_sponsor_admin(app, client):
    advisor, setup = new_plan(app, client)
    agreement = scenario.current_document(client, advisor, setup["plan"]["id"])
    old = scenario.signing_token(app, SPONSOR)
    sent = client.post(f"/v1/documents/{agreement['id']}/signing-link", headers=advisor)
    assert sent.status_code == 201, sent.json
    assert sent.json["sent_to"] == "s***@example.com" and "token" not in str(sent.json).lower()
    new = scenario.signing_token(app, SPONSOR)
    assert new != old
    assert_no_such_link(client.get(f"/v1/signing/{old}"))
    assert client.get(f"/v1/signing/{new}").status_code == 200
    # A summary is never signed, so it has no link; nor has a signed agreement.
    summary = scenario.current_document(client, advisor, setup["plan"]["id"], "summary_plan_description")
    assert_problem(client.post(f"/v1/documents/{summary['id']}/signing-link", headers=advisor), 409)
    assert client.post(f"/v1/signing/{new}", json=SIGN).status_code == 201
    assert_problem(client.post(f"/v1/documents/{agreement['id']}/signing-link", headers=advisor), 409)


def test_signing_in_and_signing_voids_the_link(app, client):
    _, setup = new_plan(app, client)
    token = scenario.signing_token(app, SPONSOR)
    sponsor = scenario.accept_sponsor(client, setup, sign=True)
    assert sponsor
    assert_no_such_link(client.get(f"/v1/signing/{token}"))
    assert signatures(app) == 1


def test_another_employers_staff_cannot_send_a_link_for_a_document(app, client):
    advisor, setup = new_plan(app, client)
    agreement = scenario.current_document(client, advisor, setup["plan"]["id"])
    other = scenario.advisor(app, client, "other.advisor@example.com")
    assert_problem(client.post(f"/v1/documents/{agreement['id']}/signing-link", headers=other), 404)


def test_two_signatures_through_one_link_at_once_make_exactly_one(app, client, served):
    for trial in range(race_trials()):
        email = f"racer{trial}@example.com"
        if trial == 0:
            scenario.create_advisor(app)
        advisor = scenario.login(client, "advisor@example.com", scenario.ADVISOR_PASSWORD)
        scenario.setup_plan(client, advisor, sponsor_email=email, name=f"Race {trial} LLC")
        token = scenario.signing_token(app, email)
        answers = all_at_once(2, lambda i: served.client.post(f"/v1/signing/{token}", json={
            **SIGN, "typed_name": f"Signer {i}"}))
        statuses = sorted(answer.status_code for answer in answers)
        assert statuses == [201, 404], [answer.text[:300] for answer in answers]
        assert signatures(app) == trial + 1


def test_the_token_is_never_logged(app, client, caplog):
    caplog.set_level(logging.DEBUG)
    new_plan(app, client)
    token = scenario.signing_token(app, SPONSOR)
    client.get(f"/v1/signing/{token}")
    client.get(f"/v1/signing/{token}/pdf")
    client.post(f"/v1/signing/{token}", json={**SIGN, "title": ""})
    client.post(f"/v1/signing/{token}", json=SIGN)
    client.post(f"/v1/signing/{token}", json=SIGN)
    # The servers' access lines and every line written during a request carry the path: without the token.
    for path in (f"/v1/signing/{token}", f"/v1/signing/{token}/pdf", f"/app/sign/{token}"):
        log_access("GET", path, 200, None, 1.0, "127.0.0.1")
        with app.test_request_context(path):
            caplog.records.append(logging.LogRecord("plumb.test", logging.INFO, __file__, 0, "in a request", (), None))
            lines = [JsonFormatter().format(record) for record in caplog.records]
    assert caplog.records and not [line for line in lines if token in line]
    assert loggable_path(f"/v1/signing/{token}/pdf") == "/v1/signing/…/pdf"
    assert loggable_path(f"/app/sign/{token}") == "/app/sign/…"


def test_guessing_links_is_limited_per_client_like_logins(database_url, tmp_path):
    app = build_app(database_url, tmp_path, rate_limits_enabled=True)
    try:
        client = app.test_client()
        answers = [client.get(f"/v1/signing/guess-{i}").status_code for i in range(21)]
        assert answers[:20] == [404] * 20 and answers[20] == 429
        assert_problem(client.post("/v1/signing/guess-x", json=SIGN), 429)
    finally:
        app.extensions["plumb"].db.engine.dispose()
