"""Migration 0009 on a database of its own (SQLite or PostgreSQL, as DATABASE_URL says): waiting recomputes move
from the outbox to the jobs table, once-only subjects are marked, and the way back restores the recomputes."""
import json
from datetime import datetime, timezone

import sqlalchemy as sa
from alembic import command

from backend.db import alembic_config



def message(seq: int, topic: str, subject: str, payload: dict, status: str = "pending") -> dict:
    now = datetime(2026, 11, 24, tzinfo=timezone.utc).replace(tzinfo=None)
    return {"seq": seq, "id": f"msg_{seq:020d}", "topic": topic, "recipient": f"r{seq}", "subject_id": subject,
            "payload": payload, "status": status, "attempts": 0, "next_attempt_at": now, "created_at": now}


def test_waiting_recomputes_become_jobs_and_come_back_on_the_way_down(scratch_url):
    config = alembic_config(scratch_url)
    command.upgrade(config, "0006")
    engine = sa.create_engine(scratch_url)
    outbox = sa.Table("outbox_messages", sa.MetaData(), autoload_with=engine)
    with engine.begin() as connection:
        connection.execute(outbox.insert(), [
            message(1, "compliance.recompute", "pln_1", {"plan_id": "pln_1", "trigger": "census",
                                                         "as_of": "2026-11-24"}),
            message(2, "compliance.recompute", "pln_1", {"plan_id": "pln_1", "trigger": "daily",
                                                         "as_of": "2026-11-25"}),
            message(3, "compliance.recompute", "pln_2", {"plan_id": "pln_2", "trigger": "daily",
                                                         "as_of": "2026-11-20"}, status="delivered"),
            message(4, "payroll.deferral_change", "402g_limit:emp_1:2026", {"action": "stop"}),
            message(5, "payroll.deferral_change", "ele_1", {"action": "set"})])
    command.upgrade(config, "0009")
    with engine.connect() as connection:
        jobs = connection.execute(sa.text("SELECT kind, subject, status, payload FROM jobs")).all()
        assert [(kind, subject, status) for kind, subject, status, _ in jobs] == [
            ("compliance.recompute", "pln_1:2026", "queued")]
        payload = jobs[0][3] if isinstance(jobs[0][3], dict) else json.loads(jobs[0][3])
        assert payload["as_of"] == "2026-11-25"
        assert connection.execute(sa.text("SELECT seq, unique_subject FROM outbox_messages ORDER BY seq")).all() == [
            (4, "402g_limit:emp_1:2026"), (5, None)]

    command.downgrade(config, "0006")
    with engine.connect() as connection:
        restored = connection.execute(sa.text("SELECT topic, subject_id, status FROM outbox_messages "
                                              "WHERE topic = 'compliance.recompute'")).all()
        assert restored == [("compliance.recompute", "pln_1", "pending")]
        assert "jobs" not in sa.inspect(connection).get_table_names()
    command.upgrade(config, "head")
    engine.dispose()
