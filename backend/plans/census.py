"""The census: employees created or updated by external id, all rows or none; personal data sealed at rest; every
change announced (CensusChanged) so eligibility and compliance follow. Each new employee is sent an invite code at
the census email or phone (plans/invitations.py); a changed contact voids a pending one."""
import json
import logging
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from backend.audit import Actor, AuditEvent
from backend.db import Database, any_of, bulk_insert, chunks, new_id, utcnow
from backend.errors import DomainError, ValidationFailed
from backend.events import CensusChanged, publish
from backend.money import dollars_to_cents
from backend.outbox import enqueue_many
from backend.plans import dates, invitations
from backend.plans.models import Employee, Employer
from backend.plans.pii import PiiVault
from backend.plans.schedules import eligibility_period_start

log = logging.getLogger(__name__)


# Rows per lookup query and per write transaction: each lookup stays far below PostgreSQL's 65,535 bound
# parameters, and each transaction holds SQLite's one write lock for a fraction of a second. Module constants so a
# test can shrink them.
LOOKUP_CHUNK = 1000
WRITE_BATCH = 1000
# How many times one batch is tried: a concurrent upload naming the same new people makes the loser's batch fail on
# the unique (employer, external id) index; read again, the batch finds them and leaves them unchanged.
BATCH_ATTEMPTS = 3


@dataclass
class CensusResult:
    created: int
    updated: int
    unchanged: int
    employees: list  # Employee, or for batched loads a LoadedEmployee: each has id and external_id


@dataclass(frozen=True)
class LoadedEmployee:
    """What a census answer names for each row, kept instead of the ORM object when a load outlives its sessions."""

    id: str
    external_id: str


class CensusInterrupted(DomainError):
    """A batch could not be written after validation passed; earlier batches stay (each is complete on its own)."""

    status, title, type_slug = 409, "Conflict", "conflict"


def _fingerprint(vault: PiiVault, row: dict) -> str:
    return vault.fingerprint(json.dumps(row, sort_keys=True, default=str))


def _row_problems(row: dict, label: str, seen: dict[str, str], today: date | None) -> list[tuple[str, str]]:
    problems = []
    dob, hire = row["date_of_birth"], row["hire_date"]
    if born_problem := dates.birth_date_problem(dob, today):
        problems.append((f"{label}.date_of_birth", born_problem))
    if hire < dob:
        problems.append((f"{label}.hire_date", "is before the date of birth"))
    elif problem := dates.hire_date_problem(dob, hire, today):
        problems.append((f"{label}.hire_date", problem))
    for name in ("rehire_date", "termination_date"):
        if row.get(name) and (problem := dates.employment_date_problem(row[name], today)):
            problems.append((f"{label}.{name}", problem))
    if row.get("termination_date") and row["termination_date"] < hire:
        problems.append((f"{label}.termination_date", "is before the hire date"))
    if row.get("rehire_date"):
        if row["rehire_date"] <= hire:
            problems.append((f"{label}.rehire_date", "must be after the hire date"))
    if row["external_id"] in seen:
        problems.append((f"{label}.external_id", f"repeats {seen[row['external_id']]}"))
    seen.setdefault(row["external_id"], label)
    try:
        dollars_to_cents(row["annual_compensation"])
    except ValueError as error:
        problems.append((f"{label}.annual_compensation", str(error)))
    return problems


def validate_census(rows: list[dict], row_label, today: date | None = None) -> list[tuple[str, str]]:
    """Problems marshmallow cannot see: implausible dates (plans/dates.py; those that need today only when it is
    given), dates in impossible order, an external id twice in one file."""
    seen: dict[str, str] = {}
    return [problem for i, row in enumerate(rows) for problem in _row_problems(row, row_label(i), seen, today)]


class CensusCheck:
    """`validate_census` one row at a time, for a file read as a stream: it remembers each external id's label
    only, not the rows."""

    def __init__(self, today: date | None = None):
        self._seen: dict[str, str] = {}
        self._today = today

    def __call__(self, row: dict, label: str) -> list[tuple[str, str]]:
        return _row_problems(row, label, self._seen, self._today)


def hours_by_period(row: dict, today: date) -> dict[str, int]:
    """The census gives hours for the current eligibility period and the one before; key them by period start."""
    start = row.get("rehire_date") or row["hire_date"]
    current = eligibility_period_start(start, today)
    periods = {}
    if row.get("hours") is not None:
        periods[current.isoformat()] = row["hours"]
    if row.get("prior_period_hours") is not None and current > start:
        periods[eligibility_period_start(start, current - timedelta(days=1)).isoformat()] = row["prior_period_hours"]
    return periods


def load_census(session: Session, vault: PiiVault, actor: Actor, employer: Employer, rows: list[dict],
                today: date, row_label=lambda i: f"employees[{i}]") -> CensusResult:
    """Create or update employees by external id, in the caller's transaction. All rows or none: any problem
    rejects the whole file."""
    problems = validate_census(rows, row_label, today)
    if problems:
        raise ValidationFailed(problems)
    result, changed = _write_rows(session, vault, actor, employer.id, rows, today)
    if changed:
        publish(session, CensusChanged(employer.id, tuple(changed), today))
    return result


def load_census_in_batches(db: Database, vault: PiiVault, actor: Actor, employer_id: str, read_rows,
                           today: date) -> CensusResult:
    """Load a census of up to the configured cap (100,000 rows) in bounded memory and short transactions.

    `read_rows()` yields `(label, row, problems)` for each row of the file from its start (row None when the row
    could not be read; problems are the reader's own), and is called twice. The first pass validates everything
    and writes nothing: a bad row anywhere refuses the whole file with every problem listed. The second writes in
    batches of WRITE_BATCH rows, each its own transaction, so no writer waits on the upload for long (SQLite has
    one write lock for the whole database). Each batch is complete on its own: its employees, their audit events
    and the CensusChanged that refreshes their eligibility and asks for the plan's recompute (requests merge into
    one queued job) commit together. A batch only writes what differs from the stored census, so should the
    writing stop half-way (the process dies, a batch keeps conflicting), sending the same file again finishes it
    and changes nothing already loaded.
    """
    check, problems, count = CensusCheck(today), [], 0
    for label, row, row_problems in read_rows():
        problems.extend(row_problems)
        if row is not None:
            count += 1
            problems.extend(check(row, label))
    if problems:
        raise ValidationFailed(problems)
    totals = CensusResult(0, 0, 0, [])
    batch: list[dict] = []
    for _label, row, _problems in read_rows():
        batch.append(row)
        if len(batch) == WRITE_BATCH:
            _write_batch(db, vault, actor, employer_id, batch, today, totals, count)
            batch = []
    if batch:
        _write_batch(db, vault, actor, employer_id, batch, today, totals, count)
    return totals


def _write_batch(db: Database, vault: PiiVault, actor: Actor, employer_id: str, rows: list[dict], today: date,
                 totals: CensusResult, count: int) -> None:
    for attempt in range(1, BATCH_ATTEMPTS + 1):
        try:
            with db.transaction() as session:
                result, changed = _write_rows(session, vault, actor, employer_id, rows, today)
                if changed:
                    publish(session, CensusChanged(employer_id, tuple(changed), today))
            break
        except (IntegrityError, OperationalError):
            # Another upload wrote some of these people first, or the database refused the transaction (deadlock,
            # lock timeout): the batch is idempotent, so it is read and written again.
            log.info("census batch attempt %d of %d failed", attempt, BATCH_ATTEMPTS)
            if attempt == BATCH_ATTEMPTS:
                done = len(totals.employees)
                raise CensusInterrupted(
                    f"Writing stopped at a change made to the same people at the same time (or a busy database). "
                    f"All {count} rows were valid and {done} were loaded; send the same file again to finish (rows "
                    f"already loaded stay as they are).") from None
    totals.created += result.created
    totals.updated += result.updated
    totals.unchanged += result.unchanged
    totals.employees.extend(LoadedEmployee(e.id, e.external_id) for e in result.employees)


def _existing(session: Session, employer_id: str, external: list[str]) -> dict[str, Employee]:
    """The employer's employees with these external ids, read LOOKUP_CHUNK ids per query."""
    found = {}
    for chunk in chunks(external, LOOKUP_CHUNK):
        found.update((e.external_id, e) for e in session.scalars(select(Employee).where(
            Employee.employer_id == employer_id, any_of(session, Employee.external_id, chunk))))
    return found


def _write_rows(session: Session, vault: PiiVault, actor: Actor, employer_id: str, rows: list[dict],
                today: date) -> tuple[CensusResult, list[str]]:
    """Write validated rows: new people inserted in bulk (COPY on PostgreSQL), changed ones updated in place, each
    with an audit event, unchanged ones left alone. The result, and the ids of those created or changed."""
    existing = _existing(session, employer_id, [r["external_id"] for r in rows])
    now = utcnow()
    created = updated = unchanged = 0
    new_rows, audit_rows, changed, order = [], [], [], []
    contact_changes: dict[str, dict] = {}
    for row in rows:
        periods = hours_by_period(row, today)
        fingerprint = _fingerprint(vault, {**row, "hours_by_period": periods})
        employee = existing.get(row["external_id"])
        if employee is not None and employee.census_fingerprint == fingerprint:
            unchanged += 1
            order.append(employee.id)
            continue
        ssn = row["ssn"].replace("-", "")
        values = dict(first_name=row["first_name"], last_name=row["last_name"],
                      date_of_birth_enc=vault.seal_date(row["date_of_birth"]), ssn_enc=vault.seal(ssn),
                      ssn_last4=ssn[-4:], email=row.get("email"), phone=row.get("phone"), hire_date=row["hire_date"],
                      rehire_date=row.get("rehire_date"), termination_date=row.get("termination_date"),
                      annual_compensation_cents=dollars_to_cents(row["annual_compensation"]),
                      ownership_percent=Decimal(str(row.get("ownership_percent") or 0)),
                      officer=bool(row.get("officer")), census_fingerprint=fingerprint)
        if employee is None:
            employee_id = new_id("emp")
            new_rows.append(dict(id=employee_id, employer_id=employer_id, external_id=row["external_id"],
                                 hours_by_period=periods, signup_failures=0,
                                 created_at=now, updated_at=now, **values))
            created += 1
            audit_rows.append(_audit_row(actor, "employee.created", employee_id,
                                         {"external_id": row["external_id"]}, employer_id, now))
        else:
            employee_id = employee.id
            diff = _diff(employee, values, vault)
            for key, value in values.items():
                setattr(employee, key, value)
            # Hours already credited for other periods (by pay runs) stay; the census speaks for its periods only.
            employee.hours_by_period = {**(employee.hours_by_period or {}), **periods}
            employee.updated_at = now
            updated += 1
            audit_rows.append(_audit_row(actor, "employee.updated", employee_id, diff, employer_id, now))
            if "email" in diff or "phone" in diff:
                contact_changes[employee_id] = {key: diff[key]["from"] if key in diff else None
                                                for key in ("email", "phone")}
        changed.append(employee_id)
        order.append(employee_id)
    session.flush()
    employer = session.get(Employer, employer_id)
    invitation_messages = invitations.invite_new_employees(vault, employer, new_rows)
    bulk_insert(session, Employee.__table__, new_rows)
    bulk_insert(session, AuditEvent.__table__, audit_rows)
    enqueue_many(session, invitation_messages)
    employees = employees_by_id(session, order)
    _invite(session, vault, actor, employer, employees, contact_changes)
    return CensusResult(created, updated, unchanged, [employees[i] for i in order]), changed


def _invite(session: Session, vault: PiiVault, actor: Actor, employer: Employer, employees: dict[str, Employee],
            contact_changes: dict[str, dict]) -> None:
    """A changed contact voids a pending code and sends a new one (plans/invitations.py); new employees were sent
    theirs as they were inserted."""
    for employee_id, old_contact in contact_changes.items():
        invitations.contact_changed(session, vault, actor, employer, employees[employee_id], old_contact)


def _audit_row(actor: Actor, action: str, employee_id: str, changes: dict, employer_id: str, at) -> dict:
    """An audit event as `record_audit` writes it, as a row for a bulk insert."""
    return dict(id=new_id("aud"), at=at, actor_user_id=actor.user_id, actor_role=actor.role, ip=actor.ip,
                user_agent=(actor.user_agent or "")[:256] or None, employer_id=employer_id, action=action,
                subject_type="employee", subject_id=employee_id, changes=changes)


def _diff(employee: Employee, values: dict, vault: PiiVault) -> dict:
    """Which fields changed, with old and new values, except personal data (named, never shown)."""
    changes = {}
    for key, new in values.items():
        if key in ("census_fingerprint",):
            continue
        if key == "ssn_last4":  # part of the sign-up proof: staff read the audit trail, so named, never shown
            if getattr(employee, key) != new:
                changes[key] = "changed"
            continue
        if key in ("date_of_birth_enc", "ssn_enc"):
            old_plain = vault.open(getattr(employee, key))
            new_plain = vault.open(new)
            if old_plain != new_plain:
                changes[key.removesuffix("_enc")] = "changed"
            continue
        old = getattr(employee, key)
        if old != new:
            changes[key] = {"from": _plain(old), "to": _plain(new)}
    return changes


def _plain(value):
    if isinstance(value, (date, Decimal)):
        return str(value)
    return value


def employees_page_query(employer_id: str):
    return select(Employee).where(Employee.employer_id == employer_id)


def census_rows(session: Session, employer_id: str, *, employee_id: str | None = None) -> list:
    """The employer's census as plain rows (id, external_id, date_of_birth_enc, hire_date, rehire_date,
    termination_date, annual_compensation_cents, ownership_percent, officer), by external id: what the
    compliance tests read for a 10,000-person plan, without loading ORM objects."""
    who = Employee.id == employee_id if employee_id else Employee.employer_id == employer_id
    return session.execute(
        select(Employee.id, Employee.external_id, Employee.date_of_birth_enc, Employee.hire_date, Employee.rehire_date,
               Employee.termination_date, Employee.annual_compensation_cents, Employee.ownership_percent,
               Employee.officer).where(who).order_by(Employee.external_id)).all()


def employees_by_id(session: Session, ids: list[str]) -> dict[str, Employee]:
    """The employees by id: those the session already holds as they are, the others read in a few queries (a pay
    run can change thousands of people, and a query each would also flush the previous one's change)."""
    found, missing = {}, []
    for employee_id in ids:
        held = session.identity_map.get(identity_key(Employee, employee_id))
        if held is not None:
            found[employee_id] = held
        else:
            missing.append(employee_id)
    for chunk in chunks(missing):
        found.update((e.id, e) for e in session.scalars(select(Employee).where(any_of(session, Employee.id, chunk))))
    return found


def external_ids(session: Session, employer_id: str) -> set[str]:
    """The external ids on the employer's census (the ids payroll and sponsors name people by)."""
    return set(session.scalars(select(Employee.external_id).where(Employee.employer_id == employer_id)))
