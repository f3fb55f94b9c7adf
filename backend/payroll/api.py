"""Payroll: provider connections, signed pay runs from providers, CSV pay runs from sponsors, the pull feed, and the
exceptions queue (/v1)."""
import hashlib
import json

from flask import request
from flask.views import MethodView
from marshmallow import ValidationError
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from backend.errors import NotFound, Unauthenticated, ValidationFailed
from backend.identity import policy
from backend.payroll import csv_format, service, sync
from backend.payroll.models import PayRun, PayrollException, ProviderConnection
from backend.payroll.schemas import (ConnectionIn, ConnectionOut, ExceptionArgs, ExceptionOut, FeedAckIn, FeedAckOut,
                                     ProviderEventIn, ProviderEventOut,
                                     FeedArgs, FeedPageOut, OutboxArgs, OutboxMessageOut, PayRunCsvArgs, PayRunIn,
                                     PayRunOut, PayRunResultOut, ResolveIn, load_pay_run)
from backend.plans import service as plans
from backend.plans.models import Employee, Employer
from backend.audit import Actor, record_audit
from backend.outbox import OutboxMessage, acknowledge_pulled, pull_feed_query, retry_dead
from backend.web import context
from backend.web.pagination import PageArgs, page_schema, paginate
from backend.web.problems import flatten_messages
from backend.web.smorest import STANDARD_WEBHOOK_HEADERS, Blueprint
from backend.web.uploads import load_csv_rows, uploaded_text

blp = Blueprint("payroll", __name__, url_prefix="/v1", description="Pay runs, payroll connections, the deferral "
                "feed and the payroll exceptions queue.")


def result_view(session, result: service.PayRunResult) -> dict:
    findings: dict[str, list] = {}
    rows = session.execute(select(Employee.external_id, PayrollException.code, PayrollException.severity,
                                  PayrollException.message)
                           .join(Employee, Employee.id == PayrollException.employee_id)
                           .where(PayrollException.pay_run_id == result.pay_run.id)
                           .order_by(PayrollException.created_at, PayrollException.id))
    for external_id, code, severity, message in rows:
        findings.setdefault(external_id, []).append({"code": code, "severity": severity, "message": message})
    return {"pay_run": result.pay_run, "replayed": result.replayed, "posted": result.posted, "held": result.held,
            "findings": findings}


@blp.route("/employers/<employer_id>/payroll-connections")
class Connections(MethodView):
    @blp.requires(policy.VIEW_EMPLOYERS)
    @blp.response(200, ConnectionOut(many=True))
    def get(self, employer_id):
        """The employer's payroll connections (secrets are never shown again)."""
        session = context.session()
        employer = plans.employer_for(session, context.principal(), employer_id)
        return list(session.scalars(select(ProviderConnection).where(ProviderConnection.employer_id == employer.id)))

    @blp.requires(policy.CONNECT_PAYROLL)
    @blp.idempotent(shown_once="the connection's signing secret",
                    created=lambda answer: f"payroll connection {answer['id']} (listed without its secret)")
    @blp.arguments(ConnectionIn)
    @blp.response(201, ConnectionOut)
    def post(self, body, employer_id):
        """Connect a payroll provider (the sponsor only: it decides where payroll data goes). `endpoint_url` must
        be https to a public address; loopback and private addresses are refused (422). The answer carries the
        signing secret, once, and where to send pay runs."""
        session, principal = context.session(), context.principal()
        employer = plans.employer_for(session, principal, employer_id, write=True)
        connection, secret = service.create_connection(session, context.vault(), context.actor(), employer,
                                                       body["provider"], body["endpoint_url"], body["config"],
                                                       principal=principal, outbound=context.plumb().outbound)
        return {"id": connection.id, "provider": connection.provider, "endpoint_url": connection.endpoint_url,
                "active": connection.active,
                "created_at": connection.created_at, "secret": secret,
                "pay_runs_url": f"/v1/payroll/connections/{connection.id}/pay-runs"}


def _verify_signature(connection: ProviderConnection, raw: bytes):
    """Standard Webhooks: HMAC-SHA256 over id.timestamp.body with the connection's secret, five-minute window.
    Returns the body, parsed as JSON (the package parses it once the signature checks out)."""
    try:
        return Webhook(service.connection_secret(context.vault(), connection)).verify(raw, {
            "webhook-id": request.headers.get("webhook-id", ""),
            "webhook-timestamp": request.headers.get("webhook-timestamp", ""),
            "webhook-signature": request.headers.get("webhook-signature", "")})
    except json.JSONDecodeError:  # the package parses the body only once the signature checks out
        raise ValidationFailed([("body", "is not JSON")]) from None
    except (WebhookVerificationError, ValueError) as error:  # ValueError: headers it cannot even read
        raise Unauthenticated(f"The request's signature was refused: {error}.",
                              [("webhook-signature", str(error))]) from None


@blp.route("/payroll/connections/<connection_id>/pay-runs")
class ProviderPayRuns(MethodView):
    @blp.signed(*STANDARD_WEBHOOK_HEADERS)
    @blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": PayRunIn}}})
    @blp.response(200, PayRunResultOut)
    def post(self, connection_id):
        """A pay run from a provider, signed per the Standard Webhooks specification with the connection's secret
        (stale or bad signatures are refused, nothing stored). Replays return the first result."""
        session = context.session()
        connection = session.get(ProviderConnection, connection_id)
        if connection is None or not connection.active:
            raise NotFound("No such payroll connection.")
        raw = request.get_data()
        document = _verify_signature(connection, raw)
        employer = session.get(Employer, connection.employer_id)
        try:
            payload = load_pay_run(document)
        except ValidationError as error:
            # The run is malformed; list what the schema found and every other problem with it too.
            problems = flatten_messages(error.messages)
            flagged = {field for field, _ in problems}
            problems += [p for p in service.structural_problems(
                document, plans.external_ids(session, employer.id)) if p[0] not in flagged]
            raise ValidationFailed(problems) from None
        actor = Actor(user_id=None, role=f"payroll:{connection.id}", ip=context.client_ip(),
                      user_agent=request.headers.get("User-Agent"))
        result = service.ingest_pay_run(session, context.vault(), actor, employer, payload, via="api",
                                        connection_id=connection.id, today=context.today(),
                                        digest=hashlib.sha256(raw).hexdigest())
        return result_view(session, result)


@blp.route("/employers/<employer_id>/pay-runs")
class PayRuns(MethodView):
    @blp.requires(policy.VIEW_EMPLOYERS)
    @blp.arguments(PageArgs, location="query")
    @blp.response(200, page_schema(PayRunOut, "PayRunPage"))
    def get(self, args, employer_id):
        """Pay runs received, newest first, with status and totals by source."""
        session = context.session()
        employer = plans.employer_for(session, context.principal(), employer_id)
        query = select(PayRun).where(PayRun.employer_id == employer.id)
        rows, cursor = paginate(session, query, [PayRun.received_at, PayRun.id], args["limit"], args["cursor"],
                                lambda r: [r.received_at.isoformat(), r.id], descending=True)
        return {"data": rows, "next_cursor": cursor}


@blp.route("/employers/<employer_id>/pay-runs/csv")
class CsvPayRuns(MethodView):
    @blp.requires(policy.RESOLVE_PAYROLL)
    @blp.arguments(PayRunCsvArgs, location="query")
    @blp.doc(requestBody={"required": True, "content": {"text/csv": {"schema": {"type": "string"}}},
                          "description": "Columns: " + ", ".join(csv_format.COLUMNS) + " (dollars and cents)"})
    @blp.response(200, PayRunResultOut)
    def post(self, args, employer_id):
        """A pay run uploaded by a sponsor without an integrated provider; same validation and replay rules."""
        session = context.session()
        employer = plans.employer_for(session, context.principal(), employer_id, write=True)
        statements, _ = load_csv_rows(uploaded_text(request), csv_format.statement_from_row,
                                      columns=csv_format.COLUMNS, required=csv_format.REQUIRED,
                                      nothing="has no statements")
        payload = {**args, "statements": statements}
        result = service.ingest_pay_run(session, context.vault(), context.actor(), employer, payload, via="csv",
                                        connection_id=None, today=context.today())
        return result_view(session, result)


@blp.route("/pay-runs/<pay_run_id>")
class PayRunResource(MethodView):
    @blp.requires(policy.VIEW_EMPLOYERS)
    @blp.response(200, PayRunOut)
    def get(self, pay_run_id):
        """One pay run version."""
        session = context.session()
        run = session.get(PayRun, pay_run_id)
        if run is None:
            raise NotFound("No such pay run.")
        plans.employer_for(session, context.principal(), run.employer_id, missing="No such pay run.")
        return run


def _employer_page(model, args, employer_id: str, keys, key_of, *also) -> dict:
    """One page of an employer's rows of `model`, filtered by status unless the caller asked for all."""
    session = context.session()
    employer = plans.employer_for(session, context.principal(), employer_id)
    query = select(model).where(model.employer_id == employer.id, *also)
    if args["status"] != "all":
        query = query.where(model.status == args["status"])
    rows, cursor = paginate(session, query, keys, args["limit"], args["cursor"], key_of)
    return {"data": rows, "next_cursor": cursor}


@blp.route("/employers/<employer_id>/payroll-exceptions")
class Exceptions(MethodView):
    @blp.requires(policy.VIEW_EMPLOYERS)
    @blp.arguments(ExceptionArgs, location="query")
    @blp.response(200, page_schema(ExceptionOut, "PayrollExceptionPage"))
    def get(self, args, employer_id):
        """The exceptions queue: what payroll sent that needs the sponsor's eye (open ones by default)."""
        return _employer_page(PayrollException, args, employer_id, [PayrollException.created_at, PayrollException.id],
                              lambda e: [e.created_at.isoformat(), e.id])


@blp.route("/payroll-exceptions/<exception_id>/resolve")
class Resolve(MethodView):
    @blp.requires(policy.RESOLVE_PAYROLL)
    @blp.arguments(ResolveIn)
    @blp.response(200, ExceptionOut)
    def post(self, body, exception_id):
        """Accept, correct or reject. Held money is posted or returned; posted money is reversed, never edited."""
        corrected = body["withholdings"]
        return service.resolve_exception(context.session(), context.vault(), context.actor(), context.principal(),
                                         exception_id, body["action"], body["note"], corrected, context.today())


def _feed_connection(session) -> tuple[ProviderConnection, object]:
    """A polling provider names its connection and signs the request like a pay run; a GET has no body, so it
    signs the body `{}`. The connection, and the body parsed."""
    connection = session.get(ProviderConnection, request.headers.get("plumb-connection-id", ""))
    if connection is None or not connection.active or connection.provider != "pull":
        raise Unauthenticated("Name an active pull connection in the plumb-connection-id header.",
                              [("plumb-connection-id", "is not an active pull connection")])
    return connection, _verify_signature(connection, request.get_data() or b"{}")


@blp.route("/payroll/deferral-changes")
class DeferralFeed(MethodView):
    @blp.signed("plumb-connection-id", *STANDARD_WEBHOOK_HEADERS)
    @blp.arguments(FeedArgs, location="query")
    @blp.response(200, FeedPageOut)
    def get(self, args):
        """For providers that poll: deferral changes for their employer, oldest first, from the cursor on.
        Changes stay in the feed until acknowledged."""
        session = context.session()
        connection, _ = _feed_connection(session)
        query = pull_feed_query(connection.employer_id, sync.TOPIC)
        rows, cursor = paginate(session, query, [OutboxMessage.seq], args["limit"], args["cursor"], lambda m: [m.seq])
        return {"data": [{**sync.change_document(m), "acknowledged": m.status == "delivered"} for m in rows],
                "next_cursor": cursor}


@blp.route("/payroll/deferral-changes/ack")
class DeferralFeedAck(MethodView):
    @blp.signed("plumb-connection-id", *STANDARD_WEBHOOK_HEADERS)
    @blp.response(200, FeedAckOut)
    def post(self):
        """Acknowledge the changes the provider has applied (by message id); acknowledging twice is harmless."""
        session = context.session()
        connection, document = _feed_connection(session)
        try:
            body = FeedAckIn().load(document)
        except ValidationError as error:
            raise ValidationFailed(flatten_messages(error.messages)) from None
        return {"acknowledged": acknowledge_pulled(session, connection.employer_id, body["ids"], {"via": "pull"})}


@blp.route("/employers/<employer_id>/payroll-messages")
class PayrollMessages(MethodView):
    @blp.requires(policy.VIEW_EMPLOYERS)
    @blp.arguments(OutboxArgs, location="query")
    @blp.response(200, page_schema(OutboxMessageOut, "OutboxMessagePage"))
    def get(self, args, employer_id):
        """Messages to payroll and their delivery: dead letters by default (they need the sponsor)."""
        # Payroll's only: the outbox also carries invitations to the employees, which staff neither read nor retry.
        return _employer_page(OutboxMessage, args, employer_id, [OutboxMessage.seq], lambda m: [m.seq],
                              OutboxMessage.topic.like("payroll.%"))


@blp.route("/payroll-messages/<message_id>/retry")
class RetryMessage(MethodView):
    @blp.requires(policy.RESOLVE_PAYROLL)
    @blp.response(200, OutboxMessageOut)
    def post(self, message_id):
        """Send a dead-lettered message again (after fixing what made it fail); it keeps its place in line."""
        session = context.session()
        message = session.scalar(select(OutboxMessage).where(OutboxMessage.id == message_id))
        if message is None or message.employer_id is None or not message.topic.startswith("payroll."):
            raise NotFound("No such message.")
        plans.employer_for(session, context.principal(), message.employer_id, missing="No such message.")
        retry_dead(session, message)
        record_audit(session, context.actor(), "payroll_message.retried", "outbox_message", message.id,
                     employer_id=message.employer_id)
        return message


@blp.route("/payroll/connections/<connection_id>/events")
class ProviderEvents(MethodView):
    @blp.signed(*STANDARD_WEBHOOK_HEADERS, "finch-event-id", "finch-timestamp", "finch-signature",
                optional=(*STANDARD_WEBHOOK_HEADERS, "finch-event-id", "finch-timestamp", "finch-signature"))
    @blp.doc(requestBody={"required": True, "content": {"application/json": {"schema": ProviderEventIn}}})
    @blp.response(200, ProviderEventOut)
    def post(self, connection_id):
        """Webhooks from the provider (e.g. `deferral_change.applied` / `.failed` with `data.message_id`),
        verified on the raw body by the provider's own scheme (Finch's through its SDK, Standard Webhooks for
        the others) and acted on once per event id."""
        session = context.session()
        connection = session.get(ProviderConnection, connection_id)
        if connection is None or not connection.active:
            raise NotFound("No such payroll connection.")
        raw = request.get_data()
        if not request.is_json:
            raise ValidationFailed([("Content-Type", "must be application/json")])
        if connection.provider == "finch":
            event_id = _verify_finch(connection, raw)
            try:
                document = json.loads(raw)
            except ValueError:
                raise ValidationFailed([("body", "is not JSON")]) from None
        else:
            document = _verify_signature(connection, raw)
            event_id = request.headers["webhook-id"]
        try:
            event = ProviderEventIn().load(document)
        except ValidationError as error:
            raise ValidationFailed(flatten_messages(error.messages)) from None
        first, outcome = sync.receive_provider_event(session, connection, event_id, event)
        return {"event_id": event_id, "duplicate": not first, "outcome": outcome}


def _verify_finch(connection: ProviderConnection, raw: bytes) -> str:
    """Finch signs its webhooks its own way (finch-event-id, finch-timestamp, finch-signature)."""
    import finch

    credentials = service.connection_credentials(context.vault(), connection)
    if not credentials.get("webhook_secret"):
        raise Unauthenticated("This Finch connection has no webhook secret configured.")
    client = finch.Finch(access_token=credentials.get("access_token", "unused"),
                         webhook_secret=credentials["webhook_secret"], base_url=connection.endpoint_url)
    try:
        client.webhooks.verify_signature(raw, dict(request.headers))
    except Exception as error:  # the SDK raises plain ValueError / its own errors for every refusal
        raise Unauthenticated(f"The Finch signature was refused: {error}.",
                              [("finch-signature", str(error))]) from None
    return request.headers["finch-event-id"]
