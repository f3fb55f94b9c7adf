"""`make demo`'s data, read through the API the app uses: every screen has something true on first open."""
from backend.demo import ADVISOR, PARTICIPANT, SPONSOR, seed_demo
from tests.scenario import login


def test_the_demo_gives_the_participant_a_balance_with_a_history_and_the_sponsor_a_queue_and_a_compliance_state(app,
                                                                                                              client):
    plumb = app.extensions["plumb"]
    seed_demo(plumb)
    assert seed_demo(plumb)  # a second run finds the demo and only prints the logins

    maria = login(client, *PARTICIPANT)
    balance = client.get("/mobile/v1/balance", headers=maria).json
    assert balance["total_cents"] > 0
    history = client.get("/mobile/v1/balance-history", headers=maria).json
    assert len(history["data"] if isinstance(history, dict) and "data" in history else history) >= 3

    answer = client.post("/v1/auth/login", json={"email": SPONSOR[0], "password": SPONSOR[1]}).json
    sponsor, employer_id = {"Authorization": f"Bearer {answer['access_token']}"}, answer["user"]["employer_id"]
    plan_id = client.get(f"/v1/employers/{employer_id}", headers=sponsor).json["plans"][0]["id"]
    queue = client.get(f"/v1/plans/{plan_id}/approvals", headers=sponsor).json["data"]
    assert len(queue) == 1
    compliance = client.get(f"/v1/plans/{plan_id}/compliance", headers=sponsor).json
    assert compliance["status"] in ("on_track", "narrow_margin", "at_risk")
    assert len(client.get(f"/v1/plans/{plan_id}/compliance/history", headers=sponsor).json["data"]) >= 3
    exceptions = client.get(f"/v1/employers/{employer_id}/payroll-exceptions", headers=sponsor).json["data"]
    assert len(exceptions) == 1


def test_the_demo_announces_an_automatic_increase_to_the_participant_whose_rate_is_automatic(app, client):
    logins = seed_demo(app.extensions["plumb"])
    code = next(code for role, code, note, _ in logins if role == "invite code" and note == "Priya Patel")
    answer = client.post("/mobile/v1/signup", json={"invite_code": code, "date_of_birth": "1972-05-30",
                                                    "ssn_last4": "0004", "email": "priya@acme.demo",
                                                    "password": "priya's own long passphrase 7"})
    priya = {"Authorization": f"Bearer {answer.json['access_token']}"}
    elections = client.get("/mobile/v1/elections", headers=priya).json
    announced = [e for e in elections if e["kind"] == "escalation" and e["status"] == "scheduled"]
    assert [line["percent"] for line in announced[0]["lines"]] == ["5"]  # her automatic 4% and the plan's 1% step
    assert len(announced) == 1
    maria = login(client, *PARTICIPANT)  # her rate is her own choice: it does not escalate (IRC 414(w))
    assert not [e for e in client.get("/mobile/v1/elections", headers=maria).json if e["kind"] == "escalation"]


def test_the_demo_gives_the_advisor_a_book_of_plans_in_different_states_of_attention(app, client):
    seed_demo(app.extensions["plumb"])
    token = client.post("/v1/auth/login", json={"email": ADVISOR[0], "password": ADVISOR[1]}).json["access_token"]
    advisor = {"Authorization": f"Bearer {token}"}
    book = client.get("/v1/book", headers=advisor).json["data"]
    assert [(p["employer_name"], p["attention"]) for p in book] == [
        ("Harbor Roofing Co", "at_risk"), ("Acme Bakery LLC", "approvals"), ("Birch Dental PLLC", "unsigned_documents"),
        ("Cedar Street Cafe", None)]
    pipeline = client.get("/v1/book/pipeline", headers=advisor).json
    assert {s["stage"]: s["count"] for s in pipeline["stages"]} == {"created": 1, "documents_signed": 1, "live": 2}
