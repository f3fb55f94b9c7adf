"""Shapes for pay runs (from providers and sponsors), connections, the deferral feed and the exceptions queue."""
from decimal import Decimal, InvalidOperation

from marshmallow import ValidationError, fields, validate

from backend.payroll.models import RUN_TYPES, WITHHOLDING_TYPES
from backend.plans.schemas import EmployeeIn
from backend.web.pagination import PageArgs
from backend.web.schema import MAX_CENTS, Cents, Schema, at_most_places

# The bounds a statement is read within, shared by the schema and its fast reading (load_pay_run).
MAX_HOURS = 744
HOURS_PLACES = 2
EXTERNAL_ID_LENGTH = 64
MAX_STATEMENTS = 100000


def CentsField(**kw):  # noqa: N802 - a field factory, named like the fields it makes
    """An amount in integer cents, 0 or more (the column type of the same name is `db.Cents`)."""
    return Cents(min=0, max=MAX_CENTS, **kw)


def Withholdings(**kw):  # noqa: N802 - a field factory, named like the fields it makes
    """Deductions by money type, in cents: {"pretax": 16615, "roth": 5538}; one entry per type by construction."""
    return fields.Dict(keys=fields.String(validate=validate.OneOf(WITHHOLDING_TYPES)), values=CentsField(), **kw)


class NewHireIn(EmployeeIn):
    """Census details of a new hire that payroll knows and Plumb does not yet (the statement gives the id)."""

    class Meta:
        exclude = ("external_id",)


class StatementIn(Schema):
    """One employee's pay in this run."""

    external_id = fields.String(required=True, validate=validate.Length(min=1, max=EXTERNAL_ID_LENGTH))
    gross_pay_cents = CentsField(required=True)
    plan_compensation_cents = CentsField(required=True, metadata={"description": "Gross pay less the earning types the plan excludes"})
    hours = fields.Decimal(as_string=True, load_default=None, allow_none=True,
                           validate=[validate.Range(min=0, max=MAX_HOURS,
                                                    error=f"must be between 0 and {MAX_HOURS} hours"),
                                     at_most_places(HOURS_PLACES)])
    withholdings = Withholdings(load_default=dict, metadata={"description": "Cents withheld by money type: pretax, "
                                                            "roth, pretax_catchup, roth_catchup, after_tax"})
    employer_match_cents = CentsField(load_default=None, allow_none=True,
                                 metadata={"description": "Leave out for Plumb to compute the match from the plan formula"})
    ytd = fields.Dict(load_default=None, allow_none=True, metadata={"description": "Year-to-date figures, if the provider keeps them"})
    termination_date = fields.Date(load_default=None, allow_none=True, metadata={"description": "On final pay"})
    employee = fields.Nested(NewHireIn, load_default=None, allow_none=True)


class PayRunFields(Schema):
    """The run-level fields of a pay run, however it arrives."""

    provider_run_id = fields.String(required=True, validate=validate.Length(min=1, max=100))
    version = fields.Integer(load_default=1, validate=validate.Range(min=1, max=1000))
    pay_date = fields.Date(required=True)
    period_start = fields.Date(required=True)
    period_end = fields.Date(required=True)
    run_type = fields.String(load_default="regular", validate=validate.OneOf(RUN_TYPES))


class PayRunIn(PayRunFields):
    """A pay run. Replaying the same run and version changes nothing; a correction is the next version."""

    statements = fields.List(fields.Nested(StatementIn), required=True,
                             validate=validate.Length(min=1, max=MAX_STATEMENTS))


def load_pay_run(document) -> dict:
    """`PayRunIn().load(document)`, the same answer and the same errors, read faster: a statement of the plain
    shape every provider sends (ints for cents, a string or int for hours, no new-hire record or termination date)
    is read here directly, field by field as the schema would; anything else goes through the schema. A run of
    10,000 statements takes 0.21 s through marshmallow's per-field machinery, 0.02 s here."""
    statements = document.get("statements") if isinstance(document, dict) else None
    if not isinstance(statements, list) or not 1 <= len(statements) <= MAX_STATEMENTS:
        return PayRunIn().load(document)
    try:
        run = PayRunFields().load({k: v for k, v in document.items() if k != "statements"})
        loaded, schema = [], None
        for statement in statements:
            plain = _plain_statement(statement)
            if plain is None:
                schema = schema or StatementIn()
                plain = schema.load(statement)
            loaded.append(plain)
    except ValidationError:
        return PayRunIn().load(document)  # the schema names every problem, where it is
    return {**run, "statements": loaded}


_STATEMENT_KEYS = frozenset(("external_id", "gross_pay_cents", "plan_compensation_cents", "hours", "withholdings",
                             "employer_match_cents", "ytd", "termination_date", "employee"))
_WITHHOLDING_TYPES = frozenset(WITHHOLDING_TYPES)
_HOURS_QUANTUM = Decimal(1).scaleb(-HOURS_PLACES)
_ABSENT = object()


def _cents(value) -> bool:
    return type(value) is int and 0 <= value <= MAX_CENTS


def _plain_statement(st) -> dict | None:
    """StatementIn's answer for a statement of the plain shape, or None when the schema must read it. Every test
    here is one the schema makes (StatementIn's fields and validators); exact types only, so no conversion the
    schema would make differently is ever needed."""
    if type(st) is not dict or not _STATEMENT_KEYS.issuperset(st):
        return None
    external_id, gross, comp = st.get("external_id"), st.get("gross_pay_cents"), st.get("plan_compensation_cents")
    if type(external_id) is not str or not 1 <= len(external_id) <= EXTERNAL_ID_LENGTH:
        return None
    if not (_cents(gross) and _cents(comp)):
        return None
    hours = st.get("hours")
    if hours is not None:
        if type(hours) is not str and type(hours) is not int:
            return None
        try:
            hours = Decimal(str(hours))
        except InvalidOperation:
            return None
        if not (hours.is_finite() and 0 <= hours <= MAX_HOURS and hours == hours.quantize(_HOURS_QUANTUM)):
            return None
    withholdings = st.get("withholdings", _ABSENT)
    if withholdings is _ABSENT:
        withholdings = {}
    elif type(withholdings) is not dict or not _WITHHOLDING_TYPES.issuperset(withholdings) \
            or not all(_cents(v) for v in withholdings.values()):
        return None
    else:
        withholdings = dict(withholdings)
    match = st.get("employer_match_cents")
    if match is not None and not _cents(match):
        return None
    ytd = st.get("ytd")
    if ytd is not None:
        if type(ytd) is not dict:
            return None
        ytd = dict(ytd)
    if st.get("termination_date") is not None or st.get("employee") is not None:
        return None
    return {"external_id": external_id, "gross_pay_cents": gross, "plan_compensation_cents": comp, "hours": hours,
            "withholdings": withholdings, "employer_match_cents": match, "ytd": ytd, "termination_date": None,
            "employee": None}


class PayRunCsvArgs(PayRunFields):
    """The run-level fields of a CSV pay run, as query parameters."""


class FindingOut(Schema):
    """Something doubtful about a statement."""

    code = fields.String()
    severity = fields.String(metadata={"description": "hold (not posted until resolved) or warning (posted)"})
    message = fields.String()


class PayRunOut(Schema):
    """A pay run version with its status and totals by source."""

    id = fields.String()
    provider_run_id = fields.String()
    version = fields.Integer()
    pay_date = fields.Date()
    period_start = fields.Date()
    period_end = fields.Date()
    run_type = fields.String()
    status = fields.String(metadata={"description": "posted, posted_with_holds or superseded"})
    received_via = fields.String()
    received_at = fields.DateTime()
    totals = fields.Dict(metadata={"description": "Cents posted by source"})
    statement_count = fields.Integer()


class PayRunResultOut(Schema):
    """What happened to a pay run: posted and held counts, and each doubtful statement's findings."""

    pay_run = fields.Nested(PayRunOut)
    replayed = fields.Boolean()
    posted = fields.Integer()
    held = fields.Integer()
    findings = fields.Dict(keys=fields.String(), values=fields.List(fields.Nested(FindingOut)),
                           metadata={"description": "By employee external id"})


class ConnectionIn(Schema):
    """A payroll provider connection for the employer."""

    provider = fields.String(load_default="plumb_webhook",
                             validate=validate.OneOf(("plumb_webhook", "finch", "gusto", "pull")))
    endpoint_url = fields.Url(load_default=None, allow_none=True, require_tld=False, schemes={"http", "https"},
                              validate=validate.Length(max=500),
                              metadata={"description": "Where deferral changes are sent (push providers): an https "
                                                       "URL to a public address (no loopback, private or link-local "
                                                       "address, checked again after DNS resolution at every call)"})
    config = fields.Dict(load_default=dict, metadata={"description": "Provider specifics, e.g. Finch's access token"})


class ConnectionOut(Schema):
    """A connection; `secret` is shown once, when it is created."""

    id = fields.String()
    provider = fields.String()
    endpoint_url = fields.String(allow_none=True)
    active = fields.Boolean()
    created_at = fields.DateTime()
    secret = fields.String(metadata={"description": "Standard Webhooks signing secret (whsec_…); shown once"})
    pay_runs_url = fields.String()


class ExceptionOut(Schema):
    """A payroll exception in the sponsor's queue."""

    id = fields.String()
    pay_run_id = fields.String()
    statement_id = fields.String()
    employee_id = fields.String()
    code = fields.String(metadata={
        "description": "What was found, a stable code a client may act on and translate (the message is English): "
                       "not_eligible, opted_out, over_402g, deferral_mismatch, paid_after_termination, missing_hours, "
                       "new_hire_added"})
    severity = fields.String(metadata={"description": "hold (the money waits in trust cash) or warning (posted)"})
    message = fields.String(metadata={"description": "The finding in English, for people; say it from code and details"})
    details = fields.Dict(metadata={
        "description": "The figures the message names, by code: not_eligible {entry_date, deferred_cents}; opted_out "
                       "{deferred_cents, opted_out_on}; over_402g {room_cents, deferred_cents, year}; "
                       "deferral_mismatch {money_type, expected_cents, withheld_cents, election_id}; "
                       "paid_after_termination {termination_date, pay_date}; new_hire_added {employee_name}; "
                       "missing_hours {}"})
    status = fields.String()
    resolution_note = fields.String(allow_none=True)
    created_at = fields.DateTime()


class ExceptionArgs(PageArgs):
    """Filter the queue."""

    status = fields.String(load_default="open", validate=validate.OneOf(("open", "accepted", "corrected", "rejected", "all")))


class ResolveIn(Schema):
    """The sponsor's decision on an exception."""

    action = fields.String(required=True, validate=validate.OneOf(("accept", "correct", "reject")))
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=1000))
    withholdings = Withholdings(load_default=None, allow_none=True,
                                metadata={"description": "The corrected deductions by money type, for action=correct"})


class OutboxMessageOut(Schema):
    """A message to payroll and where its delivery stands."""

    id = fields.String()
    topic = fields.String()
    subject_id = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "pending, awaiting_pull, delivered or dead"})
    attempts = fields.Integer()
    last_error = fields.String(allow_none=True, metadata={
        "description": "Why the last attempt failed: a status and a short classification (\"HTTP 503 from the "
                       "payroll endpoint\", \"timed out\", \"address not allowed\"), never the receiver's answer"})
    created_at = fields.DateTime()
    delivered_at = fields.DateTime(allow_none=True)
    payload = fields.Dict()


class OutboxArgs(PageArgs):
    """Filter messages by status."""

    status = fields.String(load_default="dead", validate=validate.OneOf(("pending", "awaiting_pull", "delivered", "dead", "all")))


class FeedArgs(Schema):
    """Where to start reading the feed."""

    cursor = fields.String(load_default=None)
    limit = fields.Integer(load_default=100, validate=validate.Range(min=1, max=1000))


class FeedPageOut(Schema):
    """Deferral changes in order; acknowledge the ones applied."""

    data = fields.List(fields.Dict(), metadata={"description": "Deferral change documents, oldest first"})
    next_cursor = fields.String(allow_none=True)


class FeedAckIn(Schema):
    """Message ids the provider has applied."""

    ids = fields.List(fields.String(), required=True, validate=validate.Length(min=1, max=1000))


class FeedAckOut(Schema):
    """How many were newly acknowledged."""

    acknowledged = fields.Integer()


class ProviderEventOut(Schema):
    """What Plumb did with a provider's webhook."""

    event_id = fields.String()
    duplicate = fields.Boolean(metadata={"description": "Already received: nothing was done again"})
    outcome = fields.String()


class ProviderEventDataIn(Schema):
    """What an event is about."""

    message_id = fields.String(load_default=None, validate=validate.Length(max=64),
                               metadata={"description": "The webhook-id Plumb sent the change with"})
    reason = fields.String(load_default=None, validate=validate.Length(max=2000))
    job_id = fields.String(load_default=None, validate=validate.Length(max=200))
    job_url = fields.String(load_default=None, validate=validate.Length(max=500))
    individual_id = fields.String(load_default=None, validate=validate.Length(max=200))
    status = fields.String(load_default=None, validate=validate.Length(max=64))


class ProviderEventIn(Schema):
    """A provider's webhook: `type` and `data` (Plumb's events carry `data.message_id`); Finch's envelope fields
    are accepted as it sends them."""

    type = fields.String(required=True, validate=validate.Length(min=1, max=100))
    data = fields.Nested(ProviderEventDataIn, load_default=dict)
    id = fields.String(load_default=None, validate=validate.Length(max=200))
    event_id = fields.String(load_default=None, validate=validate.Length(max=200))
    account_id = fields.String(load_default=None, validate=validate.Length(max=200))
    company_id = fields.String(load_default=None, validate=validate.Length(max=200))
    connection_id = fields.String(load_default=None, validate=validate.Length(max=200))
    created_at = fields.String(load_default=None, validate=validate.Length(max=64))

