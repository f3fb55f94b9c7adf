"""Benchmark: post a pay run of 1,000 and of 10,000 employees (validate, post, invest, update balances) through
the provider API, and compare with two floors measured in the same run: a plain executemany insert of as many
ledger-line-shaped rows, and (PostgreSQL only) a plain COPY of the very lines the 10,000-employee run posted.

The COPY floor is what writing those lines costs a table shaped like ledger_lines: a table made with
`LIKE ledger_lines INCLUDING ALL` (its columns, defaults, primary key and indexes) plus ledger_lines' two foreign
keys (to ledger_entries and ledger_accounts, whose rows the run wrote), without ledger_lines' balance trigger; the
lines go in with one COPY in one transaction, commit included. It is measured three times, each into a fresh table,
and the median is the floor; `ratio_to_copy` is the first 10,000-employee run over it. SQLite has no COPY: there
the executemany insert is the only floor and `ratio_to_copy` is null.

    DATABASE_URL=postgresql+psycopg://user@host/db python bench/pay_run.py

Creates a scratch database next to the one in DATABASE_URL (or a temporary SQLite file) and drops it afterwards.
Prints figures as it goes; the last line is one JSON object of the figures."""
import json
import os
import statistics
import sys
import time
import uuid
from dataclasses import replace
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import insert, select, text  # noqa: E402
from sqlalchemy.orm import Session  # noqa: E402
from standardwebhooks.webhooks import Webhook  # noqa: E402

from backend.accounts import service as ledger  # noqa: E402
from backend.accounts.models import LedgerEntry  # noqa: E402
from backend.app import create_app  # noqa: E402
from backend.clock import Clock  # noqa: E402
from backend.config import Config  # noqa: E402
from backend.db import migrate, new_id, utcnow  # noqa: E402
from backend.documents import service as documents  # noqa: E402
from backend.enrollment.models import DeferralElection, ElectionLine  # noqa: E402
from backend.audit import Actor  # noqa: E402
from backend.identity.service import Principal  # noqa: E402
from backend.plans import service as plans  # noqa: E402
from backend.payroll import service as payroll  # noqa: E402
from scratch import ScratchDatabase  # noqa: E402

PAY_DATE = date(2026, 12, 4)
PER_PAYCHECK = 276923


def make_plan(app, employees: int, tag: str) -> tuple[str, str, list[str]]:
    """An employer whose whole census is eligible and elects 6% pre-tax + 2% Roth, with prices loaded."""
    plumb = app.extensions["plumb"]
    vault = plumb.vault
    actor = Actor.system("bench")
    with plumb.db.transaction() as session:
        setup = plans.setup_plan(session, plumb.vault, actor, Principal("usr_bench", "platform_admin", None, None), {
            "template": "safe_harbor_match",
            "employer": {"name": f"Bench {tag}", "ein": f"{abs(hash(tag)) % 90 + 10}-{abs(hash(tag + 'x')) % 9000000 + 1000000}",
                         "address": {"line1": "1 Main", "city": "Provo", "state": "UT", "postal_code": "84601"},
                         "payroll": {"frequency": "biweekly", "anchor_pay_date": date(2026, 1, 2)}},
            "sponsor_admin": {"email": f"bench-{tag}@example.com"},
            "plan": {"effective_date": date(2026, 1, 1)}})
        # A plan takes no pay run before its sponsor signs the adoption agreement.
        documents.sign(session, actor, Principal("usr_bench_sponsor", "sponsor_admin", setup.employer.id, None),
                       documents.current_agreement(session, setup.plan.id), typed_name="Bench Sponsor",
                       title="Owner", consent=True, at=utcnow(), today=date(2026, 11, 24))
        rows = [{"external_id": f"{tag}{i:06d}", "first_name": "Pat", "last_name": f"Worker{i}",
                 "date_of_birth": date(1980 + i % 20, 1 + i % 12, 1 + i % 28), "ssn": f"{100000000 + i}",
                 "hire_date": date(2020, 1, 6), "annual_compensation": "72000.00", "hours": 1800} for i in range(employees)]
        result = plans.load_census(session, vault, actor, setup.employer, rows, date(2026, 11, 24))
        ids = [e.id for e in result.employees]
        election_rows, line_rows = [], []
        for employee_id in ids:
            election_id = new_id("ele")
            election_rows.append({"id": election_id, "employee_id": employee_id, "plan_id": setup.plan.id, "version": 1,
                                  "kind": "election", "status": "approved", "effective_date": date(2026, 1, 2)})
            line_rows += [{"id": new_id("eln"), "election_id": election_id, "position": 0, "money_type": "pretax",
                           "percent": Decimal(6)},
                          {"id": new_id("eln"), "election_id": election_id, "position": 1, "money_type": "roth",
                           "percent": Decimal(2)}]
        session.execute(insert(DeferralElection), election_rows)
        session.execute(insert(ElectionLine), line_rows)
        from backend.accounts.prices import load_prices
        load_prices(session, actor, setup.plan,
                    [{"ticker": f.ticker, "price_date": PAY_DATE, "price": Decimal("25.00")} for f in setup.plan.funds],
                    lambda i: str(i), PAY_DATE)
        connection, secret = payroll.create_connection(session, vault, actor, setup.employer, "pull",
                                                       principal=Principal("usr_bench", "platform_admin", None, None),
                                                       outbound=plumb.outbound)
    return connection.id, secret, [r["external_id"] for r in rows]


def run_payload(external_ids: list[str], run_id: str) -> bytes:
    return json.dumps({"provider_run_id": run_id, "pay_date": PAY_DATE.isoformat(), "period_start": "2026-11-16",
                       "period_end": "2026-11-29", "run_type": "regular", "statements": [
                           {"external_id": x, "gross_pay_cents": PER_PAYCHECK, "plan_compensation_cents": PER_PAYCHECK,
                            "hours": "80", "withholdings": {"pretax": 16615, "roth": 5538}}
                           for x in external_ids]}).encode()


def post_run(client, connection_id: str, secret: str, body: bytes) -> tuple[float, dict]:
    msg_id = f"msg_{uuid.uuid4().hex}"
    now = datetime.now(timezone.utc)
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(int(now.timestamp())),
               "webhook-signature": Webhook(secret).sign(msg_id, now, body.decode()), "Content-Type": "application/json"}
    started = time.perf_counter()
    response = client.post(f"/v1/payroll/connections/{connection_id}/pay-runs", data=body, headers=headers)
    elapsed = time.perf_counter() - started
    if response.status_code != 200:
        raise SystemExit(f"pay run refused: {response.status_code} {response.get_data(as_text=True)[:500]}")
    return elapsed, response.json


def ledger_line_count(engine) -> int:
    with engine.connect() as connection:
        return connection.execute(text("SELECT count(*) FROM ledger_lines")).scalar_one()


def bulk_insert_seconds(engine, lines: int) -> float:
    """The floor: the same number of ledger-line-shaped rows in one plain executemany insert, in one transaction."""
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE bench_lines (id INTEGER PRIMARY KEY, entry_id BIGINT NOT NULL, "
                                "account_id BIGINT NOT NULL, amount_cents BIGINT NOT NULL, units NUMERIC(20,6), "
                                "price NUMERIC(18,6))"))
    # Decimals travel as text to SQLite, as the ledger's own Dec columns send them (sqlite3 cannot bind a Decimal).
    exact = str if engine.dialect.name == "sqlite" else Decimal
    rows = [{"id": i, "entry_id": i // 4, "account_id": i % 977, "amount_cents": 1000 + i, "units": exact("1.234567"),
             "price": exact("25.000000")} for i in range(lines)]
    started = time.perf_counter()
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO bench_lines (id, entry_id, account_id, amount_cents, units, price) "
                                "VALUES (:id, :entry_id, :account_id, :amount_cents, :units, :price)"), rows)
    elapsed = time.perf_counter() - started
    with engine.begin() as connection:
        connection.execute(text("DROP TABLE bench_lines"))
    return elapsed


def copy_seconds(engine, pay_run_id: str, rounds: int = 3) -> float | None:
    """The floor on PostgreSQL: the lines the run posted, COPYed again into a table with ledger_lines' columns,
    indexes and foreign keys (no trigger) in one transaction, commit included; the median of `rounds`, each into
    a fresh table. None elsewhere (no COPY)."""
    if engine.dialect.name != "postgresql":
        return None
    columns = "id, entry_id, account_id, amount_cents, units, price"
    with engine.begin() as connection:
        rows = connection.execute(text("SELECT l.id, l.entry_id, l.account_id, l.amount_cents, l.units, l.price "
                                       "FROM ledger_lines l JOIN ledger_entries e ON e.id = l.entry_id "
                                       "WHERE e.pay_run_id = :run ORDER BY l.id"), {"run": pay_run_id}).all()
    timings = []
    for _ in range(rounds):
        with engine.begin() as connection:
            # INCLUDING ALL brings the primary key, the indexes and the defaults, never foreign keys or triggers.
            connection.execute(text("CREATE TABLE bench_copy_lines (LIKE ledger_lines INCLUDING ALL)"))
            connection.execute(text("ALTER TABLE bench_copy_lines "
                                    "ADD FOREIGN KEY (entry_id) REFERENCES ledger_entries (id), "
                                    "ADD FOREIGN KEY (account_id) REFERENCES ledger_accounts (id)"))
        raw = engine.raw_connection()
        try:
            started = time.perf_counter()
            with raw.driver_connection.cursor() as cursor:
                with cursor.copy(f"COPY bench_copy_lines ({columns}) FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            raw.commit()
            timings.append(time.perf_counter() - started)
        finally:
            raw.close()
        with engine.begin() as connection:
            connection.execute(text("DROP TABLE bench_copy_lines"))
    return statistics.median(timings)


# Migration 0008's balance guard, switched off inside one transaction: PostgreSQL disables its two triggers (and
# enables them again before the commit); SQLite drops its trigger (created again before the commit) on a connection
# whose foreign keys are off, so the deferred foreign key is not checked either.
GUARD_OFF = {"postgresql": ["ALTER TABLE ledger_lines DISABLE TRIGGER ledger_lines_balance",
                            "ALTER TABLE ledger_entries DISABLE TRIGGER ledger_entries_have_lines"],
             "sqlite": ["DROP TRIGGER ledger_lines_balance"]}
GUARD_ON = {"postgresql": ["ALTER TABLE ledger_lines ENABLE TRIGGER ledger_lines_balance",
                           "ALTER TABLE ledger_entries ENABLE TRIGGER ledger_entries_have_lines"]}


def guard_seconds(engine, pay_run_id: str, rounds: int = 5) -> tuple[float, float]:
    """What the database's balance check costs a whole pay run: the run's entries posted again (as their exact
    reversals, through post_entries, 40,002 lines) with the check and without it, alternately, `rounds` times
    each. Returns the median seconds (with, without)."""
    dialect = engine.dialect.name
    with Session(engine) as session:
        entries = session.execute(select(LedgerEntry.id, LedgerEntry.plan_id)
                                  .where(LedgerEntry.pay_run_id == pay_run_id)).all()
        plan_id, entry_ids = entries[0].plan_id, [entry.id for entry in entries]
        template = ledger.reversal_specs(session, entry_ids)
    if dialect == "sqlite":
        with engine.connect() as connection:
            GUARD_ON["sqlite"] = [connection.execute(text(
                "SELECT sql FROM sqlite_master WHERE type = 'trigger' AND name = 'ledger_lines_balance'")).scalar_one()]
    timings: dict[bool, list[float]] = {True: [], False: []}
    for turn in range(rounds):
        for guarded in (True, False):
            specs = [replace(spec, key=f"guard:{turn}:{guarded}:{spec.key}", reverses_entry_id=None)
                     for spec in template]
            with engine.connect() as connection:
                if not guarded and dialect == "sqlite":
                    connection.exec_driver_sql("PRAGMA foreign_keys=OFF")  # taken only outside a transaction
                    connection.commit()
                started = time.perf_counter()
                with Session(bind=connection) as session:
                    for statement in [] if guarded else GUARD_OFF[dialect]:
                        session.execute(text(statement))
                    ledger.post_entries(session, plan_id, specs)
                    for statement in [] if guarded else GUARD_ON[dialect]:
                        session.execute(text(statement))
                    session.commit()
                timings[guarded].append(time.perf_counter() - started)
                if not guarded and dialect == "sqlite":
                    connection.exec_driver_sql("PRAGMA foreign_keys=ON")
                    connection.commit()
    return statistics.median(timings[True]), statistics.median(timings[False])


def main() -> None:
    scratch = ScratchDatabase(os.environ.get("DATABASE_URL"))
    try:
        migrate(scratch.url)
        app = create_app(Config(database_url=scratch.url, jwt_secret="bench" * 8, pii_key=Fernet.generate_key().decode()),
                         clock=Clock(fixed_today=PAY_DATE))
        client = app.test_client()
        engine = app.extensions["plumb"].db.engine
        print(f"database: {engine.dialect.name}")
        figures = {}
        for size in (1000, 10000):
            print(f"setting up a plan of {size:,} employees …", flush=True)
            connection_id, secret, external_ids = make_plan(app, size, f"B{size}")
            before = ledger_line_count(engine)
            seconds, result = post_run(client, connection_id, secret, run_payload(external_ids, f"RUN-{size}"))
            lines = ledger_line_count(engine) - before
            first_run_id = result["pay_run"]["id"]
            assert result["posted"] == size, result["posted"]
            replay_seconds, replay = post_run(client, connection_id, secret, run_payload(external_ids, f"RUN-{size}"))
            assert replay["replayed"] and ledger_line_count(engine) == before + lines
            # The next pay run of the same people: their accounts exist now, as they do for every run but the first.
            next_seconds, _ = post_run(client, connection_id, secret, run_payload(external_ids, f"RUN-{size}-2"))
            figures[f"seconds_{size}_next_run"] = round(next_seconds, 3)
            figures[f"seconds_{size}"] = round(seconds, 3)
            figures[f"ledger_lines_{size}"] = lines
            print(f"  {size:>6,} statements posted in {seconds:.3f} s ({size / seconds:,.0f} statements/s, "
                  f"{lines:,} ledger lines, opening every account); replay answered in {replay_seconds:.3f} s "
                  f"with nothing posted; the next run {next_seconds:.3f} s")
        copied = copy_seconds(engine, first_run_id)
        print("  posting the 10,000-employee run's entries again, with and without the database's balance check …",
              flush=True)
        guarded, unguarded = guard_seconds(engine, first_run_id)
        bulk = bulk_insert_seconds(engine, figures["ledger_lines_10000"])
        figures["bulk_insert_seconds_10000"] = round(bulk, 3)
        figures["statements_per_s"] = round(10000 / figures["seconds_10000"])
        figures["ratio_to_bulk_insert"] = round(figures["seconds_10000"] / bulk, 2)
        figures["growth_10000_over_1000"] = round(figures["seconds_10000"] / figures["seconds_1000"], 2)
        figures["copy_seconds_10000"] = None if copied is None else round(copied, 3)
        figures["ratio_to_copy"] = None if copied is None else round(figures["seconds_10000"] / copied, 2)
        print(f"  plain bulk insert (executemany) of {figures['ledger_lines_10000']:,} ledger lines: {bulk:.3f} s")
        if copied is None:
            print(f"  {engine.dialect.name} has no COPY: the executemany insert above is the only floor")
        else:
            print(f"  plain COPY of the run's {figures['ledger_lines_10000']:,} ledger lines into a table with "
                  f"ledger_lines' indexes and foreign keys: {copied:.3f} s (median of 3); "
                  f"the run took {figures['ratio_to_copy']}x the COPY")
        figures["post_entries_seconds_10000"] = round(guarded, 3)
        figures["balance_check_seconds_10000"] = round(guarded - unguarded, 3)
        print(f"  post_entries of those {figures['ledger_lines_10000']:,} lines: {guarded:.3f} s with the balance "
              f"check, {unguarded:.3f} s without (medians of 5): the check costs {guarded - unguarded:.3f} s")
        print(f"  the 10,000-employee run took {figures['ratio_to_bulk_insert']}x the bulk insert; "
              f"10x the employees took {figures['growth_10000_over_1000']}x the time")
        app.extensions["plumb"].db.engine.dispose()
        print(json.dumps(figures))
    finally:
        scratch.drop()


if __name__ == "__main__":
    main()
