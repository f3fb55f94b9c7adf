"""outbox leases and unique subjects; jobs of their own kind

The outbox gains a lease (`claim`), a unique subject for messages enqueued once per subject, and the two partial
indexes its claim walks (pending messages in line order; each recipient's open ones) in place of three others. Internal work leaves the outbox for its own table: waiting
compliance recomputes become jobs (one per plan year, carrying the newest as-of date).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30 12:00:00
"""
import json
import secrets
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import op

import backend.db

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None

PENDING = sa.text("status = 'pending'")
OPEN = sa.text("status IN ('pending', 'dead')")
ONCE = sa.text("unique_subject IS NOT NULL")
LIVE = sa.text("status IN ('queued', 'running')")
# Subjects that were only ever enqueued once (a 402(g) stop and its resume, a termination's stop): their first
# message holds the subject, as `enqueue(..., once_per_subject=True)` would have.
ONCE_PREFIXES = ("402g_limit:", "402g_resume:", "termination:")

outbox = sa.table("outbox_messages", sa.column("seq", sa.Integer), sa.column("id", sa.String),
                  sa.column("topic", sa.String), sa.column("recipient", sa.String),
                  sa.column("subject_id", sa.String), sa.column("unique_subject", sa.String),
                  sa.column("payload", sa.JSON), sa.column("status", sa.String),
                  sa.column("attempts", sa.Integer), sa.column("next_attempt_at", backend.db.UTCDateTime()),
                  sa.column("created_at", backend.db.UTCDateTime()))
jobs = sa.table("jobs", sa.column("id", sa.String), sa.column("kind", sa.String), sa.column("subject", sa.String),
                sa.column("payload", sa.JSON), sa.column("status", sa.String), sa.column("attempts", sa.Integer),
                sa.column("run_after", backend.db.UTCDateTime()), sa.column("created_at", backend.db.UTCDateTime()))


def _payload(value):
    return json.loads(value) if isinstance(value, str) else value


def upgrade() -> None:
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unique_subject', sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column('claim', sa.String(length=32), nullable=True))
    # The claim walks pending messages in line order and probes each recipient's open ones; no index holds the
    # columns a claim changes (next_attempt_at, claim), so PostgreSQL can update a claimed row in place.
    op.drop_index('ix_outbox_pending', table_name='outbox_messages')
    op.drop_index('ix_outbox_status_seq', table_name='outbox_messages')
    op.drop_index('ix_outbox_messages_recipient', table_name='outbox_messages')  # (recipient, seq) serves
    op.create_index('ix_outbox_pending_line', 'outbox_messages', ['seq'], unique=False,
                    postgresql_where=PENDING, sqlite_where=PENDING)
    op.create_index('ix_outbox_open_lines', 'outbox_messages', ['recipient', 'seq'], unique=False,
                    postgresql_where=OPEN, sqlite_where=OPEN)
    op.create_index('ix_outbox_unique_subject', 'outbox_messages', ['unique_subject'], unique=True,
                    postgresql_where=ONCE, sqlite_where=ONCE)
    if op.get_bind().dialect.name == "postgresql":
        # Room on each page for the claim's and the outcome's new row versions next to the old (HOT updates).
        op.execute("ALTER TABLE outbox_messages SET (fillfactor = 70)")

    op.create_table('jobs',
    sa.Column('seq', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('id', sa.String(length=32), nullable=False),
    sa.Column('kind', sa.String(length=64), nullable=False),
    sa.Column('subject', sa.String(length=128), nullable=True),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('next_payload', sa.JSON(none_as_null=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('run_after', backend.db.UTCDateTime(), nullable=False),
    sa.Column('claim', sa.String(length=32), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', backend.db.UTCDateTime(), nullable=False),
    sa.Column('finished_at', backend.db.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('seq'),
    sa.UniqueConstraint('id')
    )
    op.create_index('ix_jobs_due', 'jobs', ['status', 'run_after'], unique=False)
    op.create_index('ix_jobs_live_subject', 'jobs', ['kind', 'subject'], unique=True,
                    postgresql_where=LIVE, sqlite_where=LIVE)

    connection = op.get_bind()
    first_of_each = (sa.select(sa.func.min(outbox.c.seq))
                     .where(sa.or_(*(outbox.c.subject_id.like(prefix + "%") for prefix in ONCE_PREFIXES)))
                     .group_by(outbox.c.subject_id))
    connection.execute(outbox.update().where(outbox.c.seq.in_(first_of_each))
                       .values(unique_subject=outbox.c.subject_id))

    # Waiting recomputes become jobs, one per plan year with the newest as-of date; done ones were never messages.
    newest: dict[str, dict] = {}
    for (payload,) in connection.execute(sa.select(outbox.c.payload).where(
            outbox.c.topic == "compliance.recompute", outbox.c.status == "pending").order_by(outbox.c.seq)):
        payload = _payload(payload)
        subject = f"{payload['plan_id']}:{payload['as_of'][:4]}"
        if subject not in newest or payload["as_of"] >= newest[subject]["as_of"]:
            newest[subject] = payload
    now = datetime.now(timezone.utc)
    if newest:
        connection.execute(jobs.insert(), [
            {"id": f"job_{secrets.token_hex(10)}", "kind": "compliance.recompute", "subject": subject,
             "payload": payload, "status": "queued", "attempts": 0, "run_after": now, "created_at": now}
            for subject, payload in newest.items()])
    connection.execute(outbox.delete().where(outbox.c.topic == "compliance.recompute"))


def downgrade() -> None:
    connection = op.get_bind()
    # Recomputes still to run go back to the outbox they came from, one per plan.
    waiting: dict[str, dict] = {}
    for (payload,) in connection.execute(sa.select(jobs.c.payload).where(
            jobs.c.kind == "compliance.recompute", jobs.c.status.in_(("queued", "running")))):
        payload = _payload(payload)
        if payload["plan_id"] not in waiting or payload["as_of"] >= waiting[payload["plan_id"]]["as_of"]:
            waiting[payload["plan_id"]] = payload
    now = datetime.now(timezone.utc)
    if waiting:
        connection.execute(outbox.insert(), [
            {"id": f"msg_{secrets.token_hex(10)}", "topic": "compliance.recompute", "recipient": f"compliance:{plan}",
             "subject_id": plan, "payload": payload, "status": "pending", "attempts": 0, "next_attempt_at": now,
             "created_at": now} for plan, payload in waiting.items()])

    op.drop_index('ix_jobs_live_subject', table_name='jobs', postgresql_where=LIVE, sqlite_where=LIVE)
    op.drop_index('ix_jobs_due', table_name='jobs')
    op.drop_table('jobs')
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE outbox_messages RESET (fillfactor)")
    op.drop_index('ix_outbox_unique_subject', table_name='outbox_messages', postgresql_where=ONCE, sqlite_where=ONCE)
    op.drop_index('ix_outbox_open_lines', table_name='outbox_messages', postgresql_where=OPEN, sqlite_where=OPEN)
    op.drop_index('ix_outbox_pending_line', table_name='outbox_messages', postgresql_where=PENDING,
                  sqlite_where=PENDING)
    op.create_index('ix_outbox_messages_recipient', 'outbox_messages', ['recipient'], unique=False)
    op.create_index('ix_outbox_status_seq', 'outbox_messages', ['status', 'seq'], unique=False)
    op.create_index('ix_outbox_pending', 'outbox_messages', ['status', 'next_attempt_at'], unique=False)
    with op.batch_alter_table('outbox_messages', schema=None) as batch_op:
        batch_op.drop_column('claim')
        batch_op.drop_column('unique_subject')
