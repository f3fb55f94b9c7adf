"""Benchmark: the full test of a plan (ADP/ACP with corrections, 402(g), 415(c), top-heavy, coverage) for 1,000
and 10,000 employees: the engine alone, the whole recompute from the database, and the incremental update of the
stored state after one election changes.

    DATABASE_URL=postgresql+psycopg://user@host/db python bench/compliance.py

`full_seconds_*` is the engine running every test on the plan's data; `first_compute_seconds_*` is the plan's
first computation in a fresh process (every date of birth opened, every ratio written); `recompute_seconds_*` is
the worker's next full recompute after one election (gather census, ledger, elections and the projection; test;
store): what every pay run, election and census change asks for; `incremental_ms_*` is one election's update of
the stored state, committed. Each incremental result is checked against the full recompute that follows it. The
last line is one JSON object."""
import gc
import json
import os
import random
import sys
import time
from datetime import date
from decimal import Decimal
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))
sys.path.insert(0, str(HERE))

from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import insert  # noqa: E402

from backend.compliance import service as compliance  # noqa: E402
from backend.compliance.engine_input import Participant, PlanTestInput  # noqa: E402
from backend.compliance.report import run_plan_tests  # noqa: E402
from backend.config import Config  # noqa: E402
from backend.db import migrate, new_id  # noqa: E402
from backend.enrollment.models import DeferralElection, ElectionLine  # noqa: E402
from backend.audit import Actor  # noqa: E402
from backend.identity.service import Principal  # noqa: E402
from backend.plans import service as plans  # noqa: E402
from backend.plans.models import Plan  # noqa: E402
from backend.wiring import bootstrap  # noqa: E402
from scratch import ScratchDatabase  # noqa: E402

AS_OF = date(2026, 8, 14)  # August: the month a sponsor should hear that the plan is on track to fail


def synthetic_input(size: int, rng: random.Random) -> PlanTestInput:
    people = []
    for i in range(size):
        pay = rng.choice([45_000, 60_000, 80_000, 120_000, 200_000, 300_000]) * 100
        rate = Decimal(rng.choice([0, 0, 3, 5, 6, 8, 10, 15]))
        deferral = int(pay * rate / 100)
        people.append(Participant(
            employee_id=f"E{i:06d}", birth_year=1960 + i % 40,
            hire_date=date(2010 + i % 15, 1, 1), compensation_cents=pay, pretax_cents=deferral,
            match_cents=min(deferral, pay * 4 // 100), account_balance_cents=pay // 2,
            ownership_percent=Decimal(30) if i < 2 else Decimal(0), prior_year_compensation_cents=pay,
            officer=i < 5))
    return PlanTestInput(year=2026, participants=tuple(people))


def seeded_plan(plumb, size: int, tag: str):
    vault = plumb.vault
    actor = Actor.system("bench")
    rng = random.Random(size)
    with plumb.db.transaction() as session:
        setup = plans.setup_plan(session, plumb.vault, actor, Principal("usr_bench", "platform_admin", None, None), {
            "template": "traditional",
            "employer": {"name": f"Compliance {tag}", "ein": f"{size % 89 + 10}-{size + 1000000}",
                         "address": {"line1": "1 Main", "city": "Provo", "state": "UT", "postal_code": "84601"},
                         "payroll": {"frequency": "biweekly", "anchor_pay_date": date(2026, 1, 2)}},
            "sponsor_admin": {"email": f"compliance-{tag}@example.com"},
            "plan": {"effective_date": date(2025, 1, 1), "requires_approval": False,
                     "eligibility": {"min_age": 21, "service_months": 0, "entry_frequency": "immediate"}}})
        rows = [{"external_id": f"{tag}{i:06d}", "first_name": "Pat", "last_name": f"W{i}",
                 "date_of_birth": date(1965 + i % 35, 1 + i % 12, 1 + i % 28), "ssn": f"{200000000 + i}",
                 "hire_date": date(2018, 1, 8), "annual_compensation": str(rng.choice([45000, 60000, 80000, 200000])),
                 "ownership_percent": "40" if i == 0 else "0", "officer": i < 3} for i in range(size)]
        result = plans.load_census(session, vault, actor, setup.employer, rows, AS_OF)
        elections, lines = [], []
        for employee in result.employees:
            election_id = new_id("ele")
            elections.append({"id": election_id, "employee_id": employee.id, "plan_id": setup.plan.id, "version": 1,
                              "kind": "election", "status": "approved", "effective_date": date(2026, 1, 2)})
            lines.append({"id": new_id("eln"), "election_id": election_id, "position": 0, "money_type": "pretax",
                          "percent": Decimal(rng.choice([0, 2, 4, 6, 10]))})
        session.execute(insert(DeferralElection), elections)
        session.execute(insert(ElectionLine), lines)
        return setup.plan.id, result.employees[-1]


def main() -> None:
    scratch = ScratchDatabase(os.environ.get("DATABASE_URL"))
    try:
        migrate(scratch.url)
        config = Config(database_url=scratch.url, jwt_secret="bench" * 8, pii_key=Fernet.generate_key().decode())
        plumb = bootstrap(config)
        db = plumb.db
        print(f"database: {db.dialect}")
        figures = {}
        for size in (1000, 10000):
            plan_input = synthetic_input(size, random.Random(size))
            gc.collect()
            started = time.perf_counter()
            result = run_plan_tests(plan_input)
            engine = time.perf_counter() - started
            figures[f"full_seconds_{size}"] = round(engine, 3)
            print(f"  {size:>6,} employees: every test in {engine * 1000:,.0f} ms "
                  f"(ADP {'passes' if result['adp']['passed'] else 'fails'}, {len(result['hce'])} HCEs)")
            plan_id, employee = seeded_plan(plumb, size, f"C{size}")
            # Each timed step starts from a collected heap, so it does not pay for the garbage of the one before.
            gc.collect()
            started = time.perf_counter()
            with db.transaction() as session:
                compliance.recompute(session, plumb.vault, session.get(Plan, plan_id), AS_OF, "bench")
            first = time.perf_counter() - started
            # One election changes: the stored state moves incrementally, in the transaction that approves it.
            with db.transaction() as session:
                session.add(DeferralElection(id=new_id("ele"), employee_id=employee.id, plan_id=plan_id, version=2,
                                             kind="election", status="approved", effective_date=date(2026, 8, 21),
                                             lines=[ElectionLine(position=0, money_type="pretax", percent=Decimal(12))]))
            gc.collect()
            started = time.perf_counter()
            with db.transaction() as session:
                plan = session.get(Plan, plan_id)
                moved = compliance.update_after_election(session, plumb.vault, plan, employee.id, AS_OF)
            incremental = time.perf_counter() - started
            assert moved is not None and moved["refresh"] == "incremental"
            # The worker's full recompute that follows, committed.
            gc.collect()
            started = time.perf_counter()
            with db.transaction() as session:
                full = compliance.recompute(session, plumb.vault, session.get(Plan, plan_id), AS_OF, "bench")
            from_db = time.perf_counter() - started
            same = all(moved["projection"][t][k] == full["projection"][t][k] for t in ("adp", "acp")
                       for k in ("hce_average", "nhce_average", "limit", "passed"))
            assert same, (moved["projection"]["adp"], full["projection"]["adp"])
            figures[f"first_compute_seconds_{size}"] = round(first, 3)
            figures[f"recompute_seconds_{size}"] = round(from_db, 3)
            figures[f"incremental_ms_{size}"] = round(incremental * 1000, 1)
            print(f"          first computation in this process: {first:.3f} s; after one election change, "
                  f"incremental update committed: {incremental * 1000:,.1f} ms; the full recompute that follows "
                  f"(gather, test, store, committed): {from_db:.3f} s (same averages: {same})")
        figures["incremental"] = True
        db.engine.dispose()
        print(json.dumps(figures))
    finally:
        scratch.drop()


if __name__ == "__main__":
    main()
