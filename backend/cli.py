"""The `plumb` command: `plumb serve`, `plumb worker`, `plumb daily`, `plumb db upgrade`, `plumb user create`,
`plumb demo`, `plumb openapi`, `plumb ledger check`, `plumb jobs dead|retry`, `plumb compliance test`. Each builds its app through
`create_app` (and so through the wiring); the app never imports this module. Logging is set up here, once, for
every command: JSON lines on stderr (backend/web/logs.py)."""
import gc
import json
import logging
import signal
import threading
from datetime import date

import click
from cryptography.fernet import Fernet
from flask import current_app
from flask.cli import FlaskGroup, with_appcontext
from werkzeug.serving import run_simple

from backend.accounts.service import check_ledger
from backend.app import create_app
from backend.audit import Actor, record_audit
from backend.billing.service import flag_past_due
from backend.oversight.figures import refresh_stale_figures
from backend.compliance.cli import compliance_group
from backend.compliance.service import refresh_stale
from backend.config import Config
from backend.db import migrate
from backend.demo import seed_demo
from backend.enrollment.automatic import run_daily
from backend.errors import DomainError
from backend.identity.service import create_user
from backend.jobs import JobRunner, dead_jobs, retry_job
from backend.outbox import Dispatcher
from backend.web import phone_app
from backend.web.logs import configure_logging
from backend.web.security import PlumbRequestHandler
from backend.web.server import GunicornServer
from notifications.staff import send_advisor_digests
from notifications.participants import run_daily as tell_participants_daily


def command_group() -> FlaskGroup:
    """Every `plumb` command in one group (tests invoke it with their own app)."""
    group = FlaskGroup(create_app=lambda: create_app(), add_version_option=False,
                       help="Plumb, the 401(k) platform. Set DATABASE_URL for PostgreSQL; SQLite under instance/ by "
                            "default.")
    for command in (db_group, user_group, demo_command, ledger_group, jobs_group, worker_command, serve_command,
                    daily_command, compliance_group, openapi_command):
        group.add_command(command)
    return group


@click.command("openapi", help="Write the API's OpenAPI document (what /openapi.json answers) without a server or a "
                                "database: the phone app's types are generated from it (make app-types).")
@click.option("--output", "-o", type=click.File("w"), default="-", show_default=True)
def openapi_command(output):
    output.write(openapi_document() + "\n")


def openapi_document() -> str:
    """The document as JSON with sorted keys, so that the same API always gives the same bytes. The app is built
    with throwaway secrets and an in-memory database: the document depends on neither, and nothing under instance/
    is created."""
    config = Config(database_url="sqlite://", jwt_secret="openapi-" + "x" * 32, pii_key=Fernet.generate_key().decode(),
                    rate_limits_enabled=False)
    app = create_app(config)
    try:
        return json.dumps(app.test_client().get("/openapi.json").json, indent=2, sort_keys=True)
    finally:
        app.extensions["plumb"].db.engine.dispose()


def main():
    configure_logging()
    command_group()()


@click.group("db", help="Database schema.")
def db_group():
    pass


@db_group.command("upgrade", help="Apply every migration to DATABASE_URL.")
@with_appcontext
def db_upgrade():
    migrate(current_app.extensions["plumb"].db.url)
    click.echo("database is at the newest revision")


@click.group("user", help="Users.")
def user_group():
    pass


@user_group.command("create", help="Create a user (bootstraps the first advisor).")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--role", required=True, type=click.Choice(["participant", "sponsor_admin", "advisor", "platform_admin"]))
@with_appcontext
def user_create(email, password, role):
    plumb = current_app.extensions["plumb"]
    try:
        with plumb.db.transaction() as session:
            user = create_user(session, plumb.config, email=email, password=password, role=role)
            record_audit(session, Actor.system("cli"), "user.created", "user", user.id, {"email": user.email, "role": role})
    except DomainError as error:
        raise click.ClickException("; ".join([error.detail] + [f"{f}: {m}" for f, m in error.errors]))
    click.echo(f"created {role} {user.email} ({user.id})")


@click.command("demo", help="Migrate, seed a demo employer, plan and employees, and serve the API.")
@click.option("--host", default="127.0.0.1")
@click.option("--port", default=5000, type=int)
@click.option("--seed-only", is_flag=True, help="Seed and exit without serving.")
@with_appcontext
def demo_command(host, port, seed_only):
    plumb = current_app.extensions["plumb"]
    migrate(plumb.db.url)
    logins = seed_demo(plumb)
    base = f"http://{host}:{port}"
    click.echo(f"\nPlumb demo on {plumb.db.url}\n")
    if (phone_app.dist_dir() / "index.html").is_file():
        click.echo(f"  Phone app:    {base}/app/   (log in with one of the accounts below)")
    else:
        click.echo("  Phone app:    not built: install Node 20 or newer and run `make app` (the API works without it)")
    click.echo(f"  API docs:     {base}/docs   (OpenAPI at {base}/openapi.json)")
    click.echo(f"  Log in:       POST {base}/v1/auth/login  {{\"email\": ..., \"password\": ...}}\n")
    for role, email, password, note in logins:
        click.echo(f"  {role:<14} {email:<28} {password:<16} {note}")
    click.echo("")
    if not seed_only:
        _serve_simply(host, port)


def _serve_simply(host: str, port: int) -> None:
    """Werkzeug's development server (the demo); on the embedded default (SQLite) the worker's loops run in threads
    beside it."""
    stop = _start_embedded_loops(current_app._get_current_object())
    try:
        run_simple(host, port, current_app._get_current_object(), threaded=True, request_handler=PlumbRequestHandler)
    finally:
        stop()


def _start_embedded_loops(app):
    """On the embedded default (SQLite) the worker's loops (outbox, jobs, the daily pass) run in this process's
    threads, since no `plumb worker` runs beside it; elsewhere nothing. Returns the function that stops them."""
    plumb = app.extensions["plumb"]
    stop = threading.Event()
    if plumb.db.dialect != "sqlite":
        click.echo("outbox dispatcher and job runner: run `plumb worker` (one or more) beside this server", err=True)
        return stop.set
    dispatcher = Dispatcher(plumb.db, plumb.deliverers)
    threading.Thread(target=dispatcher.run_forever, args=(stop,), name="outbox", daemon=True).start()
    _start_jobs_and_daily(plumb, stop)
    click.echo("outbox dispatcher, job runner and daily pass: running in this process (embedded default)", err=True)
    return stop.set


@click.command("serve", help="Serve the API with gunicorn (SIGTERM stops it gracefully). On SQLite one worker "
                             "process serves, and the worker's loops (outbox, jobs, the daily pass) run inside it.")
@click.option("--bind", default="127.0.0.1:5000", show_default=True, help="host:port (or unix:/path) to listen on.")
@click.option("--workers", default=2, type=int, show_default=True,
              help="Worker processes (PostgreSQL); SQLite always uses one.")
@click.option("--threads", default=8, type=int, show_default=True, help="Threads per worker process.")
@click.option("--timeout", default=60, type=int, show_default=True,
              help="Seconds a request may run before its worker is restarted.")
@click.option("--graceful-timeout", default=30, type=int, show_default=True,
              help="Seconds a worker has to finish its requests after SIGTERM.")
@with_appcontext
def serve_command(bind, workers, threads, timeout, graceful_timeout):
    plumb = current_app.extensions["plumb"]
    embedded = plumb.db.dialect == "sqlite"
    if embedded and workers != 1:
        # SQLite has one writer at a time, and the embedded loops must run in exactly one place: one process.
        click.echo(f"SQLite: serving with 1 worker process instead of {workers} (threads: {threads})", err=True)
        workers = 1
    # The workers build their own apps after the fork; this one's connections must not be inherited.
    plumb.db.engine.dispose()
    options = {"bind": bind, "workers": workers, "threads": threads, "timeout": timeout,
               "graceful_timeout": graceful_timeout}
    GunicornServer(create_app, options, on_worker_start=_start_embedded_loops if embedded else None).run()


@click.command("worker", help="Deliver outbox messages (payroll changes) and run jobs (compliance recomputes) until "
                              "stopped; run several on PostgreSQL.")
@click.option("--idle", default=0.1, type=float, help="Seconds to sleep when there is nothing to deliver.")
@click.option("--max-attempts", default=10, type=int)
@click.option("--base-delay", default=1.0, type=float, help="First retry delay in seconds (doubles each try).")
@click.option("--concurrency", default=32, type=int, help="Deliveries in flight at once (one per recipient).")
@click.option("--lease", default=120.0, type=float,
              help="Seconds a claimed message is this worker's; a worker that dies gives its messages back after "
                   "this. A delivery still running after half of it is given up on and retried.")
@with_appcontext
def worker_command(idle, max_attempts, base_delay, concurrency, lease):
    stop = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: stop.set())
    plumb = current_app.extensions["plumb"]
    # Everything loaded so far lives as long as the process: the collector need not walk it again. Without this,
    # each full collection walks the whole import graph (0.1-0.2 s) while messages wait.
    gc.freeze()
    click.echo(f"worker delivering from {plumb.db.dialect}", err=True)
    dispatcher = Dispatcher(plumb.db, plumb.deliverers, max_attempts=max_attempts, base_delay=base_delay,
                            concurrency=concurrency, lease_seconds=lease)
    _start_jobs_and_daily(plumb, stop)
    dispatcher.run_forever(stop, idle_seconds=idle)


def _start_jobs_and_daily(plumb, stop: threading.Event) -> None:
    """The job runner (a thread of its own: a long recompute never holds up a message to payroll) and the hourly
    daily pass, beside the dispatcher, until `stop`."""
    threading.Thread(target=JobRunner(plumb.db, plumb.jobs).run_forever, args=(stop,), name="jobs",
                     daemon=True).start()
    threading.Thread(target=_daily_loop, args=(plumb, stop), name="daily", daemon=True).start()


def _daily_loop(plumb, stop, every_seconds: int = 3600) -> None:
    """The worker also runs the platform's own changes (auto-enrollment, escalation) once an hour; they are
    idempotent, so several workers doing it is harmless."""
    while not stop.is_set():
        try:
            with plumb.db.transaction() as session:
                _run_daily(session, plumb.clock.today())
        except Exception:
            logging.getLogger(__name__).exception("daily pass failed")
        stop.wait(every_seconds)


@click.command("daily", help="Run automatic enrollment and escalation for every plan, and ask for the compliance "
                              "states older than today to be recomputed (idempotent).")
@click.option("--date", "on", default=None, help="Run as of this date (YYYY-MM-DD); today by default.")
@with_appcontext
def daily_command(on):
    plumb = current_app.extensions["plumb"]
    with plumb.db.transaction() as session:
        counts = _run_daily(session, date.fromisoformat(on) if on else plumb.clock.today())
    click.echo(", ".join(f"{k.replace('_', ' ')}: {v}" for k, v in counts.items()))


def _run_daily(session, today) -> dict:
    """The platform's own daily changes, then a recompute for every plan whose compliance state is older than
    today (the projection moves as pay dates pass, and a new year starts a new state); then what participants are
    owed that day (automatic enrollment and escalations coming, the nudge to join), after the changes that cause
    them; then the advisors' digests of yesterday's early warnings (once a day each, however often this runs); then
    billing whose grace period after a failed payment has ended is flagged past due; then the figures of the plans
    computed for an earlier day (or never) are refreshed."""
    counts = run_daily(session, today)
    counts.update(tell_participants_daily(session, today))
    counts["compliance_recomputes_requested"] = refresh_stale(session, today)
    counts["advisor_digests_sent"] = send_advisor_digests(session, today)
    counts["billing_flagged_past_due"] = flag_past_due(session, today)
    # Last, after everything that moved them: entry dates passing and a new year move the plans' figures too.
    counts["plan_figures_refreshed"] = refresh_stale_figures(session, today)
    return counts


@click.group("ledger", help="The recordkeeping ledger.")
def ledger_group():
    pass


@ledger_group.command("check", help="Check every ledger invariant; exits 1 and lists the problems if any fails.")
@with_appcontext
def ledger_check():
    with current_app.extensions["plumb"].db.transaction() as session:
        problems = check_ledger(session)
    for problem in problems:
        click.echo(problem, err=True)
    if problems:
        raise SystemExit(1)
    click.echo("ledger ok: every entry balances, no entry is reversed twice, every plan sums to zero")


@click.group("jobs", help="The platform's own background work (compliance recomputes, ...): what was given up on.")
def jobs_group():
    pass


@jobs_group.command("dead", help="List the jobs given up on after their retries, oldest first.")
@with_appcontext
def jobs_dead():
    with current_app.extensions["plumb"].db.transaction() as session:
        dead = dead_jobs(session)
        for job in dead:
            click.echo(f"{job.id}  {job.kind}  {job.subject or '-'}  {job.attempts} attempts  {job.last_error or ''}")
    click.echo(f"{len(dead)} dead job{'s' if len(dead) != 1 else ''}")


@jobs_group.command("retry", help="Run a dead job again from scratch (once what made it fail is fixed).")
@click.argument("job_id")
@with_appcontext
def jobs_retry(job_id):
    try:
        with current_app.extensions["plumb"].db.transaction() as session:
            retry_job(session, job_id)
    except DomainError as error:
        raise click.ClickException(error.detail)
    click.echo(f"{job_id} queued again")
