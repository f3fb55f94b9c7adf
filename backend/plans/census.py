"""The census: employees created or updated by external id, all rows or none; personal data sealed at rest; every
change announced (CensusChanged) so eligibility and compliance follow. Each new employee is sent an invite code at
the census email or phone (plans/invitations.py); a changed contact voids a pending one."""
import json
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session
from sqlalchemy.orm.util import identity_key

from backend.audit import Actor, record_audit
from backend.db import any_of, chunks, utcnow
from backend.errors import ValidationFailed
from backend.events import CensusChanged, publish
from backend.money import dollars_to_cents
from backend.plans import invitations
from backend.plans.models import Employee, Employer
from backend.plans.pii import PiiVault
from backend.plans.schedules import eligibility_period_start


@dataclass
class CensusResult:
    created: int
    updated: int
    unchanged: int
    employees: list[Employee]


def _fingerprint(vault: PiiVault, row: dict) -> str:
    return vault.fingerprint(json.dumps(row, sort_keys=True, default=str))


def validate_census(rows: list[dict], row_label) -> list[tuple[str, str]]:
    """Problems marshmallow cannot see: dates in impossible order, an external id twice in one file."""
    problems = []
    seen: dict[str, int] = {}
    for i, row in enumerate(rows):
        label = row_label(i)
        dob, hire = row["date_of_birth"], row["hire_date"]
        if hire < dob:
            problems.append((f"{label}.hire_date", "is before the date of birth"))
        elif (hire - dob).days < 14 * 365:
            problems.append((f"{label}.date_of_birth", "makes the employee younger than 14 at hire"))
        if row.get("termination_date") and row["termination_date"] < hire:
            problems.append((f"{label}.termination_date", "is before the hire date"))
        if row.get("rehire_date"):
            if row["rehire_date"] <= hire:
                problems.append((f"{label}.rehire_date", "must be after the hire date"))
        if row["external_id"] in seen:
            problems.append((f"{label}.external_id", f"repeats {row_label(seen[row['external_id']])}"))
        seen.setdefault(row["external_id"], i)
        try:
            dollars_to_cents(row["annual_compensation"])
        except ValueError as error:
            problems.append((f"{label}.annual_compensation", str(error)))
    return problems


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
    """Create or update employees by external id. All rows or none: any problem rejects the whole file."""
    problems = validate_census(rows, row_label)
    if problems:
        raise ValidationFailed(problems)
    existing = {e.external_id: e for e in session.scalars(
        select(Employee).where(Employee.employer_id == employer.id,
                               Employee.external_id.in_([r["external_id"] for r in rows])))}
    created = updated = unchanged = 0
    changed: list[Employee] = []
    result: list[Employee] = []
    for row in rows:
        periods = hours_by_period(row, today)
        fingerprint = _fingerprint(vault, {**row, "hours_by_period": periods})
        employee = existing.get(row["external_id"])
        if employee is not None and employee.census_fingerprint == fingerprint:
            unchanged += 1
            result.append(employee)
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
            employee = Employee(employer_id=employer.id, external_id=row["external_id"], hours_by_period=periods,
                                **values)
            session.add(employee)
            created += 1
            action, diff = "employee.created", {"external_id": row["external_id"]}
        else:
            diff = _diff(employee, values, vault)
            for key, value in values.items():
                setattr(employee, key, value)
            # Hours already credited for other periods (by pay runs) stay; the census speaks for its periods only.
            employee.hours_by_period = {**(employee.hours_by_period or {}), **periods}
            employee.updated_at = utcnow()
            updated += 1
            action = "employee.updated"
        session.flush()
        record_audit(session, actor, action, "employee", employee.id, diff, employer_id=employer.id)
        if action == "employee.created":
            invitations.issue_invite_code(session, vault, employer, employee)
        elif "email" in diff or "phone" in diff:
            old_contact = {key: diff[key]["from"] if key in diff else None for key in ("email", "phone")}
            invitations.contact_changed(session, vault, actor, employer, employee, old_contact)
        changed.append(employee)
        result.append(employee)
    if changed:
        publish(session, CensusChanged(employer.id, tuple(e.id for e in changed), today))
    return CensusResult(created, updated, unchanged, result)


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
