"""Benchmark: a book of 1,000 plans × 50 employees × 12 biweekly pay runs (600,000 pay statements), built through
the service layer, then the staff's and the phone's reads timed through the HTTP API (issue 14).

    DATABASE_URL=postgresql+psycopg://user@host/db python bench/scale.py [--plans 1000] [--workers 2]
                                                                         [--requests 200] [--rebuild] [--time-only]

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

from sqlalchemy import create_engine, event, insert, select, text  # noqa: E402

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
from backend.plans import service as plans  # noqa: E402
from backend.plans.models import Employer, Plan  # noqa: E402
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
             "date_of_birth": date(1960 + (index + i) % 40, 1 + i % 12, 1 + i % 28),
             "ssn": f"{(index * 100 + i) % 10**9:09d}",
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
            "employer": {"name": employer_name(book, index),
                         "ein": f"{20 + (book == 'small') * 10 + index // 10**7}-{index % 10**7:07d}",
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
            print(f"    {done:,} plans in {elapsed:.0f} s ({done / elapsed:.2f} plans/s; "
                  f"load {os.getloadavg()[0]:.1f})", flush=True)
    for process in processes:
        process.join()
        if process.exitcode:
            raise SystemExit("a build worker failed; rerun to resume")
    return {"seconds": time.perf_counter() - started, "built": len(missing)}


def record_build(url: str, built: dict) -> dict:
    """The book's builds so far, kept in a table of the benchmark's own in the book's database (a resumed build is
    told in parts): their seconds and plans added up, with the worst load average seen at the end of one."""
    engine = create_engine(url)
    with engine.begin() as connection:
        connection.execute(text("CREATE TABLE IF NOT EXISTS bench_scale_builds (finished_at TIMESTAMPTZ DEFAULT now(), "
                                "plans INTEGER, seconds NUMERIC(10, 1), load_average NUMERIC(5, 1))"))
        if built["built"]:
            connection.execute(text("INSERT INTO bench_scale_builds (plans, seconds, load_average) "
                                    "VALUES (:p, :s, :l)"),
                               {"p": built["built"], "s": round(built["seconds"], 1),
                                "l": round(os.getloadavg()[0], 1)})
        plans_built, seconds, load = connection.execute(text(
            "SELECT sum(plans), sum(seconds), max(load_average) FROM bench_scale_builds")).one()
    engine.dispose()
    return {"plans": int(plans_built or 0), "seconds": float(seconds or 0),
            "load_average_at_end": None if load is None else float(load)}


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


# ---- timing ----------------------------------------------------------------------------------------------------

class Captured:
    """The statements the app sends while `on`: a before_cursor_execute listener on the app's engine."""

    def __init__(self, engine):
        self.on, self.statements = False, []
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, _connection, _cursor, statement, parameters, _context, _executemany):
        if self.on:
            self.statements.append((statement, parameters))


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(fraction * len(ordered)) - 1))]


def time_requests(kinds: list[tuple[str, object, list[tuple[str, dict]]]]) -> dict[str, dict]:
    """Each kind is (name, book, [(path, headers)]). After a few unmeasured requests of each (the process's first
    compile of each statement) and one whose statements are kept for EXPLAIN, the kinds' requests are sent in
    turn (the first of each kind, then the second of each, ...), so a change in the machine's load falls on all
    of them alike: the phone's big-book and small-book figures are compared. A first answer of 404 means the
    endpoint is not in this build: that kind is reported missing."""
    results, live = {}, []
    for name, book, requests in kinds:
        first = book.client.get(requests[0][0], headers=requests[0][1])
        if first.status_code != 200:
            # 404: not in this build. Anything else is reported, not timed, and the other kinds go on.
            said = "missing (404)" if first.status_code == 404 else \
                f"FAILED: {first.status_code} {first.get_data(as_text=True)[:300]}"
            print(f"  {name:<40} {said}", flush=True)
            results[name] = {"missing": True, "status": first.status_code}
            continue
        for path, headers in requests[1:4]:
            book.client.get(path, headers=headers)
        book.captured.statements, book.captured.on = [], True
        book.client.get(requests[-1][0], headers=requests[-1][1])
        book.captured.on = False
        results[name] = {"statements": list(book.captured.statements), "samples": []}
        live.append((name, book, requests))
    for i in range(max((len(r) for _, _, r in live), default=0)):
        for name, book, requests in live:
            if i >= len(requests):
                continue
            path, headers = requests[i]
            started = time.perf_counter()
            response = book.client.get(path, headers=headers)
            results[name]["samples"].append((time.perf_counter() - started) * 1000)
            if response.status_code != 200:
                raise SystemExit(f"{name} {path}: {response.status_code} {response.get_data(as_text=True)[:500]}")
    for name, _, _ in live:
        figures = results[name]
        samples = figures.pop("samples")
        figures.update(p50_ms=round(statistics.median(samples), 1), p95_ms=round(percentile(samples, 0.95), 1),
                       requests=len(samples))
        print(f"  {name:<40} p50 {figures['p50_ms']:7.1f} ms   p95 {figures['p95_ms']:7.1f} ms   "
              f"({len(samples)} requests, {len(figures['statements'])} statements each)", flush=True)
    return results


def tokens_for(plumb, user_ids: list[str]) -> dict[str, dict]:
    with plumb.db.transaction() as session:
        pairs = {user_id: identity.issue_tokens(session, plumb.config, session.get(User, user_id))
                 for user_id in user_ids}
        return {user_id: {"Authorization": f"Bearer {pair.access_token}"} for user_id, pair in pairs.items()}


def refresh_all_figures(plumb) -> float | None:
    """Where the oversight figures exist in this build, bring every plan's up to date once (a book built before
    they existed has none); the seconds taken, or None."""
    try:
        from backend.oversight.figures import refresh_plan_figures
    except ImportError:
        return None
    started = time.perf_counter()
    with plumb.db.transaction() as session:
        for plan_id in session.scalars(select(Plan.id)).all():
            refresh_plan_figures(session, plan_id)
    return time.perf_counter() - started


def phone_requests(plumb, count: int, rng: random.Random) -> dict[str, list[tuple[str, dict]]]:
    with plumb.db.transaction() as session:
        users = session.scalars(select(User.id).where(User.role == "participant")).all()
    chosen = rng.sample(users, min(count, len(users)))
    headers = tokens_for(plumb, chosen)
    picks = [headers[rng.choice(chosen)] for _ in range(count)]
    return {kind: [(f"/mobile/v1/{kind}", h) for h in picks]
            for kind in ("balance", "contributions", "balance-history")}


def staff_requests(plumb, client, book: str, count: int, rng: random.Random) -> dict[str, list[tuple[str, dict]]]:
    advisor = advisor_principal(plumb, book)
    headers = tokens_for(plumb, [advisor.user_id])[advisor.user_id]
    with plumb.db.transaction() as session:
        plan_ids = session.scalars(select(Plan.id).join(Employer, Employer.id == Plan.employer_id)
                                   .where(Employer.advisor_user_id == advisor.user_id)).all()
    plans_chosen = [rng.choice(plan_ids) for _ in range(count)]
    later = []  # the book's pages after the first, reached through its cursor
    response = client.get("/v1/book?limit=50", headers=headers)
    while response.status_code == 200 and len(later) < 5 and (cursor := (response.json or {}).get("next_cursor")):
        later.append(f"/v1/book?limit=50&cursor={cursor}")
        response = client.get(later[-1], headers=headers)
    return {"advisor book, first page": [("/v1/book?limit=50", headers)] * count,
            "advisor book, later pages": [(rng.choice(later), headers) for _ in range(count)] if later else
            [("/v1/book?limit=50&cursor=missing", headers)],
            "plan dashboard": [(f"/v1/plans/{p}/dashboard", headers) for p in plans_chosen],
            "plan participants, first page": [(f"/v1/plans/{p}/participants?limit=50", headers) for p in plans_chosen]}


def explain(engine, timed: dict) -> list[dict]:
    """EXPLAIN each distinct statement the timed requests ran (reads only), flagging sequential scans of big
    tables."""
    seen, found = set(), []
    with engine.connect() as connection:
        for name, figures in timed.items():
            for statement, parameters in figures.get("statements", []):
                if not re.match(r"\s*(SELECT|WITH)\b", statement, re.I) or statement in seen:
                    continue
                seen.add(statement)
                plan = [row[0] for row in connection.exec_driver_sql(f"EXPLAIN {statement}", parameters)]
                scans = sorted({table for line in plan for table in BIG_TABLES
                                if re.search(rf"Seq Scan on {table}\b", line)})
                found.append({"request": name, "statement": statement, "plan": plan, "seq_scans": scans})
    return found


def print_explains(found: list[dict]) -> None:
    print("\nEXPLAIN of every distinct statement the timed requests ran:")
    for item in found:
        flag = f"   <-- SEQUENTIAL SCAN of {', '.join(item['seq_scans'])}" if item["seq_scans"] else ""
        print(f"\n[{item['request']}]{flag}\n  {' '.join(item['statement'].split())[:600]}")
        for line in item["plan"]:
            print(f"    {line}")


class Book:
    """One book's app, in this process, with its test client and a listener on its engine."""

    def __init__(self, url: str, name: str):
        self.name, self.url = name, url
        self.app = create_app(config(url), clock=Clock(fixed_today=TODAY))
        self.plumb = self.app.extensions["plumb"]
        self.client = self.app.test_client()
        self.captured = Captured(self.plumb.db.engine)


def time_books(big: Book, small: Book, count: int, seed: int = 14) -> tuple[dict, dict, list[dict]]:
    rng = random.Random(seed)
    if (seconds := refresh_all_figures(big.plumb)) is not None:
        print(f"  big: oversight figures refreshed for every plan in {seconds:.1f} s", flush=True)
    print(f"\nthe staff's views, big book ({count} requests each, load {os.getloadavg()[0]:.1f}):", flush=True)
    staff = time_requests([(name, big, requests)
                           for name, requests in staff_requests(big.plumb, big.client, "big", count, rng).items()])
    phone_big, phone_small = phone_requests(big.plumb, count, rng), phone_requests(small.plumb, count, rng)
    print(f"\nthe phone, big and small book in turn ({count} requests each, load {os.getloadavg()[0]:.1f}):",
          flush=True)
    phone = time_requests([(f"{book.name} phone {kind}", book, requests[kind])
                           for kind in phone_big for book, requests in ((big, phone_big), (small, phone_small))])
    timed = {**staff, **{name.removeprefix("big "): figures for name, figures in phone.items()
                         if name.startswith("big ")}}
    small_timed = {name.removeprefix("small "): figures for name, figures in phone.items()
                   if name.startswith("small ")}
    found = explain(big.plumb.db.engine, timed)
    return timed, small_timed, found

def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--plans", type=int, default=1000)
    parser.add_argument("--small-plans", type=int, default=10)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--rebuild", action="store_true")
    parser.add_argument("--build-only", action="store_true")
    parser.add_argument("--time-only", action="store_true", help="time the books as they are, building nothing")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        raise SystemExit("bench/scale.py needs PostgreSQL: set DATABASE_URL=postgresql+psycopg://…")
    small_url = f"{url}_small"
    figures: dict = {}
    for book, book_url, plans_wanted in (("big", url, args.plans), ("small", small_url, args.small_plans)):
        if not args.time_only:
            ensure_database(book_url, args.rebuild)
        migrate(book_url)
        built = {"seconds": 0.0, "built": 0} if args.time_only else build(book_url, book, plans_wanted, args.workers)
        figures[f"{book}_build_seconds_now"] = round(built["seconds"], 1)
        figures[f"{book}_plans_built_now"] = built["built"]
        figures[f"{book}_build"] = record_build(book_url, built)
        figures[f"{book}_counts"] = counts(book_url)
        print(f"  {book}: {figures[f'{book}_counts']}", flush=True)
    if args.build_only:
        print(json.dumps(figures))
        return
    big_book, small_book = Book(url, "big"), Book(small_url, "small")
    big, small, found = time_books(big_book, small_book, args.requests)
    print_explains(found)
    scans = sorted({f"{item['request']}: {table}" for item in found for table in item["seq_scans"]})
    print(f"\nsequential scans of big tables: {', '.join(scans) if scans else 'none'}")

    def p95(timed: dict, name: str):
        return None if timed[name].get("missing") else timed[name]["p95_ms"]

    for name in big:
        key = re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")
        figures[f"{key}_p50_ms"] = None if big[name].get("missing") else big[name]["p50_ms"]
        figures[f"{key}_p95_ms"] = p95(big, name)
    for name in small:
        figures[f"small_{re.sub(r'[^a-z0-9]+', '_', name.lower()).strip('_')}_p95_ms"] = p95(small, name)
    ratios = {name: p95(big, name) / p95(small, name) for name in small if p95(big, name) and p95(small, name)}
    figures["phone_growth_ratio"] = round(max(ratios.values()), 2) if ratios else None
    figures["phone_growth_worst"] = max(ratios, key=ratios.get) if ratios else None
    figures["advisor_book_p95_ms"] = p95(big, "advisor book, first page")
    figures["advisor_book_later_pages_p95_ms"] = p95(big, "advisor book, later pages")
    figures["plan_dashboard_p95_ms"] = p95(big, "plan dashboard")
    figures["plan_participants_p95_ms"] = p95(big, "plan participants, first page")
    figures["phone_balance_p95_ms"] = p95(big, "phone balance")
    figures["seq_scans_of_big_tables"] = scans
    figures["requests_each"] = args.requests
    figures["load_average_1m"] = round(os.getloadavg()[0], 1)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
