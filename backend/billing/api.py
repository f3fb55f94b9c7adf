"""Billing over HTTP: Stripe's webhooks (signed by Stripe, verified by stripe-python on the raw body) and the
sponsor's billing status and invoices."""
import stripe
from flask import request
from flask.views import MethodView

from backend.billing import service
from backend.billing.schemas import BillingOut, StripeEventOut
from backend.errors import DomainError, NotFound
from backend.identity import policy
from backend.plans import service as plans
from backend.web import context
from backend.web.smorest import Blueprint

blp = Blueprint("billing", __name__, url_prefix="/v1", description="Billing the employer through Stripe.")

# Stripe's own default: a signature older (or newer) than this is refused, so a captured event cannot be replayed
# later with its valid signature.
TOLERANCE_SECONDS = 300


class WebhookRefused(DomainError):
    status, title, type_slug = 400, "Webhook refused", "webhook-refused"


@blp.route("/billing/stripe-webhook")
class StripeWebhook(MethodView):
    @blp.doc(security=[], parameters=[{
        "in": "header", "name": "Stripe-Signature", "required": True, "schema": {"type": "string"},
        "description": "Stripe's signature: `t=<unix time>,v1=<hex HMAC-SHA256 of \"t.body\">` with the endpoint's "
                       "secret; more than five minutes off is refused."}])
    @blp.answers(400, "The signature is missing, wrong or outside the five-minute tolerance, or the body is not a "
                      "Stripe event; nothing was done.")
    @blp.answers(404, "Billing is not configured on this server.")
    @blp.response(200, StripeEventOut)
    def post(self):
        """Stripe's events: invoice.paid, invoice.payment_failed (the sponsor admins are told; billing turns past
        due after the grace period) and customer.subscription.deleted. Each event is acted on once: a replay or a
        copy answers 200 with `duplicate` true and does nothing again."""
        config = context.config()
        if not config.stripe_webhook_secret:
            raise NotFound("Billing is not configured on this server.")
        try:
            event = stripe.Webhook.construct_event(request.get_data(), request.headers.get("Stripe-Signature", ""),
                                                   config.stripe_webhook_secret, tolerance=TOLERANCE_SECONDS)
        except stripe.SignatureVerificationError as error:
            raise WebhookRefused("The Stripe signature was refused; nothing was done.",
                                 [("Stripe-Signature", str(error.user_message or error))]) from None
        except ValueError:
            raise WebhookRefused("The body is not a Stripe event; nothing was done.",
                                 [("body", "is not JSON")]) from None
        document = event.to_dict()
        if not isinstance(document.get("id"), str) or not isinstance(document.get("type"), str):
            raise WebhookRefused("The body is not a Stripe event; nothing was done.",
                                 [("body", "needs an id and a type")])
        first, outcome = service.receive_stripe_event(context.session(), document, context.today(),
                                                      config.billing_grace_days)
        return {"event_id": document["id"], "duplicate": not first, "outcome": outcome}


@blp.route("/employers/<employer_id>/billing")
class EmployerBilling(MethodView):
    @blp.requires(policy.VIEW_EMPLOYERS)
    @blp.response(200, BillingOut)
    def get(self, employer_id):
        """The employer's billing status (off / active / past_due / cancelled), the participants billed and its
        invoices, newest first; `configured` false says this server bills no one (no Stripe key)."""
        session = context.session()
        plans.employer_for(session, context.principal(), employer_id)
        return {**service.billing_view(session, employer_id),
                "configured": bool(context.config().stripe_api_key)}
