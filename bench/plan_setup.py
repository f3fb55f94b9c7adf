"""Benchmark: 100 plans set up end to end through the HTTP API, as advisors and sponsors do it, until each is live and
billed in Stripe.

For each plan: an advisor creates it (`POST /v1/plans/setup`), which draws up its documents (the adoption agreement
and the summary plan description in English and Spanish) and emails the sponsor admin a signing link beside their
invitation; the worker delivers both (files under the instance directory, as without SMTP); the sponsor admin opens
the link (`GET /v1/signing/<token>` and its PDF) and signs there (`POST /v1/signing/<token>`), "in the moment", with no
account: their password is not on this path (they accept the invitation later, when they first open the app). The
plan goes live, and the worker makes the employer's Stripe customer and base-fee subscription on localstripe (a
loopback process, as the billing tests start it). The API is served on a threaded server in this process (rate
limits off: a hundred setups from one address); the worker is a `plumb worker` process, the path production uses.

    DATABASE_URL=postgresql+psycopg://user@host/db python bench/plan_setup.py

Figures:
- `plans_per_minute` (goal at least 600): 100 plans (`BENCH_PLANS`) over the seconds from the first setup request
  to the last plan's subscription recorded, with `BENCH_CLIENTS` (4) advisors and their sponsors at once;
- `document_seconds` (goal under 1): drawing up one plan's full set (the three documents a setup makes), the median
  over `BENCH_DOCUMENT_ROUNDS` (7) of the run's plans, each a different plan's provisions;
- the CPU each plan costs in this process (server and clients), the worker and localstripe, and the plans a minute
  the machine's cores could carry at that cost (`cpu_bound_plans_per_minute`, PostgreSQL's share not counted): on a
  shared machine the load average printed beside it says how much of it the run had;
- `signed_document_seconds`: the adoption agreement again with its signature page, as signing draws it (median).

`BENCH_PROFILE=/tmp/setup.prof` runs the server's requests under cProfile, one at a time, and writes the stats there.

PostgreSQL only: SQLite's one writer would measure the lock, not the setup. Creates a scratch database next to the
one in DATABASE_URL and drops it afterwards. Prints figures as it goes; the last line is one JSON object of them."""
import cProfile
import json
import logging
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import date
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
# bench/notifications.py bears the notifications package's name: the project comes first on the path, the
# benchmarks' helpers (scratch) after it.
sys.path[:] = [str(ROOT)] + [p for p in sys.path if Path(p or ".").resolve() != HERE] + [str(HERE)]

import httpx  # noqa: E402
import stripe  # noqa: E402
from cryptography.fernet import Fernet  # noqa: E402
from sqlalchemy import func, select  # noqa: E402
from werkzeug.serving import make_server  # noqa: E402

from backend.app import create_app  # noqa: E402
from backend.billing.models import BillingAccount  # noqa: E402
from backend.clock import Clock  # noqa: E402
from backend.config import Config  # noqa: E402
from backend.db import migrate  # noqa: E402
from backend.documents import service as documents  # noqa: E402
from backend.documents.models import PlanDocument  # noqa: E402
from backend.documents.render import render_document  # noqa: E402
from backend.identity.service import create_user  # noqa: E402
from notifications.files import messages_dir  # noqa: E402
from scratch import ScratchDatabase  # noqa: E402
from tests.support.local_servers import LocalStripe  # noqa: E402
from tests.support.receivers import free_port  # noqa: E402

PLANS = int(os.environ.get("BENCH_PLANS", 100))
CLIENTS = int(os.environ.get("BENCH_CLIENTS", 4))
DOCUMENT_ROUNDS = int(os.environ.get("BENCH_DOCUMENT_ROUNDS", 7))
PASSWORD = "plan-setup-bench-passphrase-2026"
STRIPE_KEY = "sk_test_plumb_bench"
TIMEOUT_SECONDS = 600
# Passwords (the advisors' own, hashed before the clock starts) at the production settings (argon2id, time cost 3,
# 64 MiB) unless BENCH_ARGON2="<time cost>,<KiB>" says otherwise. No password is hashed on a plan's path any more:
# the sponsor signs through the signing link.
ARGON2 = tuple(int(part) for part in os.environ.get("BENCH_ARGON2", "3,65536").split(","))


class Inbox:
    """The signing links the worker delivered, by address (their tokens): it writes each message as a file under the
    instance directory (no SMTP configured); every waiting sponsor shares one reading of the new files."""

    TOKEN = re.compile(r"^\s*Sign here:\s*\S*/app/sign/(\S+)", re.MULTILINE)

    def __init__(self, instance_dir: str):
        self.folder = messages_dir(instance_dir)
        self.seen: set[str] = set()
        self.tokens: dict[str, str] = {}
        self.lock = threading.Lock()

    def token_for(self, address: str, deadline: float) -> str:
        while True:
            with self.lock:
                if address not in self.tokens:
                    self._read_new()
                if address in self.tokens:
                    return self.tokens[address]
            if time.monotonic() > deadline:
                raise TimeoutError(f"no signing link reached {address}")
            time.sleep(0.005)

    def _read_new(self) -> None:
        if not self.folder.exists():
            return
        for path in self.folder.glob("*.txt"):
            if path.name in self.seen:
                continue
            self.seen.add(path.name)
            text = path.read_text()
            token = self.TOKEN.search(text)
            to = next((line[4:] for line in text.splitlines() if line.startswith("To: ")), "")
            if token:
                for address in to.split(", "):
                    self.tokens[address] = token.group(1)


class Profiled:
    """The server's requests under one cProfile profiler, one request at a time (a profiler follows one thread):
    `BENCH_PROFILE=<file>` writes its stats there, for `python -m pstats`. The figures it prints are not the
    benchmark's."""

    def __init__(self, wsgi_app):
        self.wsgi_app, self.profiler, self.lock = wsgi_app, cProfile.Profile(), threading.Lock()

    def __call__(self, environ, start_response):
        with self.lock:
            self.profiler.enable()
            try:
                return list(self.wsgi_app(environ, start_response))
            finally:
                self.profiler.disable()


def plan_request(i: int) -> dict:
    """A plan of the kind the seed's advisor sets up: a safe-harbor match, with loans and hardship, every few
    a different template so the documents vary."""
    template = ("safe_harbor_match", "traditional", "starter", "safe_harbor_match")[i % 4]
    plan = {"effective_date": "2026-01-01"}
    if template != "starter":
        plan.update(loans_allowed=i % 2 == 0, hardship_allowed=i % 3 == 0)
    return {"template": template,
            "employer": {"name": f"Bench Employer {i:03d} LLC", "ein": f"{10 + i // 10_000_000:02d}-{i:07d}",
                         "address": {"line1": f"{i} Main St", "city": "Provo", "state": "UT",
                                     "postal_code": "84601"},
                         "payroll": {"frequency": "biweekly", "anchor_pay_date": "2026-01-02"}},
            "sponsor_admin": {"email": f"sponsor{i}@bench.example"}, "plan": plan}


def bearer(response) -> dict:
    assert response.status_code in (200, 201), response.text[:500]
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


STEPS = ("setup", "link", "read", "sign")


def set_up_one(client: httpx.Client, advisor: dict, inbox: Inbox, i: int, steps: dict[str, list[float]]) -> str:
    """One plan, from the advisor's request to the sponsor's signature through the emailed link: the plan's id.
    Each step's seconds go to `steps`."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    clock = [time.perf_counter()]

    def lap(step: str) -> None:
        now = time.perf_counter()
        steps[step].append(now - clock[0])
        clock[0] = now

    request = plan_request(i)
    setup = client.post("/v1/plans/setup", headers=advisor, json=request)
    assert setup.status_code == 201, setup.text[:500]
    plan_id = setup.json()["plan"]["id"]
    lap("setup")
    token = inbox.token_for(request["sponsor_admin"]["email"], deadline)
    lap("link")
    shown = client.get(f"/v1/signing/{token}")
    assert shown.status_code == 200, shown.text[:500]
    assert shown.json()["title"] == "Adoption Agreement" and shown.json()["version"] == 1, shown.json()
    pdf = client.get(f"/v1/signing/{token}/pdf")
    assert pdf.status_code == 200 and pdf.headers["content-type"] == "application/pdf", pdf.text[:500]
    lap("read")
    signed = client.post(f"/v1/signing/{token}", headers={"User-Agent": "PlumbBench/1.0"},
                         json={"typed_name": f"Sponsor {i}", "title": "Owner", "consent_to_electronic_records": True})
    assert signed.status_code == 201, signed.text[:500]
    assert signed.json()["document_sha256"] == shown.json()["sha256"], signed.json()
    lap("sign")
    return plan_id


def cpu_seconds(pid: int | None = None) -> float:
    """User and system CPU seconds a process (this one by default) has used so far, from /proc."""
    if pid is None:
        usage = resource.getrusage(resource.RUSAGE_SELF)
        return usage.ru_utime + usage.ru_stime
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def subscribed_count(plumb) -> int:
    with plumb.db.transaction() as session:
        return session.scalar(select(func.count()).select_from(BillingAccount).where(
            BillingAccount.base_subscription_id.is_not(None)))


def check_stripe(base_url: str, expected: int) -> None:
    """localstripe holds one customer per employer, each with its base-fee subscription."""
    client = stripe.StripeClient(STRIPE_KEY, base_addresses={"api": base_url})
    customers = client.v1.customers.list({"limit": 100})
    found = list(customers.auto_paging_iter())
    ours = [c for c in found if c.metadata.to_dict().get("plumb_employer_id")]
    assert len(ours) == expected, (len(ours), expected)
    for customer in ours[:5]:
        subscriptions = client.v1.subscriptions.list({"customer": customer.id}).data
        assert [s["items"]["data"][0]["plan"]["id"] for s in subscriptions] == ["plumb-base-5000"], subscriptions


def full_set(provisions: dict) -> None:
    """What drawing up a new plan renders: each kind of documents.SET in each of its languages, version 1."""
    for kind, languages in documents.SET:
        for language in languages:
            render_document(kind, language, provisions, version=1)


def document_timings(plumb, plan_ids: list[str]) -> tuple[list[float], list[float]]:
    """Seconds to draw up a plan's full set, and to draw its agreement with a signature page, for different plans."""
    with plumb.db.transaction() as session:
        agreements = session.scalars(select(PlanDocument).where(
            PlanDocument.plan_id.in_(plan_ids[:DOCUMENT_ROUNDS]),
            PlanDocument.kind == documents.ADOPTION_AGREEMENT)).all()
        provisions = [(a.provisions, a.sha256) for a in agreements]
    sets, signed = [], []
    for rules, sha in provisions:
        started = time.perf_counter()
        full_set(rules)
        sets.append(time.perf_counter() - started)
        started = time.perf_counter()
        render_document(documents.ADOPTION_AGREEMENT, "en", rules, version=1, signature={
            "name": "Pat Sponsor", "title": "Owner", "at": "2026-12-01 12:00:00 UTC", "ip": "127.0.0.1",
            "agent": "PlumbBench/1.0", "sha256": sha})
        signed.append(time.perf_counter() - started)
    return sets, signed


def main() -> None:
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith("postgresql"):
        sys.exit("bench/plan_setup.py needs PostgreSQL in DATABASE_URL (postgresql+psycopg://…); SQLite's one "
                 "writer would measure its lock, not the setup")
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # a line per request would drown the figures
    scratch = ScratchDatabase(url)
    instance = tempfile.TemporaryDirectory()
    localstripe = LocalStripe(Path(instance.name), free_port()).start()
    server = worker = plumb = None
    try:
        migrate(scratch.url)
        pii_key, jwt_secret = Fernet.generate_key().decode(), "bench" * 8
        config = Config(database_url=scratch.url, jwt_secret=jwt_secret, pii_key=pii_key, rate_limits_enabled=False,
                        password_time_cost=ARGON2[0], password_memory_kib=ARGON2[1],
                        allow_loopback_http=True, instance_dir=instance.name, stripe_api_key=STRIPE_KEY,
                        stripe_api_base=localstripe.base_url)
        app = create_app(config, clock=Clock(fixed_today=date.today()))
        plumb = app.extensions["plumb"]
        print(f"database: {plumb.db.dialect}; localstripe at {localstripe.base_url}")
        with plumb.db.transaction() as session:
            for a in range(CLIENTS):
                create_user(session, config, email=f"advisor{a}@bench.example", password=PASSWORD, role="advisor")
        profile = os.environ.get("BENCH_PROFILE")
        if profile:
            app.wsgi_app = Profiled(app.wsgi_app)
        server = make_server("127.0.0.1", 0, app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        base_url = f"http://127.0.0.1:{server.server_port}"
        env = {**os.environ, "DATABASE_URL": scratch.url, "PLUMB_PII_KEY": pii_key, "PLUMB_JWT_SECRET": jwt_secret,
               "PLUMB_INSTANCE_DIR": instance.name, "PLUMB_STRIPE_API_KEY": STRIPE_KEY,
               "PLUMB_STRIPE_API_BASE": localstripe.base_url, "PLUMB_ALLOW_LOOPBACK_HTTP": "1"}
        worker = subprocess.Popen([str(Path(sys.executable).parent / "plumb"), "worker"], env=env,
                                  stderr=subprocess.DEVNULL)
        clients = [httpx.Client(base_url=base_url, timeout=120) for _ in range(CLIENTS)]
        advisors = [bearer(clients[a].post("/v1/auth/login", json={"email": f"advisor{a}@bench.example",
                                                                    "password": PASSWORD}))
                    for a in range(CLIENTS)]
        inbox = Inbox(instance.name)
        steps: dict[str, list[float]] = {step: [] for step in STEPS}

        print(f"setting up {PLANS} plans, {CLIENTS} advisors at once …", flush=True)
        cpu_before = {name: cpu_seconds(pid) for name, pid in
                      (("server", None), ("worker", worker.pid), ("localstripe", localstripe.process.pid))}
        started = time.perf_counter()

        def by_advisor(a: int) -> list[tuple[int, str]]:
            return [(i, set_up_one(clients[a], advisors[a], inbox, i, steps)) for i in range(a, PLANS, CLIENTS)]

        with ThreadPoolExecutor(CLIENTS) as pool:
            # In the order they were numbered: the first few are of every template (the document timings use them).
            plan_ids = [plan_id for _, plan_id in sorted(pair for pairs in pool.map(by_advisor, range(CLIENTS))
                                                         for pair in pairs)]
        signed_at = time.perf_counter() - started
        while subscribed_count(plumb) < PLANS:
            assert worker.poll() is None, "the worker stopped"
            assert time.perf_counter() - started < TIMEOUT_SECONDS, f"{subscribed_count(plumb)} of {PLANS} billed"
            time.sleep(0.01)
        elapsed = time.perf_counter() - started
        cpu = {name: cpu_seconds(pid) - cpu_before[name] for name, pid in
               (("server", None), ("worker", worker.pid), ("localstripe", localstripe.process.pid))}
        load = os.getloadavg()[0]
        check_stripe(localstripe.base_url, PLANS)
        per_minute = PLANS / elapsed * 60
        print(f"  {PLANS} plans created, signed and billed in {elapsed:.2f} s ({per_minute:.0f} plans/minute); "
              f"the last signature after {signed_at:.2f} s")
        cpu_per_plan = sum(cpu.values()) / PLANS
        # What this machine's cores could do if Plumb had them to itself: PostgreSQL's share not counted.
        ceiling = 60 * os.cpu_count() / cpu_per_plan
        print("  CPU per plan: " + ", ".join(f"{name} {seconds / PLANS * 1000:.0f} ms" for name, seconds in cpu.items())
              + f" (the server's process includes the {CLIENTS} clients; signed through the link, no password "
              f"hashed); at most {ceiling:.0f} plans/minute on {os.cpu_count()} cores without PostgreSQL's "
              f"share; load average {load:.1f}")
        print("  each plan's steps, median seconds: " + ", ".join(
            f"{step} {statistics.median(steps[step]):.3f}" for step in STEPS))

        sets, signed = document_timings(plumb, plan_ids)
        document_seconds = statistics.median(sets)
        print(f"  one plan's full document set ({sum(len(ls) for _, ls in documents.SET)} PDFs): "
              f"{document_seconds:.3f} s (median of {len(sets)} plans; {min(sets):.3f}-{max(sets):.3f}); "
              f"the agreement with its signature page {statistics.median(signed):.3f} s")
        for client in clients:
            client.close()
        if profile:
            app.wsgi_app.profiler.dump_stats(profile)
            print(f"  the server's requests under cProfile (one at a time): {profile}")
        figures = {"database": plumb.db.dialect, "plans": PLANS, "clients": CLIENTS,
                   "seconds": round(elapsed, 2), "plans_per_minute": round(per_minute),
                   "last_signature_seconds": round(signed_at, 2),
                   "argon2": list(ARGON2), "cpu_bound_plans_per_minute": round(ceiling),
                   "cpu_ms_per_plan": {name: round(seconds / PLANS * 1000) for name, seconds in cpu.items()},
                   "load_average_1m": round(load, 1),
                   "step_median_seconds": {step: round(statistics.median(steps[step]), 3) for step in STEPS},
                   "document_seconds": round(document_seconds, 4),
                   "document_seconds_each": [round(s, 4) for s in sets],
                   "signed_document_seconds": round(statistics.median(signed), 4)}
        print(json.dumps(figures))
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(30)
        if server is not None:
            server.shutdown()
        if plumb is not None:
            plumb.db.engine.dispose()
        localstripe.stop()
        scratch.drop()
        instance.cleanup()


if __name__ == "__main__":
    main()
