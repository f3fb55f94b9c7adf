"""Payroll: provider connections, signed pay runs from providers, CSV pay runs and prices from sponsors, and the
exceptions queue (/v1)."""
import csv
import hashlib
import io
import json

from flask import request
from flask.views import MethodView
from flask_smorest import Blueprint
from marshmallow import ValidationError
from sqlalchemy import select
from standardwebhooks.webhooks import Webhook, WebhookVerificationError

from backend.errors import NotFound, Unauthenticated, ValidationFailed
from backend.money import dollars_to_cents
from backend.payroll import service, sync
from backend.payroll.models import PayRun, PayrollException, ProviderConnection
from backend.payroll.schemas import (ConnectionIn, ConnectionOut, ExceptionArgs, ExceptionOut, FeedAckIn, FeedAckOut,
                                     ProviderEventIn, ProviderEventOut,
                                     FeedArgs, FeedPageOut, OutboxArgs, OutboxMessageOut, PayRunCsvArgs, PayRunIn,
                                     PayRunOut, PayRunResultOut, PriceIn, PricesIn, PricesOut, ResolveIn, StatementIn)
from backend.plans import service as plans
from backend.plans.models import Employee, Employer
from backend.accounts import service as ledger
from backend.audit import Actor, record_audit
from backend.outbox import OutboxMessage, acknowledge_pulled, retry_dead
from backend.web import context
from backend.web.context import requires
from backend.web.idempotency import idempotent
from backend.web.pagination import PageArgs, page_schema, paginate
from backend.web.problems import flatten_messages
from backend.web.uploads import csv_rows, read_header, uploaded_text

blp = Blueprint("payroll", __name__, url_prefix="/v1", description="Pay runs, payroll connections, fund prices, "
                "and the payroll exceptions queue.")
STAFF = ("sponsor_admin", "advisor", "platform_admin")
SPONSOR = ("sponsor_admin", "platform_admin")


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
    @requires(*STAFF)
    @blp.response(200, ConnectionOut(many=True))
    def get(self, employer_id):
        """The employer's payroll connections (secrets are never shown again)."""
        session = context.session()
        employer = plans.employer_for(session, context.principal(), employer_id)
        return list(session.scalars(select(ProviderConnection).where(ProviderConnection.employer_id == employer.id)))

    @requires(*STAFF)
    @idempotent
    @blp.arguments(ConnectionIn)
    @blp.response(201, ConnectionOut)
    def post(self, body, employer_id):
        """Connect a payroll provider. The answer carries the signing secret, once, and where to send pay runs."""
        session = context.session()
        employer = plans.employer_for(session, context.principal(), employer_id, write=True)
        connection, secret = service.create_connection(session, context.vault(), context.actor(), employer, body["provider"],
                                                       body["endpoint_url"], body["config"])
        return {"id": connection.id, "provider": connection.provider, "endpoint_url": connection.endpoint_url,
                "active": connection.active,
                "created_at": connection.created_at, "secret": secret,
                "pay_runs_url": f"/v1/payroll/connections/{connection.id}/pay-runs"}


def _verify_signature(connection: ProviderConnection, raw: bytes) -> None:
    """Standard Webhooks: HMAC-SHA256 over id.timestamp.body with the connection's secret, five-minute window."""
    try:
        Webhook(service.connection_secret(context.vault(), connection)).verify(raw, {
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
    @blp.doc(security=[], requestBody={"required": True, "content": {"application/json": {"schema": PayRunIn}}},
             parameters=[{"in": "header", "name": h, "required": True, "schema": {"type": "string"}}
                         for h in ("webhook-id", "webhook-timestamp", "webhook-signature")])
    @blp.response(200, PayRunResultOut)
    def post(self, connection_id):
        """A pay run from a provider, signed per the Standard Webhooks specification with the connection's secret
        (stale or bad signatures are refused, nothing stored). Replays return the first result."""
        session = context.session()
        connection = session.get(ProviderConnection, connection_id)
        if connection is None or not connection.active:
            raise NotFound("No such payroll connection.")
        raw = request.get_data()
        _verify_signature(connection, raw)
        employer = session.get(Employer, connection.employer_id)
        try:
            document = json.loads(raw)
            payload = PayRunIn().load(document)
        except ValidationError as error:
            # The run is malformed; list what the schema found and every other problem with it too.
            problems = flatten_messages(error.messages)
            flagged = {field for field, _ in problems}
            problems += [p for p in service.structural_problems(
                document, service.known_external_ids(session, employer.id)) if p[0] not in flagged]
            raise ValidationFailed(problems) from None
        except ValueError:
            raise ValidationFailed([("body", "is not JSON")]) from None
        actor = Actor(user_id=None, role=f"payroll:{connection.id}", ip=context.client_ip(),
                      user_agent=request.headers.get("User-Agent"))
        result = service.ingest_pay_run(session, context.vault(), actor, employer, payload, via="api",
                                        connection_id=connection.id, today=context.today(),
                                        digest=hashlib.sha256(raw).hexdigest())
        return result_view(session, result)


CSV_COLUMNS = ("external_id", "gross_pay", "plan_compensation", "hours", "pretax", "roth", "pretax_catchup",
               "roth_catchup", "after_tax", "employer_match")


_CSV_COLUMN_OF = {"gross_pay_cents": "gross_pay", "plan_compensation_cents": "plan_compensation",
                  "employer_match_cents": "employer_match"}


def _csv_fields(problems):
    """Schema problems named by the CSV's columns (gross_pay, not gross_pay_cents)."""
    renamed = []
    for field, message in problems:
        for internal, column in _CSV_COLUMN_OF.items():
            field = field.replace(f".{internal}", f".{column}")
        renamed.append((field, message))
    return renamed


def parse_pay_run_csv(text: str, run: dict) -> dict:
    """A sponsor's CSV (dollars and cents) as a pay run payload; every bad line and field is listed."""
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip() for h in read_header(reader)]
    problems = [("header", f"unknown column {h!r}") for h in header if h not in CSV_COLUMNS]
    problems += [("header", f"missing column {c!r}") for c in ("external_id", "gross_pay", "plan_compensation")
                 if c not in header]
    if problems:
        raise ValidationFailed(problems)
    statements = []
    for raw in csv_rows(reader):
        label = f"line {reader.line_num}"
        if None in raw:
            problems.append((label, "has more fields than the header"))
            continue
        row = {k.strip(): (v or "").strip() for k, v in raw.items()}
        statement = {"external_id": row.get("external_id"), "withholdings": {}}
        unreadable = []
        for column, target in (("gross_pay", "gross_pay_cents"), ("plan_compensation", "plan_compensation_cents"),
                               ("employer_match", "employer_match_cents")):
            if row.get(column):
                try:
                    statement[target] = dollars_to_cents(row[column])
                except ValueError as error:
                    unreadable.append((f"{label}.{column}", str(error)))
        for money_type in ("pretax", "roth", "pretax_catchup", "roth_catchup", "after_tax"):
            if row.get(money_type):
                try:
                    statement["withholdings"][money_type] = dollars_to_cents(row[money_type])
                except ValueError as error:
                    unreadable.append((f"{label}.{money_type}", str(error)))
        if row.get("hours"):
            statement["hours"] = row["hours"]
        if unreadable:  # named under the file's own columns, once; the schema would call them missing
            problems.extend(unreadable)
            continue
        try:
            statements.append(StatementIn().load(statement))
        except ValidationError as error:
            problems.extend(_csv_fields(flatten_messages(error.messages, label)))
    if not statements and not problems:
        problems.append(("file", "has no statements"))
    if problems:
        raise ValidationFailed(problems)
    return {**run, "statements": statements}


@blp.route("/employers/<employer_id>/pay-runs")
class PayRuns(MethodView):
    @requires(*STAFF)
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
    @requires(*SPONSOR)
    @blp.arguments(PayRunCsvArgs, location="query")
    @blp.doc(requestBody={"required": True, "content": {"text/csv": {"schema": {"type": "string"}}},
                          "description": "Columns: " + ", ".join(CSV_COLUMNS) + " (dollars and cents)"})
    @blp.response(200, PayRunResultOut)
    def post(self, args, employer_id):
        """A pay run uploaded by a sponsor without an integrated provider; same validation and replay rules."""
        session = context.session()
        employer = plans.employer_for(session, context.principal(), employer_id, write=True)
        payload = parse_pay_run_csv(uploaded_text(request), args)
        result = service.ingest_pay_run(session, context.vault(), context.actor(), employer, payload, via="csv",
                                        connection_id=None, today=context.today())
        return result_view(session, result)


@blp.route("/pay-runs/<pay_run_id>")
class PayRunResource(MethodView):
    @requires(*STAFF)
    @blp.response(200, PayRunOut)
    def get(self, pay_run_id):
        """One pay run version."""
        session = context.session()
        run = session.get(PayRun, pay_run_id)
        if run is None:
            raise NotFound("No such pay run.")
        plans.employer_for(session, context.principal(), run.employer_id)
        return run


def _employer_page(model, args, employer_id: str, keys, key_of) -> dict:
    """One page of an employer's rows of `model`, filtered by status unless the caller asked for all."""
    session = context.session()
    employer = plans.employer_for(session, context.principal(), employer_id)
    query = select(model).where(model.employer_id == employer.id)
    if args["status"] != "all":
        query = query.where(model.status == args["status"])
    rows, cursor = paginate(session, query, keys, args["limit"], args["cursor"], key_of)
    return {"data": rows, "next_cursor": cursor}


@blp.route("/employers/<employer_id>/payroll-exceptions")
class Exceptions(MethodView):
    @requires(*STAFF)
    @blp.arguments(ExceptionArgs, location="query")
    @blp.response(200, page_schema(ExceptionOut, "PayrollExceptionPage"))
    def get(self, args, employer_id):
        """The exceptions queue: what payroll sent that needs the sponsor's eye (open ones by default)."""
        return _employer_page(PayrollException, args, employer_id, [PayrollException.created_at, PayrollException.id],
                              lambda e: [e.created_at.isoformat(), e.id])


@blp.route("/payroll-exceptions/<exception_id>/resolve")
class Resolve(MethodView):
    @requires(*SPONSOR)
    @blp.arguments(ResolveIn)
    @blp.response(200, ExceptionOut)
    def post(self, body, exception_id):
        """Accept, correct or reject. Held money is posted or returned; posted money is reversed, never edited."""
        corrected = body["withholdings"]
        return service.resolve_exception(context.session(), context.vault(), context.actor(), context.principal(),
                                         exception_id, body["action"], body["note"], corrected, context.today())


def _store_prices(plan_id: str, rows: list[dict], row_label) -> dict:
    session = context.session()
    plan = plans.plan_for(session, context.principal(), plan_id)
    stored = ledger.load_prices(session, {f.ticker: f.id for f in plan.funds}, rows, row_label)
    return {"stored": stored, "invested": service.invest_pending(session, plan)}


@blp.route("/plans/<plan_id>/fund-prices")
class FundPrices(MethodView):
    @requires(*STAFF)
    @blp.arguments(PricesIn)
    @blp.response(200, PricesOut)
    def post(self, body, plan_id):
        """Load daily prices; contributions waiting for a price buy their units now."""
        return _store_prices(plan_id, body["prices"], lambda i: f"prices[{i}]")


@blp.route("/plans/<plan_id>/fund-prices/csv")
class FundPricesCsv(MethodView):
    @requires(*STAFF)
    @blp.doc(requestBody={"required": True, "content": {"text/csv": {"schema": {"type": "string"}}},
                          "description": "Columns: ticker, price_date, price"})
    @blp.response(200, PricesOut)
    def post(self, plan_id):
        """Load daily prices from a CSV file (ticker, price_date, price)."""
        reader = csv.DictReader(io.StringIO(uploaded_text(request)))
        read_header(reader)
        rows, labels, problems = [], [], []
        for raw_row in csv_rows(reader):
            label = f"line {reader.line_num}"
            if None in raw_row:
                problems.append((label, "has more fields than the header"))
                continue
            try:
                rows.append(PriceIn().load({k.strip(): (v or "").strip() for k, v in raw_row.items() if k}))
                labels.append(label)
            except ValidationError as error:
                problems.extend(flatten_messages(error.messages, label))
        if problems or not rows:
            raise ValidationFailed(problems or [("file", "has no prices")])
        return _store_prices(plan_id, rows, labels.__getitem__)


def _feed_connection(session) -> ProviderConnection:
    """A polling provider names its connection and signs the request like a pay run; a GET has no body, so it
    signs the body `{}`."""
    connection = session.get(ProviderConnection, request.headers.get("plumb-connection-id", ""))
    if connection is None or not connection.active or connection.provider != "pull":
        raise Unauthenticated("Name an active pull connection in the plumb-connection-id header.",
                              [("plumb-connection-id", "is not an active pull connection")])
    _verify_signature(connection, request.get_data() or b"{}")
    return connection


FEED_HEADERS = [{"in": "header", "name": h, "required": True, "schema": {"type": "string"}}
                for h in ("plumb-connection-id", "webhook-id", "webhook-timestamp", "webhook-signature")]


@blp.route("/payroll/deferral-changes")
class DeferralFeed(MethodView):
    @blp.doc(security=[], parameters=FEED_HEADERS)
    @blp.arguments(FeedArgs, location="query")
    @blp.response(200, FeedPageOut)
    def get(self, args):
        """For providers that poll: deferral changes for their employer, oldest first, from the cursor on.
        Changes stay in the feed until acknowledged."""
        session = context.session()
        connection = _feed_connection(session)
        query = select(OutboxMessage).where(OutboxMessage.employer_id == connection.employer_id,
                                            OutboxMessage.topic == sync.TOPIC,
                                            OutboxMessage.status.in_(("awaiting_pull", "delivered")))
        rows, cursor = paginate(session, query, [OutboxMessage.seq], args["limit"], args["cursor"], lambda m: [m.seq])
        return {"data": [{**sync.change_document(m), "acknowledged": m.status == "delivered"} for m in rows],
                "next_cursor": cursor}


@blp.route("/payroll/deferral-changes/ack")
class DeferralFeedAck(MethodView):
    @blp.doc(security=[], parameters=FEED_HEADERS)
    @blp.response(200, FeedAckOut)
    def post(self):
        """Acknowledge the changes the provider has applied (by message id); acknowledging twice is harmless."""
        session = context.session()
        connection = _feed_connection(session)
        try:
            body = FeedAckIn().load(json.loads(request.get_data() or b"{}"))
        except ValueError:
            raise ValidationFailed([("body", "is not JSON")]) from None
        except ValidationError as error:
            raise ValidationFailed(flatten_messages(error.messages)) from None
        return {"acknowledged": acknowledge_pulled(session, connection.employer_id, body["ids"], {"via": "pull"})}


@blp.route("/employers/<employer_id>/payroll-messages")
class PayrollMessages(MethodView):
    @requires(*STAFF)
    @blp.arguments(OutboxArgs, location="query")
    @blp.response(200, page_schema(OutboxMessageOut, "OutboxMessagePage"))
    def get(self, args, employer_id):
        """Messages to payroll and their delivery: dead letters by default (they need the sponsor)."""
        return _employer_page(OutboxMessage, args, employer_id, [OutboxMessage.seq], lambda m: [m.seq])


@blp.route("/payroll-messages/<message_id>/retry")
class RetryMessage(MethodView):
    @requires(*SPONSOR)
    @blp.response(200, OutboxMessageOut)
    def post(self, message_id):
        """Send a dead-lettered message again (after fixing what made it fail); it keeps its place in line."""
        session = context.session()
        message = session.scalar(select(OutboxMessage).where(OutboxMessage.id == message_id))
        if message is None or message.employer_id is None:
            raise NotFound("No such message.")
        plans.employer_for(session, context.principal(), message.employer_id)
        retry_dead(session, message)
        record_audit(session, context.actor(), "payroll_message.retried", "outbox_message", message.id,
                     employer_id=message.employer_id)
        return message


@blp.route("/payroll/connections/<connection_id>/events")
class ProviderEvents(MethodView):
    @blp.doc(security=[], requestBody={"required": True, "content": {"application/json": {"schema": ProviderEventIn}}})
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
        else:
            _verify_signature(connection, raw)
            event_id = request.headers["webhook-id"]
        try:
            event = ProviderEventIn().load(json.loads(raw))
        except ValueError:
            raise ValidationFailed([("body", "is not JSON")]) from None
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
