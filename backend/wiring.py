"""The composition root: the one place that says who handles which event, who delivers which outbox topic, who
runs which kind of job, and which infrastructure (the database, the PII vault, the clock) each of them gets.

`bootstrap` is called by `create_app` (and through it by every `plumb` command, the worker included), by the
benchmarks and by the tests. Nothing registers itself on import: to learn what happens when an election is
approved, read `subscribers` below.
"""
import logging
from dataclasses import dataclass
from functools import partial

from backend.billing import service as billing
from backend.billing.stripe_gateway import StripeGateway
from backend.clock import Clock
from backend.compliance import service as compliance
from backend.config import Config
from backend.db import Database
from backend.enrollment import service as enrollment
from backend.documents import service as documents
from backend.documents import signing_links
from backend.events import (BillingStatusChanged, CensusChanged, ComplianceStateStored, ComplianceWarningRaised,
                            DocumentSigned, ElectionApproved, ElectionAwaitingApproval, ElectionRejected, EventBus,
                            FundPricesChanged, MessageDead, MessageDelivered, MessageRetried, PayRunPosted, PlanRulesChanged, PlanSetUp,
                            PlanWentLive)
from backend.jobs import JobHandler
from backend.oversight import figures as plan_figures
from backend.outbox import BatchDeliverer, Deliverer
from backend.payroll import sync as payroll_sync
from backend.payroll.outbound import OutboundPolicy
from backend.plans import invitations
from backend.plans.pii import PiiVault
from notifications import delivery as notification_delivery
from notifications import files as notification_files
from notifications import participants as participant_notices
from notifications import pay_runs as pay_run_notices
from notifications import plan_documents as plan_document_notices
from notifications import service as notifications
from notifications import staff as staff_notifications
from notifications.email import EMAIL_TOPIC, EmailSender, describe_email_sender, email_sender
from notifications.push import BATCH_SIZE as PUSH_BATCH_SIZE
from notifications.push import PushSender, describe_push_sender, push_sender


log = logging.getLogger(__name__)

@dataclass
class Plumb:
    """Everything a request, a command or a worker needs, built once per application."""

    config: Config
    db: Database
    clock: Clock
    vault: PiiVault
    deliverers: dict[str, Deliverer]
    jobs: dict[str, JobHandler]
    payroll_adapters: dict  # the senders to payroll providers, one per kind, each with its pooled connections
    outbound: OutboundPolicy  # where payroll data may be sent: checked at connection creation and at every call
    push_sender: PushSender  # FCM with credentials, else a sender that only logs
    email_sender: EmailSender  # SMTP with a host, else a sender that writes files under instance/messages/
    stripe: StripeGateway | None  # billing through Stripe; None when no API key is configured (billing off)


def subscribers(vault: PiiVault, billing_settings: billing.BillingSettings | None = None,
                clock: Clock | None = None,
                signing: signing_links.SigningLinkSettings | None = None) -> dict[type, list]:
    """Who reacts to which event, in order, inside the transaction that published it. Billing reacts only when it
    is configured: off, it queues nothing for Stripe."""
    table = {
        # Eligibility first (after noting what participants knew of it): the compliance recompute it asks for reads
        # the new entry dates, and participants hear of an entry date that is new to them.
        CensusChanged: [participant_notices.note_eligibility_before, partial(enrollment.refresh_eligibility, vault=vault),
                        compliance.recompute_after_census, participant_notices.tell_eligible],
        # Every approval moves the stored projection at once, the platform's own (auto-enrollment, escalation)
        # included; the worker's full recompute follows.
        # The participant is told in the same transaction: no approval without its feed entry and push, nor the reverse.
        ElectionApproved: [partial(compliance.move_after_election, vault=vault), notifications.tell_election_approved],
        # The sponsor hears of waiting elections in one batch an hour: the first of the hour schedules it.
        ElectionAwaitingApproval: [staff_notifications.schedule_approvals_batch],
        ElectionRejected: [notifications.tell_election_rejected],
        # Participants hear of their paycheck in the pay run's transaction, or from a job it queues when it is large
        # (notifications/pay_runs.py).
        PayRunPosted: [compliance.recompute_after_pay_run, partial(pay_run_notices.after_pay_run, vault=vault),
                       staff_notifications.tell_pay_run_exceptions],
        ComplianceWarningRaised: [staff_notifications.tell_compliance_warning],
        MessageDelivered: [participant_notices.tell_payroll_acknowledged],
        MessageDead: [staff_notifications.tell_payroll_message_dead],
        # A plan's documents are drawn up from its rules as it opens, and restated when they change; participants
        # hear of the new summary once it exists. When a plan goes live (its first adoption agreement
        # signed), its employer's billing starts (added below when billing is on). The sponsor admin gets a link to
        # sign the new agreement without an account, once it is drawn up.
        PlanSetUp: [documents.draw_up_plan_documents,
                    partial(signing_links.send_on_setup, vault=vault,
                            settings=signing or signing_links.SigningLinkSettings())],
        PlanRulesChanged: [documents.restate_plan_documents, plan_document_notices.tell_summary_updated],
        PlanWentLive: [],
    }
    if billing_settings is not None:
        # The count billed follows approvals and posted pay runs, after everything else they cause.
        table[PlanWentLive].append(partial(billing.start_billing, settings=billing_settings))
        table[ElectionApproved].append(billing.follow_election)
        table[PayRunPosted].append(billing.follow_pay_run)
    # The plan dashboard's and the advisor's book's figures (backend/oversight/figures.py): every event that moves
    # one marks its plan, and the marked plans' figures are refreshed once, just before the transaction commits.
    by_plan = partial(plan_figures.plan_changed, clock=clock or Clock())
    by_employer = partial(plan_figures.employer_changed, clock=clock or Clock())
    for event_type in (PayRunPosted, ElectionApproved, ElectionAwaitingApproval, ElectionRejected, PlanSetUp,
                       PlanWentLive, PlanRulesChanged, ComplianceStateStored, DocumentSigned, BillingStatusChanged,
                       FundPricesChanged):
        table.setdefault(event_type, []).append(by_plan)
    for event_type in (CensusChanged, MessageDead, MessageRetried):
        table.setdefault(event_type, []).append(by_employer)
    return table


def deliverers(db: Database, vault: PiiVault, payroll_adapters: dict, instance_dir: str,
               push_sender: PushSender, email_sender: EmailSender,
               stripe: StripeGateway | None = None) -> dict[str, Deliverer]:
    """Who hands each outbox topic to its receiver (outside any transaction: each reads what it needs in short
    transactions of its own)."""
    table = {
        # By email; until SMS exists, an invitation with only a phone is written as a file under instance/messages/.
        invitations.TOPIC: partial(notification_delivery.deliver_invitation, sender=email_sender,
                                   directory=notification_files.messages_dir(instance_dir), vault=vault),
        payroll_sync.TOPIC: partial(payroll_sync.deliver_deferral_change,
                                    connections=payroll_sync.ActiveConnections(db, vault), adapters=payroll_adapters),
        # Pushes go in loads: one FCM send_each call carries up to 500 of them.
        notifications.PUSH_TOPIC: BatchDeliverer(partial(notification_delivery.deliver_pushes, db=db,
                                                         sender=push_sender), max_batch=PUSH_BATCH_SIZE),
        EMAIL_TOPIC: partial(notification_delivery.deliver_email, db=db, sender=email_sender),
        # Not a receiver outside: the end of an hour's approval batch, held in the outbox until then.
        staff_notifications.APPROVALS_TOPIC: partial(staff_notifications.deliver_approvals_batch, db=db),
    }
    if stripe is not None:
        table[billing.TOPIC] = partial(billing.deliver_to_stripe, db=db, gateway=stripe)
    return table


def jobs(vault: PiiVault) -> dict[str, JobHandler]:
    """Who runs each kind of job (in the job's own transaction, which also records its completion)."""
    return {
        compliance.RECOMPUTE_JOB: partial(compliance.run_recompute, vault=vault),
        pay_run_notices.JOB: pay_run_notices.run_job,
        pay_run_notices.NUDGES_JOB: partial(pay_run_notices.run_nudges_job, vault=vault),
    }


def billing_settings(config: Config) -> billing.BillingSettings | None:
    """The prices and grace period billing runs with, or None when no Stripe API key is configured."""
    if not config.stripe_api_key:
        return None
    return billing.BillingSettings(config.billing_base_fee_cents, config.billing_participant_cents,
                                   config.billing_grace_days)


def signing_link_settings(config: Config) -> signing_links.SigningLinkSettings:
    return signing_links.SigningLinkSettings(config.signing_link_days, config.public_base_url)


def bootstrap(config: Config, clock: Clock | None = None) -> Plumb:
    """The application's object graph: database (with the event bus on its sessions), vault, clock, tables."""
    vault = PiiVault(config.pii_key)
    clock = clock or Clock()
    settings = billing_settings(config)
    bus = EventBus(subscribers(vault, settings, clock, signing_link_settings(config)))
    db = Database(config.database_url, session_info={"bus": bus})
    outbound = OutboundPolicy(allow_loopback_http=config.allow_loopback_http)
    adapters = payroll_sync.payroll_adapters(db, outbound)
    push = push_sender(config)
    log.info(describe_push_sender(push))
    mail = email_sender(config)
    log.info(describe_email_sender(mail))
    gateway = StripeGateway(config.stripe_api_key, config.stripe_api_base) if settings else None
    log.info("billing through Stripe%s" % (f" at {config.stripe_api_base}" if config.stripe_api_base else "")
             if gateway else "billing is off: no Stripe API key (PLUMB_STRIPE_API_KEY); nothing is sent to Stripe")
    return Plumb(config=config, db=db, clock=clock, vault=vault,
                 deliverers=deliverers(db, vault, adapters, config.instance_dir, push, mail, gateway),
                 jobs=jobs(vault), payroll_adapters=adapters, outbound=outbound, push_sender=push, email_sender=mail,
                 stripe=gateway)
