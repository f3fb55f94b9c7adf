"""Typed in-process domain events, and the bus that hands each one to its handlers in the same transaction.

A lower module announces a change (the census changed, an election was approved, a pay run was posted) and higher
modules react inside the caller's transaction, without the lower module importing the higher: eligibility is
recomputed with the census change, and the compliance projection moves with the approval, or neither happens.

Who handles what is written once, in `backend/wiring.py`. A handler is a callable `(session, event)`; whatever
infrastructure it needs (the PII vault, the clock) is bound to it by the wiring, never carried in the event. The
bus travels with the session (`Session.info["bus"]`, set by the wiring on the database's session factory), so a
service publishes with the session it already has.
"""
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from sqlalchemy.orm import Session


@dataclass(frozen=True)
class CensusChanged:
    """Employees were added or changed (census upload, a pay run's new hire, hours or termination)."""

    employer_id: str
    employee_ids: tuple[str, ...]
    on: date


@dataclass(frozen=True)
class ElectionAwaitingApproval:
    """A participant's deferral election waits for the sponsor's approval (the plan requires it)."""

    plan_id: str
    employer_id: str
    election_id: str
    employee_id: str
    on: date


@dataclass(frozen=True)
class ElectionApproved:
    """A deferral election was approved (by the sponsor, automatically, or by the platform's own changes)."""

    plan_id: str
    election_id: str
    employee_id: str
    on: date


@dataclass(frozen=True)
class ElectionRejected:
    """A sponsor rejected a pending deferral election, for the reason given."""

    plan_id: str
    election_id: str
    employee_id: str
    on: date
    reason: str


@dataclass(frozen=True)
class PayRunPosted:
    """A pay run's money reached the ledger, or a payroll exception's resolution changed what it posted."""

    plan_id: str
    pay_run_id: str
    on: date


@dataclass(frozen=True)
class FundPricesChanged:
    """A plan's fund prices were stored, confirmed or corrected: what its participants' money is worth moved."""

    plan_id: str
    on: date


@dataclass(frozen=True)
class PlanWentLive:
    """A plan's first adoption agreement was signed: the plan is in force, and its employer is billed from now on."""

    plan_id: str
    employer_id: str
    on: date


@dataclass(frozen=True)
class ComplianceWarningRaised:
    """The plan's projection turned at risk or narrow: an early warning was stored."""

    plan_id: str
    warning_id: str
    status: str


@dataclass(frozen=True)
class MessageDelivered:
    """A receiver acknowledged an outbox message."""

    message_id: str
    topic: str
    employer_id: str | None
    subject_id: str | None
    result: Mapping


@dataclass(frozen=True)
class MessageDead:
    """An outbox message was given up on (refused for good, or too many failed attempts); the sponsor can retry."""

    message_id: str
    topic: str
    employer_id: str | None
    subject_id: str | None
    reason: str | None


@dataclass(frozen=True)
class PlanSetUp:
    """A plan was opened with its rules (its documents are drawn up from them)."""

    plan_id: str
    employer_id: str
    on: date


@dataclass(frozen=True)
class PlanRulesChanged:
    """A plan's rules were amended: the provisions named changed, in force from `effective_on`."""

    plan_id: str
    employer_id: str
    changed: tuple[str, ...]
    effective_on: date
    on: date


@dataclass(frozen=True)
class ComplianceStateStored:
    """The plan's stored compliance state changed (a full recompute, an election's incremental move, a new warning
    margin): its status is the one now stored."""

    plan_id: str
    year: int
    status: str


@dataclass(frozen=True)
class DocumentSigned:
    """The sponsor signed a version of one of the plan's documents (every signature, not only the first)."""

    plan_id: str
    employer_id: str
    document_id: str
    kind: str
    on: date


@dataclass(frozen=True)
class BillingStatusChanged:
    """An employer's billing status changed (a payment failed past its grace period, was made good, or the
    subscription was cancelled)."""

    employer_id: str
    plan_id: str
    status: str


@dataclass(frozen=True)
class MessageRetried:
    """A dead-lettered outbox message was put back in line at the sponsor's request."""

    message_id: str
    topic: str
    employer_id: str | None


EVENT_TYPES = (CensusChanged, ElectionAwaitingApproval, ElectionApproved, ElectionRejected, PayRunPosted,
               ComplianceWarningRaised, MessageDelivered, MessageDead, PlanSetUp, PlanRulesChanged, PlanWentLive,
               ComplianceStateStored, DocumentSigned, BillingStatusChanged, MessageRetried, FundPricesChanged)

Handler = Callable[[Session, object], None]


class EventBus:
    """Calls each event's handlers in order, in the publisher's transaction: a handler's failure fails the change."""

    def __init__(self, handlers: Mapping[type, list[Handler]]):
        unknown = set(handlers) - set(EVENT_TYPES)
        if unknown:
            raise TypeError(f"not domain events: {sorted(t.__name__ for t in unknown)}")
        self.handlers = {event_type: tuple(handlers.get(event_type, ())) for event_type in EVENT_TYPES}

    def publish(self, session: Session, event) -> None:
        for handler in self.handlers[type(event)]:
            handler(session, event)


def publish(session: Session, event) -> None:
    """Hand `event` to its handlers, in `session`'s transaction."""
    bus = session.info.get("bus")
    if bus is None:
        raise RuntimeError("this session has no event bus: build the database through backend.wiring.bootstrap")
    bus.publish(session, event)
