"""Billing the employer through Stripe, end to end against localstripe: a plan going live makes the customer and the
subscription, the participants billed follow approved elections, Stripe's signed webhooks are verified and acted on
once, a failed payment tells the sponsor and turns billing past due after the grace period (participants untouched)."""
import time
from datetime import date, datetime, timedelta, timezone

import stripe

from backend.billing.models import StripeEvent
from backend.events import PlanWentLive, publish
from backend.outbox import OutboxMessage
from tests import scenario
from tests.billing.conftest import API_KEY, stripe_event, stripe_signature
from tests.conftest import TODAY
from tests.support import run_cli
from tests.support.outbox import drain
from tests.support.problems import assert_problem
from tests.support.served import all_at_once

WEBHOOK = "/v1/billing/stripe-webhook"


def go_live(app, world, on: date = TODAY) -> None:
    """The plan went live when its sponsor signed the adoption agreement through the API (tests.scenario.World
    signs it as the sponsor's first step); this delivers that news again, as a replayed event would: billing must
    neither start twice nor change."""
    with app.extensions["plumb"].db.transaction() as session:
        publish(session, PlanWentLive(world.plan_id, world.employer_id, on))


def stripe_client(localstripe) -> stripe.StripeClient:
    return stripe.StripeClient(API_KEY, base_addresses={"api": localstripe.base_url})


def customer_of(localstripe, employer_id: str):
    customers = [c for c in stripe_client(localstripe).v1.customers.list({"limit": 100}).data
                 if c.metadata.to_dict().get("plumb_employer_id") == employer_id]
    assert len(customers) == 1, customers
    return customers[0]


def subscriptions_of(localstripe, customer_id: str) -> dict[str, dict]:
    """The customer's subscriptions by plan id: {plan id: {"quantity": …, "billed_from": the trial's end}}."""
    found = stripe_client(localstripe).v1.subscriptions.list({"customer": customer_id}).data
    return {s["items"]["data"][0]["plan"]["id"]: {
        # int(): localstripe keeps an updated quantity as the form-encoded text it received (Stripe answers a number).
        "quantity": int(s["items"]["data"][0]["quantity"]),
        "billed_from": datetime.fromtimestamp(s.trial_end, timezone.utc)} for s in found}


def billing(client, world) -> dict:
    response = client.get(f"/v1/employers/{world.employer_id}/billing", headers=world.sponsor)
    assert response.status_code == 200, response.json
    return response.json


def enroll(client, world, count: int) -> list[dict]:
    """`count` more employees join the census, sign up and elect 5% (the plan approves elections at once)."""
    rows = [scenario.census_row(f"B{i}", "1980-01-01", "2020-01-06", f"555-01-{1000 + i}") for i in range(count)]
    response = scenario.upload_csv(client, world.sponsor, world.employer_id, rows)
    assert response.status_code == 200, response.json
    employees = scenario.employees_by_external_id(client, world.sponsor, world.employer_id)
    participants = []
    for i in range(count):
        headers = scenario.sign_up(client, employees[f"B{i}"], "1980-01-01", f"{1000 + i}")
        response = client.post("/mobile/v1/elections", headers=headers,
                               json={"lines": [{"money_type": "pretax", "percent": "5"}]})
        assert response.status_code == 201, response.json
        assert response.json["status"] == "approved"
        participants.append(headers)
    return participants


def post_event(client, body: bytes, signature: str | None = None):
    return client.post(WEBHOOK, data=body, headers={"Content-Type": "application/json",
                                                     "Stripe-Signature": signature or stripe_signature(body)})


def failed_invoice(customer_id: str, invoice_id: str = "in_failed_1") -> dict:
    return {"id": invoice_id, "object": "invoice", "customer": customer_id, "amount_due": 9000, "amount_paid": 0,
            "status": "open", "created": 1795000000, "period_start": 1795000000, "period_end": 1797600000}


def staff_feed(client, headers, kind: str) -> list[dict]:
    response = client.get("/v1/me/notifications", headers=headers, query_string={"limit": 100})
    assert response.status_code == 200, response.json
    return [e for e in response.json["data"] if e["kind"] == kind]


# ---- the subscription and its quantity ------------------------------------------------------------------------------

def test_a_plan_going_live_makes_the_stripe_customer_and_a_subscription_billed_from_next_month(app, client,
                                                                                              localstripe):
    world = scenario.World(app, client, requires_approval=False, sign_documents=False)
    assert (billing(client, world)["status"], billing(client, world)["configured"]) == ("off", True)
    # The plan goes live when its sponsor signs the adoption agreement.
    scenario.sign_adoption_agreement(client, world.sponsor, world.plan_id)
    drain(app.extensions["plumb"])
    customer = customer_of(localstripe, world.employer_id)
    assert customer.name == "Acme Bakery LLC"
    # The base fee, billed from the first of a month; no participant is billed yet (none has an election or a
    # balance).
    subscriptions = subscriptions_of(localstripe, customer.id)
    assert list(subscriptions) == ["plumb-base-5000"] and subscriptions["plumb-base-5000"]["quantity"] == 1
    billed_from = subscriptions["plumb-base-5000"]["billed_from"]
    assert (billed_from.day, billed_from.hour, billed_from.minute) == (1, 0, 0)
    view = billing(client, world)
    assert (view["status"], view["configured"], view["quantity"], view["base_fee_cents"],
            view["participant_cents"]) == ("active", True, 0, 5000, 400)


def test_the_quantity_billed_follows_the_participants_with_an_election(app, client, world, localstripe):
    go_live(app, world)
    drain(app.extensions["plumb"])
    enroll(client, world, 10)
    drain(app.extensions["plumb"])
    customer = customer_of(localstripe, world.employer_id)
    assert subscriptions_of(localstripe, customer.id)["plumb-participant-400"]["quantity"] == 10
    assert billing(client, world)["quantity"] == 10


def test_going_live_twice_makes_one_customer(app, client, world, localstripe):
    go_live(app, world)
    go_live(app, world)
    drain(app.extensions["plumb"])
    customer_of(localstripe, world.employer_id)  # exactly one


# ---- Stripe's webhooks ----------------------------------------------------------------------------------------------

def live_customer(app, world, localstripe) -> str:
    go_live(app, world)
    drain(app.extensions["plumb"])
    return customer_of(localstripe, world.employer_id).id


def test_a_failed_payment_tells_the_sponsor_and_turns_billing_past_due_after_the_grace_period(app, client, world,
                                                                                            localstripe):
    customer_id = live_customer(app, world, localstripe)
    balance_before = client.get("/mobile/v1/balance", headers=world.participant)
    response = post_event(client, stripe_event("evt_failed_1", "invoice.payment_failed", failed_invoice(customer_id)))
    assert response.status_code == 200, response.json
    assert response.json == {"event_id": "evt_failed_1", "duplicate": False, "outcome": "payment_failed"}

    told = staff_feed(client, world.sponsor, "billing_payment_failed")
    assert len(told) == 1 and "$90.00" in told[0]["body"]
    view = billing(client, world)
    assert (view["status"], view["payment_failed_on"], view["past_due_on"]) == \
        ("active", TODAY.isoformat(), (TODAY + timedelta(days=14)).isoformat())
    assert view["invoices"] == [{"id": "in_failed_1", "amount_due_cents": 9000, "amount_paid_cents": 0,
                                 "status": "payment_failed", "created_on": "2026-11-18", "period_start": "2026-11-18",
                                 "period_end": "2026-12-18"}]

    # Still inside the grace period: nothing changes.
    assert run_cli(app, ["daily", "--date", (TODAY + timedelta(days=13)).isoformat()]).exit_code == 0
    assert billing(client, world)["status"] == "active"
    result = run_cli(app, ["daily", "--date", (TODAY + timedelta(days=14)).isoformat()])
    assert result.exit_code == 0, result.output
    assert "billing flagged past due: 1" in result.output
    assert billing(client, world)["status"] == "past_due"

    # The participants' money and app go on as before.
    balance_after = client.get("/mobile/v1/balance", headers=world.participant)
    assert (balance_after.status_code, balance_after.json) == (balance_before.status_code, balance_before.json)
    assert client.get("/mobile/v1/me", headers=world.participant).status_code == 200

    # A payment made good lifts past due.
    paid = {**failed_invoice(customer_id), "status": "paid", "amount_paid": 9000}
    assert post_event(client, stripe_event("evt_paid_1", "invoice.paid", paid)).json["outcome"] == "paid"
    view = billing(client, world)
    assert (view["status"], view["past_due_on"], view["invoices"][0]["status"]) == ("active", None, "paid")


def test_a_deleted_subscription_cancels_billing(app, client, world, localstripe):
    customer_id = live_customer(app, world, localstripe)
    subscription_id = stripe_client(localstripe).v1.subscriptions.list({"customer": customer_id}).data[0].id
    body = stripe_event("evt_deleted_1", "customer.subscription.deleted",
                        {"id": subscription_id, "object": "subscription", "customer": customer_id})
    assert post_event(client, body).json["outcome"] == "cancelled"
    assert billing(client, world)["status"] == "cancelled"


def test_tampered_and_stale_webhooks_are_refused_and_change_nothing(app, client, world, localstripe):
    customer_id = live_customer(app, world, localstripe)
    body = stripe_event("evt_failed_2", "invoice.payment_failed", failed_invoice(customer_id))
    signature = stripe_signature(body)
    tampered = body.replace(b"9000", b"1")
    cases = {
        "tampered": (tampered, signature),
        "stale": (body, stripe_signature(body, at=int(time.time()) - 600)),
        "another secret": (body, stripe_signature(body, secret="whsec_someone_else")),
        "unsigned": (body, "t=1,v1="),
    }
    for name, (sent, header) in cases.items():
        problem = assert_problem(post_event(client, sent, header), 400, "webhook-refused")
        assert [e["field"] for e in problem["errors"]] == ["Stripe-Signature"], name
    with app.extensions["plumb"].db.transaction() as session:
        assert session.query(StripeEvent).count() == 0
    assert staff_feed(client, world.sponsor, "billing_payment_failed") == []
    assert billing(client, world)["payment_failed_on"] is None


def test_a_replayed_webhook_is_answered_but_acts_once(app, client, world, localstripe):
    customer_id = live_customer(app, world, localstripe)
    body = stripe_event("evt_failed_3", "invoice.payment_failed", failed_invoice(customer_id))
    assert post_event(client, body).json["duplicate"] is False
    again = post_event(client, body)
    assert again.status_code == 200 and again.json == {"event_id": "evt_failed_3", "duplicate": True,
                                                       "outcome": "duplicate"}
    assert len(staff_feed(client, world.sponsor, "billing_payment_failed")) == 1


def test_two_copies_of_one_event_at_once_act_once(app, client, world, localstripe, served):
    customer_id = live_customer(app, world, localstripe)
    body = stripe_event("evt_failed_4", "invoice.payment_failed", failed_invoice(customer_id))
    headers = {"Content-Type": "application/json", "Stripe-Signature": stripe_signature(body)}
    answers = all_at_once(2, lambda i: served.client.post(WEBHOOK, content=body, headers=headers))
    assert sorted(a.status_code for a in answers) == [200, 200], answers
    assert sorted(a.json()["duplicate"] for a in answers) == [False, True]
    assert len(staff_feed(client, world.sponsor, "billing_payment_failed")) == 1


# ---- billing off --------------------------------------------------------------------------------------------------

def test_without_a_stripe_key_billing_is_off_and_nothing_is_queued(plumb_without_billing):
    app, client, world = plumb_without_billing
    go_live(app, world)
    with app.extensions["plumb"].db.transaction() as session:
        assert session.query(OutboxMessage).filter(OutboxMessage.topic == "billing.stripe").count() == 0
    # The sponsor's screen can say plainly that this server bills no one, not merely that no plan is live yet.
    assert (billing(client, world)["status"], billing(client, world)["configured"]) == ("off", False)
    body = stripe_event("evt_off", "invoice.paid", {"id": "in_1", "customer": "cus_1"})
    assert_problem(post_event(client, body), 404)


def test_the_server_says_at_start_whether_billing_is_on(database_url, tmp_path, caplog, localstripe):
    import logging

    from cryptography.fernet import Fernet

    from backend.config import Config
    from backend.wiring import bootstrap

    base = dict(database_url=database_url, jwt_secret="x" * 44, pii_key=Fernet.generate_key().decode(),
                instance_dir=str(tmp_path))
    with caplog.at_level(logging.INFO, logger="backend.wiring"):
        off = bootstrap(Config(**base))
        on = bootstrap(Config(**base, stripe_api_key=API_KEY, stripe_api_base=localstripe.base_url))
    assert off.stripe is None and "billing.stripe" not in off.deliverers
    assert on.stripe is not None and "billing.stripe" in on.deliverers
    assert "billing is off: no Stripe API key (PLUMB_STRIPE_API_KEY); nothing is sent to Stripe" in caplog.messages
    assert f"billing through Stripe at {localstripe.base_url}" in caplog.messages
    for plumb in (off, on):
        plumb.db.engine.dispose()


def test_each_employer_going_live_gets_its_own_customer_and_subscription_and_the_prices_are_made_once(
        app, client, localstripe, monkeypatch):
    products = app.extensions["plumb"].stripe.client.v1.products
    retrieve, retrieved = products.retrieve, []

    def counted(product_id, *args, **kwargs):
        retrieved.append(product_id)
        return retrieve(product_id, *args, **kwargs)

    monkeypatch.setattr(products, "retrieve", counted)
    advisor = scenario.advisor(app, client)
    employers = []
    for name in ("First Bakery LLC", "Second Bakery LLC"):
        setup = scenario.setup_plan(client, advisor, name=name, sponsor_email=f"{name.split()[0].lower()}@example.com")
        scenario.accept_sponsor(client, setup)  # signs the adoption agreement: the plan goes live
        drain(app.extensions["plumb"])
        employers.append(setup["employer"]["id"])
    for employer_id in employers:
        customer = customer_of(localstripe, employer_id)
        assert list(subscriptions_of(localstripe, customer.id)) == ["plumb-base-5000"]
    assert customer_of(localstripe, employers[0]).id != customer_of(localstripe, employers[1]).id
    # Both on the same prices, which Stripe was asked about once: the first employer's subscription made them, and
    # Plumb never removes one.
    assert retrieved == ["plumb-401k-platform"]
