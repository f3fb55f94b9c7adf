"""payroll messages keep no receiver's answer: last_error written before security review H-1 cut to its status

Before H-1 a failed delivery kept up to 300 characters of the receiver's answer in `last_error`, which the sponsor
and the participant are shown; an endpoint could be an internal service. Those texts are cut to what a failure
keeps now (its status and a short classification). Data only: the schema does not change.

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-30 23:00:00.000000
"""
import re

from alembic import op
import sqlalchemy as sa


revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None


def _status(status: str) -> str:
    if status.startswith("3"):
        return f"redirect not followed (HTTP {status} from the payroll endpoint)"
    return f"HTTP {status} from the payroll endpoint"


# The failure texts of the adapters before H-1 that quoted the receiver, and what each keeps now
# (backend/payroll/sync.py and providers.py say the same things the same way).
REWRITES = (
    (re.compile(r"HTTP (\d{3}): .*", re.S), lambda m: _status(m[1])),
    (re.compile(r"Gusto answered HTTP (\d{3}) (reading the employee's benefits|writing the employee's benefit): .*",
                re.S), lambda m: f"Gusto: {_status(m[1])} {m[2]}"),
    (re.compile(r"Finch answered HTTP (\d{3}): .*", re.S), lambda m: f"Finch: {_status(m[1])}"),
    (re.compile(r"Finch job \S+ \(([^)]*)\) failed: .*", re.S), lambda m: f"Finch job ({m[1]}) failed"),
)


def cut(text: str) -> str:
    for pattern, rewrite in REWRITES:
        match = pattern.fullmatch(text)
        if match:
            return rewrite(match)
    return text


def upgrade() -> None:
    bind = op.get_bind()
    messages = sa.table('outbox_messages', sa.column('seq', sa.BigInteger), sa.column('last_error', sa.Text))
    for seq, text in bind.execute(sa.select(messages.c.seq, messages.c.last_error)
                                  .where(messages.c.last_error.is_not(None))).all():
        if cut(text) != text:
            bind.execute(messages.update().where(messages.c.seq == seq).values(last_error=cut(text)))


def downgrade() -> None:
    pass  # what the receivers answered is gone, on purpose
