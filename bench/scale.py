"""Benchmark: a book of 1,000 plans × 50 employees × 12 biweekly pay runs (600,000 pay statements), built through
the service layer, then the staff's and the phone's reads timed through the HTTP API (issue 14).

    DATABASE_URL=postgresql+psycopg://user@host/db python bench/scale.py [--plans 1000] [--workers 2]
                                                                         [--requests 200] [--rebuild]

PostgreSQL only (SQLite is refused: a book of this size is what PostgreSQL is for). Unlike the other benchmarks it
builds into the database in DATABASE_URL itself and keeps it, so a second run reuses the book and only times; the
small book (10 plans, for the phone's growth ratio) goes into a database next to it named `<name>_small`.

The build is resumable: each plan is one transaction (setup, signed agreement, census, approved elections, prices,
its 12 pay runs through payroll's ingest, its participants' accounts), so a plan is either all there or not, and
a rerun builds only the plans missing (found by their employer's name). `--rebuild` drops both databases first.

Figures: for each kind of request, `--requests` requests over randomly chosen plans / participants through the
Flask test client in the process (as the other benchmarks do), p50 and p95 in ms; an endpoint that answers 404
(not in this build) is reported as missing. Then the EXPLAIN of each distinct statement those requests ran, with a
flag on every sequential scan of a big table. The last line is one JSON object of the figures."""
import argparse
import base64
import json
import multiprocessing
import os
import random
import re
import statistics
import sys
import time
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, event, func, insert, select, text  # noqa: E402

from backend.accounts.prices import load_prices  # noqa: E402
from backend.app import create_app  # noqa: E402
from backend.audit import Actor  # noqa: E402
from backend.clock import Clock  # noqa: E402
from backend.compliance.state import recompute  # noqa: E402
from backend.config import Config  # noqa: E402
from backend.db import migrate, new_id, utcnow  # noqa: E402
from backend.documents import service as documents  # noqa: E402
from backend.enrollment.models import DeferralElection, ElectionLine  # noqa: E402
from backend.identity import service as identity  # noqa: E402
from backend.identity.models import User  # noqa: E402
from backend.identity.service import Principal  # noqa: E402
from backend.payroll import service as payroll  # noqa: E402
from backend.payroll.models import PayStatement  # noqa: E402
from backend.plans import service as plans  # noqa: E402
from backend.plans.models import Employee, Employer  # noqa: E402
from backend.plans.schedules import pay_dates_between  # noqa: E402
from backend.plans.setup import default_fund  # noqa: E402

EMPLOYEES = 50
PAY_RUNS = 12
ANCHOR = date(2026, 1, 2)
PAY_DATES = pay_dates_between("biweekly", ANCHOR, ANCHOR, ANCHOR + timedelta(days=14 * PAY_RUNS - 1))
TODAY = PAY_DATES[-1] + timedelta(days=3)  # the day the book is read: a few days after the last pay run
# A fixed PII key: a reused book's sealed fields open on the next run.
PII_KEY = base64.urlsafe_b64encode(b"plumb-scale-benchmark-pii-key-32"[:32]).decode()
ADVISOR_EMAIL = "advisor-{book}@scale.example"
BIG_TABLES = ("ledger_lines", "ledger_entries", "ledger_accounts", "pay_statements", "deferral_elections",
              "election_lines", "employees", "pay_runs", "audit_events", "notifications", "fund_prices")


def config(url: str) -> Config:
    return Config(database_url=url, jwt_secret="scale-bench" * 4, pii_key=PII_KEY, rate_limits_enabled=False,
                  instance_dir=f"/tmp/plumb-scale-{os.getpid()}")


def employer_name(book: str, index: int) -> str:
    return f"Scale {book} {index:04d}"


def census_rows(index: int) -> list[dict]:
    """Fifty people, one of them the owner (an HCE), paid from $36,000 to $150,000."""
    return [{"external_id": f"E{i:03d}", "first_name": "Pat", "last_name": f"Worker{index}-{i}",
             "date_of_birth": date(1960 + (index + i) % 40, 1 + i % 12, 1 + i % 28), "ssn": f"{(index * 100 + i) % 10**9:09d}",
             "email": f"p{index}-{i}@scale.example", "hire_date": date(2018 + i % 6, 1 + i % 12, 1),
             "annual_compensation": f"{36000 + (i * 2311 + index * 97) % 114000}.00", "hours": 2000,
             "ownership_percent": "60" if i == 0 else "0", "officer": i == 0} for i in range(EMPLOYEES)]


def percent_of(index: int, i: int) -> int:
    return 2 + (index + i) % 9  # 2 to 10 percent


def build_plan(plumb, advisor: Principal, book: str, index: int) -> None:
    """One plan, whole, in one transaction."""
    actor = Actor.system("scale-bench")
    vault = plumb.vault
    with plumb.db.transaction() as session:
        setup = plans.setup_plan(session, vault, actor, advisor, {
            "template": "safe_harbor_match",
            "employer": {"name": employer_name(book, index), "ein": f"{20 + (book == 'small') * 10 + index // 10**7}-{index % 10**7:07d}",
                         "address": {"line1": "1 Main St", "city": "Provo", "state": "UT", "postal_code": "84601"},
                         "payroll": {"frequency": "biweekly", "anchor_pay_date": ANCHOR}},
            "sponsor_admin": {"email": f"sponsor-{book}-{index}@scale.example"},
            "plan": {"effective_date": date(2026, 1, 1)}}, today=ANCHOR)
        employer, plan = setup.employer, setup.plan
        documents.sign(session, actor, Principal(f"usr_scale_sponsor_{index}", "sponsor_admin", employer.id, None),
                       documents.current_agreement(session, plan.id), typed_name="Scale Sponsor", title="Owner",
                       consent=True, at=utcnow(), today=ANCHOR - timedelta(days=1))
        rows = census_rows(index)
        people = plans.load_census(session, vault, actor, employer, rows, ANCHOR - timedelta(days=1)).employees
        # Elections approved before the first pay date, in bulk: the approval flow is timed by its own tests.
        elections, lines = [], []
        for i, employee in enumerate(people):
            election_id = new_id("ele")
            elections.append({"id": election_id, "employee_id": employee.id, "plan_id": plan.id, "version": 1,
                              "kind": "election", "status": "approved", "effective_date": ANCHOR})
            lines += [{"id": new_id("eln"), "election_id": election_id, "position": 0, "money_type": "pretax",
                       "percent": Decimal(percent_of(index, i))},
                      {"id": new_id("eln"), "election_id": election_id, "position": 1, "money_type": "roth",
                       "percent": Decimal(1)}]
        session.execute(insert(DeferralElection), elections)
        session.execute(insert(ElectionLine), lines)
        default = default_fund(plan)
        for number, pay_date in enumerate(PAY_DATES):
            price = Decimal("25.00") + Decimal(number) * Decimal("0.15")
            load_prices(session, actor, plan, [{"ticker": default.ticker, "price_date": pay_date, "price": price}],
                        str, pay_date)
            statements = []
            for i, row in enumerate(rows):
                gross = int(Decimal(row["annual_compensation"]) * 100) // 26
                statements.append({"external_id": row["external_id"], "gross_pay_cents": gross,
                                   "plan_compensation_cents": gross, "hours": Decimal("80"),
                                   "withholdings": {"pretax": gross * percent_of(index, i) // 100,
                                                    "roth": gross // 100}})
            period_end = pay_date - timedelta(days=5)
            payroll.ingest_pay_run(session, vault, actor, employer, {
                "provider_run_id": f"scale-{pay_date.isoformat()}", "version": 1, "pay_date": pay_date,
                "period_start": period_end - timedelta(days=13), "period_end": period_end, "run_type": "regular",
                "statements": statements}, via="api", connection_id=None, today=pay_date)
        # Everyone signed up on the phone (a password nobody can use: the benchmark issues their tokens).
        now = utcnow()
        session.execute(insert(User), [
            {"id": new_id("usr"), "email": f"p{index}-{i}@{book}.scale.example", "password_hash": "!",
             "role": "participant", "employer_id": employer.id, "employee_id": e.id, "disabled": False,
             "created_at": now} for i, e in enumerate(people)])
        # The compliance state the worker would compute after the last run (its queued job is left for a worker).
        recompute(session, vault, plan, PAY_DATES[-1], "scale-bench")
        refresh_figures(session, plan.id)


def refresh_figures(session, plan_id: str) -> None:
    """The oversight figures, where that module is in this build (issue 14's precomputed per-plan table)."""
    try:
        from backend.oversight.figures import refresh_plan_figures
    except ImportError:
        return
    refresh_plan_figures(session, plan_id)


def advisor_principal(plumb, book: str) -> Principal:
    with plumb.db.transaction() as session:
        email = ADVISOR_EMAIL.format(book=book)
        user = session.scalar(select(User).where(User.email == email))
        if user is None:
            user = identity.create_user(session, plumb.config, email=email, password="scale-advisor-passphrase-26",
                                        role="advisor")
        return Principal(user.id, "advisor", None, None)


def built_indexes(plumb, book: str) -> set[int]:
    with plumb.db.transaction() as session:
        names = session.scalars(select(Employer.name).where(Employer.name.like(f"Scale {book} %")))
        return {int(name.rsplit(" ", 1)[1]) for name in names}


def build_worker(url: str, book: str, indexes: list[int], progress) -> None:
    app = create_app(config(url), clock=Clock(fixed_today=TODAY))
    plumb = app.extensions["plumb"]
    advisor = advisor_principal(plumb, book)
    for index in indexes:
        build_plan(plumb, advisor, book, index)
        progress.put(index)
    plumb.db.engine.dispose()


def build(url: str, book: str, count: int, workers: int) -> dict:
    """Every plan of the book not built yet, over `workers` processes; the seconds taken and how many built."""
    app = create_app(config(url), clock=Clock(fixed_today=TODAY))
    plumb = app.extensions["plumb"]
    advisor_principal(plumb, book)  # once, before the workers race to create it
    missing = sorted(set(range(count)) - built_indexes(plumb, book))
    plumb.db.engine.dispose()
    if not missing:
        print(f"  {book}: all {count:,} plans already built", flush=True)
        return {"seconds": 0.0, "built": 0}
    print(f"  {book}: building {len(missing):,} of {count:,} plans with {workers} worker(s) …", flush=True)
    started = time.perf_counter()
    context = multiprocessing.get_context("spawn")
    progress = context.Queue()
    processes = [context.Process(target=build_worker, args=(url, book, missing[k::workers], progress))
                 for k in range(min(workers, len(missing)))]
    for process in processes:
        process.start()
    done = 0
    while done < len(missing):
        try:
            progress.get(timeout=5)
        except Exception:  # queue.Empty: check the workers are alive
            if not any(p.is_alive() for p in processes):
                raise SystemExit("a build worker stopped; rerun to resume")
            continue
        done += 1
        if done % 50 == 0 or done == len(missing):
            elapsed = time.perf_counter() - started
            print(f"    {done:,} plans in {elapsed:.0f} s ({done / elapsed:.2f} plans/s; load {os.getloadavg()[0]:.1f})",
                  flush=True)
    for process in processes:
        process.join()
        if process.exitcode:
            raise SystemExit("a build worker failed; rerun to resume")
    return {"seconds": time.perf_counter() - started, "built": len(missing)}


def counts(url: str) -> dict:
    engine = create_engine(url)
    with engine.connect() as connection:
        figures = {name: connection.execute(text(f"SELECT count(*) FROM {name}")).scalar_one()
                   for name in ("plans", "employees", "pay_runs", "pay_statements", "ledger_entries", "ledger_lines")}
    engine.dispose()
    return figures


def ensure_database(url: str, drop: bool) -> None:
    base, name = url.rsplit("/", 1)
    admin = create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if drop:
            connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        if not connection.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}).scalar():
            connection.execute(text(f'CREATE DATABASE "{name}"'))
    admin.dispose()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--plans", type=int, default=1000)
    parser.add_argument("--small-plans", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--build-only", action="store_true")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        raise SystemExit("bench/scale.py needs PostgreSQL: set DATABASE_URL=postgresql+psycopg://…")
    small_url = f"{url}_small"
    figures: dict = {}
    for book, book_url, plans_wanted in (("big", url, args.plans), ("small", small_url, args.small_plans)):
        ensure_database(book_url, args.rebuild)
        migrate(book_url)
        built = build(book_url, book, plans_wanted, args.workers)
        figures[f"{book}_build_seconds"] = round(built["seconds"], 1)
        figures[f"{book}_plans_built_now"] = built["built"]
        figures[f"{book}_counts"] = counts(book_url)
        print(f"  {book}: {figures[f'{book}_counts']}", flush=True)
    if args.build_only:
        print(json.dumps(figures))
        return


if __name__ == "__main__":
    main()
