"""Inbound pay runs: each statement checked against the live record as it arrives (findings), the clean ones
posted to the ledger, the doubtful ones held as exceptions for the sponsor; a replay answers the first result and
a correction (the next version) reverses the version it replaces before posting."""
import hashlib
import json
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from backend.accounts import service as ledger
from backend.audit import Actor, record_audit
from backend.db import bulk_insert, new_id, new_ids, utcnow
from backend.documents import service as documents
from backend.enrollment import service as enrollment
from backend.errors import Conflict, ValidationFailed
from backend.events import PayRunPosted, publish
from backend.irs import limits as irs
from backend.memory import collector_paused
from backend.payroll.findings import Finding, statement_findings
from backend.payroll.follow_up import credit_hours_and_terminations, observed_elections, stop_at_the_402g_limit
from backend.payroll.models import PayrollException, PayRun, PayStatement
from backend.payroll.posting import computed_match, contribution_spec, deposit_spec, run_totals
from backend.payroll.snapshot import load_snapshot
from backend.plans import dates as plausible
from backend.plans import service as plans
from backend.plans.models import Employee, Employer
from backend.plans.pii import PiiVault


@dataclass
class PayRunResult:
    pay_run: PayRun
    replayed: bool
    posted: int
    held: int
    findings: dict[str, list[Finding]]


def request_digest(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def structural_problems(payload, known, today: date | None = None) -> list[tuple[str, str]]:
    """Problems that make the run malformed, so it is refused whole. Tolerant of a payload that failed its schema
    (values of the wrong type are skipped here: the schema names them), so one refusal lists every problem. Given
    today, the run's dates must be plausible (plans/dates.py)."""
    problems: list[tuple[str, str]] = []
    if not isinstance(payload, dict):
        return problems
    start, end = _as_date(payload.get("period_start")), _as_date(payload.get("period_end"))
    if today is not None:
        for name in ("pay_date", "period_start", "period_end"):
            day = _as_date(payload.get(name))
            if day is not None and (problem := plausible.pay_date_problem(day, today)):
                problems.append((name, problem))
    if start and end and end < start:
        problems.append(("period_end", "is before period_start"))
    seen: dict[str, int] = {}
    statements = payload.get("statements") if isinstance(payload.get("statements"), list) else []
    for i, st in enumerate(statements):
        if not isinstance(st, dict):
            continue
        label, external_id = f"statements[{i}]", st.get("external_id")
        gross, comp = _as_cents(st.get("gross_pay_cents")), _as_cents(st.get("plan_compensation_cents"))
        if isinstance(external_id, str):
            if external_id in seen:
                problems.append((f"{label}.external_id", f"repeats statements[{seen[external_id]}]"))
            elif external_id not in known and not st.get("employee"):
                problems.append((f"{label}.external_id", "is not on the census; send the new hire's `employee` record"))
            seen.setdefault(external_id, i)
        problems += statement_problems(st, f"{label}.")
        ended = _as_date(st.get("termination_date"))
        if today is not None and ended is not None and (problem := plausible.employment_date_problem(ended, today)):
            problems.append((f"{label}.termination_date", problem))
    return problems


def statement_problems(st: dict, prefix: str = "") -> list[tuple[str, str]]:
    """What makes one statement's amounts impossible: pay counted for the plan above gross pay, or withholdings
    adding up to more than gross pay. The same check for a statement arriving in a run and for the sponsor's
    correction of one (exceptions_queue), so a correction cannot post what a pay run may not."""
    problems = []
    gross, comp = _as_cents(st.get("gross_pay_cents")), _as_cents(st.get("plan_compensation_cents"))
    if gross is not None and comp is not None and comp > gross:
        problems.append((f"{prefix}plan_compensation_cents", "is more than gross pay"))
    withholdings = st.get("withholdings") if isinstance(st.get("withholdings"), dict) else {}
    amounts = [_as_cents(v) for v in withholdings.values()]
    if gross is not None and sum(a for a in amounts if a and a > 0) > gross:
        problems.append((f"{prefix}withholdings", "add up to more than gross pay"))
    return problems


def _as_date(value):
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _as_cents(value):
    """An amount the schema would accept, or None (the schema reports the others)."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def ingest_pay_run(session: Session, vault: PiiVault, actor: Actor, employer: Employer, payload: dict, *,
                   via: str, connection_id: str | None, today: date, digest: str | None = None) -> PayRunResult:
    """`digest` identifies the request's exact contents (the API passes a hash of the raw body a provider
    signed); a replay has the same digest, and the same run and version with another digest is refused."""
    with collector_paused():
        return _ingest(session, vault, actor, employer, payload, via=via, connection_id=connection_id, today=today,
                       digest=digest)


def _ingest(session: Session, vault: PiiVault, actor: Actor, employer: Employer, payload: dict, *,
            via: str, connection_id: str | None, today: date, digest: str | None) -> PayRunResult:
    digest = digest or request_digest(payload)
    version = payload.get("version") or 1
    existing = _received(session, employer, payload["provider_run_id"], version)
    if existing is not None:
        return _replay(session, existing, payload["provider_run_id"], version, digest)
    latest = session.scalar(select(PayRun).where(PayRun.employer_id == employer.id,
                                                 PayRun.provider_run_id == payload["provider_run_id"])
                            .order_by(PayRun.version.desc()).limit(1))
    if latest is not None and version == latest.version:  # a duplicate committed since the first look
        return _replay(session, latest, payload["provider_run_id"], version, digest)
    if latest is not None and version < latest.version:
        raise Conflict(f"Version {version} is older than version {latest.version} already received.")

    plan = plans.current_plan(session, employer.id)
    try:
        irs.limits_for(payload["pay_date"].year)
    except irs.MissingLimits:
        raise ValidationFailed([("pay_date", f"the IRS limits for {payload['pay_date'].year} are not in Plumb yet, so "
                                             "deferrals cannot be checked against 402(g); the run was not stored")])
    external_ids = [s["external_id"] for s in payload["statements"]]
    # Plain rows, not ORM objects: the few employees a run changes are loaded as objects when it changes them.
    known = {row.external_id: row for row in session.execute(
        select(Employee.id, Employee.external_id, Employee.first_name, Employee.last_name, Employee.hire_date,
               Employee.rehire_date, Employee.termination_date).where(Employee.employer_id == employer.id)).all()}
    problems = structural_problems(payload, known, today)
    if session.scalar(select(PayRun.id).where(PayRun.plan_id == plan.id).limit(1)) is None and (
            unsigned := documents.unsigned_agreement_problem(session, plan.id)):
        problems.append(("plan", unsigned))
    if problems:
        raise ValidationFailed(problems)

    run = PayRun(employer_id=employer.id, plan_id=plan.id, connection_id=connection_id,
                 provider_run_id=payload["provider_run_id"], version=version, request_hash=digest,
                 pay_date=payload["pay_date"], period_start=payload["period_start"], period_end=payload["period_end"],
                 run_type=payload["run_type"], status="posted", received_via=via)
    # The run's row is the first thing written: a provider's retry sent at the same time waits on its unique
    # (run, version) key, and once this request commits it finds the run and answers the replay.
    try:
        with session.begin_nested():
            session.add(run)
            session.flush()
    except IntegrityError:
        winner = _received(session, employer, payload["provider_run_id"], version)
        if winner is None:
            raise
        return _replay(session, winner, payload["provider_run_id"], version, digest)

    new_hires = [dict(s["employee"], external_id=s["external_id"]) for s in payload["statements"]
                 if s["external_id"] not in known]
    if new_hires:
        result = plans.load_census(session, vault, actor, employer, new_hires, today,
                                   row_label=lambda i: f"new hire {new_hires[i]['external_id']}")
        known.update((e.external_id, e) for e in result.employees)

    if latest is not None:
        _supersede(session, latest, run)

    snapshot = load_snapshot(session, vault, plan, employer, [known[x] for x in external_ids], run.pay_date)
    now = utcnow()
    statements: list[_Statement] = []
    findings_by_employee: dict[str, list[Finding]] = {}
    hired_now = {h["external_id"] for h in new_hires}
    statement_ids = new_ids("pst", len(payload["statements"]))
    for position, st in enumerate(payload["statements"]):
        employee = known[st["external_id"]]
        withholdings = {money_type: cents for money_type, cents in st["withholdings"].items() if cents}
        findings = statement_findings(snapshot, employee, st, withholdings, new_hire=st["external_id"] in hired_now)
        match_cents, match_source = (st["employer_match_cents"], "provider") if st.get("employer_match_cents") is not None \
            else (computed_match(snapshot, employee.id, st["plan_compensation_cents"], withholdings), "computed")
        held = any(f.severity == "hold" for f in findings)
        statement = _Statement(id=statement_ids[position], pay_run_id=run.id, position=position, employee_id=employee.id,
                               gross_cents=st["gross_pay_cents"], plan_compensation_cents=st["plan_compensation_cents"],
                               hours=st.get("hours"), withholdings=withholdings, employer_match_cents=match_cents,
                               match_source=match_source, ytd=st.get("ytd"), status="held" if held else "posted",
                               posted_at=None if held else now)
        statements.append(statement)
        if findings:
            findings_by_employee[employee.external_id] = findings
        if statement.status == "posted":
            snapshot.count_posted(employee.id, withholdings, statement.plan_compensation_cents)
    # Statements and exceptions go in as bulk inserts: a run can carry tens of thousands of them.
    bulk_insert(session, PayStatement.__table__, [st.row() for st in statements])
    bulk_insert(session, PayrollException.__table__, [
        {"id": new_id("pex"), "employer_id": employer.id, "pay_run_id": run.id, "statement_id": st.id,
         "employee_id": st.employee_id, "code": f.code, "severity": f.severity, "message": f.message,
         "details": f.details, "status": "open", "created_at": now}
        for st in statements for f in findings_by_employee.get(snapshot.external_id(st.employee_id), [])])

    specs = [deposit_spec(run, statements)]
    specs += [contribution_spec(snapshot, run, st) for st in statements if st.status == "posted"]
    ledger.post_entries(session, plan.id, [s for s in specs if s.lines])
    run.totals = run_totals(statements)
    run.statement_count = len(statements)
    run.status = "posted_with_holds" if any(st.status == "held" for st in statements) else "posted"
    credit_hours_and_terminations(session, snapshot, payload["statements"], known, today)
    enrollment.mark_observed(session, observed_elections(snapshot, statements, findings_by_employee), run.pay_date)
    stop_at_the_402g_limit(session, snapshot, run.pay_date, statements)
    record_audit(session, actor, "pay_run.received", "pay_run", run.id, employer_id=employer.id,
                 changes={"provider_run_id": run.provider_run_id, "version": version, "statements": len(statements),
                          "held": sum(st.status == "held" for st in statements), "via": via})
    publish(session, PayRunPosted(plan.id, run.id, today))
    return PayRunResult(run, False, sum(st.status == "posted" for st in statements),
                        sum(st.status == "held" for st in statements), findings_by_employee)


@dataclass(slots=True)
class _Statement:
    """A statement on its way in: a plain record, inserted in bulk (ORM objects cost too much at 10,000 a run)."""

    id: str
    pay_run_id: str
    position: int
    employee_id: str
    gross_cents: int
    plan_compensation_cents: int
    hours: Decimal | None
    withholdings: dict
    employer_match_cents: int
    match_source: str
    ytd: dict | None
    status: str
    posted_at: object

    def row(self) -> dict:
        return {name: getattr(self, name) for name in self.__slots__}


def _received(session: Session, employer: Employer, provider_run_id: str, version: int) -> PayRun | None:
    return session.scalar(select(PayRun).where(PayRun.employer_id == employer.id,
                                               PayRun.provider_run_id == provider_run_id, PayRun.version == version))


def _replay(session: Session, existing: PayRun, provider_run_id: str, version: int, digest: str) -> PayRunResult:
    """The first result again for the same run, version and contents; another body under them is refused."""
    if existing.request_hash != digest:
        raise Conflict(f"Pay run {provider_run_id} version {version} was already received with different "
                       f"contents; send a correction as version {version + 1}.")
    return PayRunResult(existing, True, _count(session, existing, "posted"), _count(session, existing, "held"), {})


def _count(session: Session, run: PayRun, status: str) -> int:
    return session.scalar(select(func.count()).select_from(PayStatement).where(PayStatement.pay_run_id == run.id,
                                                                                PayStatement.status == status))


def _supersede(session: Session, old: PayRun, new: PayRun) -> None:
    """A correction replaces a run: every entry of the old version is reversed (never edited) and its open
    exceptions are closed; the new version then posts as if it were the first."""
    old.status = "superseded"
    ledger.reverse_pay_run_entries(session, old.plan_id, old.id)
    for exception in session.scalars(select(PayrollException).where(PayrollException.pay_run_id == old.id,
                                                                     PayrollException.status == "open")):
        exception.status, exception.resolution_note = "rejected", f"superseded by version {new.version}"
        exception.resolved_at = utcnow()
