"""Plumb's few calls to Stripe, through stripe-python's `StripeClient`, each write with an idempotency key.

Prices are Stripe *plans* (amount, currency, interval, product), not Price objects: localstripe, the stateful Stripe
stand-in the tests run, has no Price objects, and Stripe still accepts plans. localstripe also refuses a subscription
with more than one item, so an employer has two subscriptions of one item each rather than one of two items: the
base fee (quantity 1), and the per-participant price (quantity = participants with a balance or an election),
created when the first participant counts. Stripe bills both the same way.
"""
from dataclasses import dataclass

import stripe

PRODUCT_ID = "plumb-401k-platform"


def base_plan_id(cents: int) -> str:
    return f"plumb-base-{cents}"


def participant_plan_id(cents: int) -> str:
    return f"plumb-participant-{cents}"


@dataclass(frozen=True)
class Subscribed:
    """A subscription Stripe made: its id and its one item's."""

    subscription_id: str
    item_id: str


class StripeGateway:
    """The calls billing makes to Stripe (or to a stand-in at `api_base`)."""

    def __init__(self, api_key: str, api_base: str = ""):
        self.client = stripe.StripeClient(api_key, base_addresses={"api": api_base} if api_base else {},
                                          max_network_retries=0)  # the outbox retries, with backoff
        # The prices this process has seen made: every employer going live needs them, and asking Stripe again
        # each time cost three requests of a subscription's five.
        self._ensured: set[tuple[int, int]] = set()

    def ensure_plans(self, base_cents: int, participant_cents: int) -> None:
        """The product and the two monthly plans, made once (their ids say their amounts, so a price change is a
        new plan, and the old one keeps billing until moved). Asked once per process and amounts: a plan is never
        deleted in Stripe by Plumb, and one deleted by hand would be refused at the subscription, a permanent
        failure to look into."""
        if (base_cents, participant_cents) in self._ensured:
            return
        try:
            self.client.v1.products.retrieve(PRODUCT_ID)
        except stripe.InvalidRequestError:
            self.client.v1.products.create({"id": PRODUCT_ID, "name": "Plumb 401(k) platform"},
                                           {"idempotency_key": f"product/{PRODUCT_ID}"})
        for plan_id, cents, nickname in ((base_plan_id(base_cents), base_cents, "Base fee"),
                                         (participant_plan_id(participant_cents), participant_cents,
                                          "Per active participant")):
            try:
                self.client.v1.plans.retrieve(plan_id)
            except stripe.InvalidRequestError:
                self.client.v1.plans.create({"id": plan_id, "amount": cents, "currency": "usd", "interval": "month",
                                             "product": PRODUCT_ID, "nickname": nickname},
                                            {"idempotency_key": f"plan/{plan_id}"})
        self._ensured.add((base_cents, participant_cents))

    def create_customer(self, employer_id: str, name: str, key: str) -> str:
        customer = self.client.v1.customers.create(
            {"name": name, "metadata": {"plumb_employer_id": employer_id}}, {"idempotency_key": key})
        return customer.id

    def subscribe(self, customer_id: str, plan_id: str, quantity: int, trial_end: int | None, employer_id: str,
                  key: str) -> Subscribed:
        params = {"customer": customer_id, "items": [{"plan": plan_id, "quantity": quantity}],
                  "metadata": {"plumb_employer_id": employer_id}}
        if trial_end is not None:
            params["trial_end"] = trial_end
        subscription = self.client.v1.subscriptions.create(params, {"idempotency_key": key})
        return Subscribed(subscription.id, subscription["items"]["data"][0]["id"])

    def set_quantity(self, item_id: str, quantity: int, key: str) -> None:
        self.client.v1.subscription_items.update(item_id, {"quantity": quantity}, {"idempotency_key": key})
