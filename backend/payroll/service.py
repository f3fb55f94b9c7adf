"""Inbound pay runs: validate each statement against the live record as it arrives, post the clean ones to the
ledger, hold the doubtful ones as exceptions for the sponsor, and never post the same cause twice."""
import hashlib
import json
import secrets
from base64 import b64encode
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.accounts import service as ledger
from backend.accounts.models import LedgerAccount, LedgerEntry, LedgerLine
from backend.accounts.service import PAYROLL_CLEARING, TRUST_CASH, AccountRef, EntrySpec, LineSpec
from backend.irs import limits as irs
from backend.db import bulk_insert, new_id, new_ids, utcnow
from backend.enrollment.models import MONEY_TYPES as DEFERRAL_TYPES
from backend.enrollment.models import (DeferralElection, ElectionLine, EligibilityDetermination, InvestmentAllocation,
                                       InvestmentElection, OutsideDeferral)
from backend.errors import Conflict, NotFound, ValidationFailed
from backend.enrollment import automatic
from backend.enrollment import service as enrollment
from backend.events import Actor, OutboxMessage, enqueue, publish, record_audit
from backend.identity import policy
from backend.identity.service import Principal
from backend.money import HUNDRED, percent_of_cents, split_cents, units_for
from backend.plans import match as match_rules
from backend.plans import service as plans
from backend.plans.models import Employee, Employer, Plan
from backend.plans.pii import PiiVault
from backend.plans.schedules import add_months, next_pay_date
from backend.payroll.models import PayRun, PayrollException, PayStatement, ProviderConnection

# A percent election withheld within a cent of the exact figure per line is payroll's rounding, not a mismatch.
MISMATCH_TOLERANCE_CENTS = 1


# ---- connections -----------------------------------------------------------------------------------------------

def create_connection(session: Session, vault: PiiVault, actor: Actor, employer: Employer, provider: str,
                      endpoint_url: str | None = None, config: dict | None = None) -> tuple[ProviderConnection, str]:
    """A connection and its signing secret (Standard Webhooks `whsec_` form), returned once, stored encrypted.
    A new connection replaces the employer's previous one: changes go to one payroll at a time."""
    if provider in ("plumb_webhook", "finch", "gusto") and not endpoint_url:
        raise ValidationFailed([("endpoint_url", f"is required for {provider} connections")])
    for old in session.scalars(select(ProviderConnection).where(ProviderConnection.employer_id == employer.id,
                                                                ProviderConnection.active.is_(True))):
        old.active = False
    secret = "whsec_" + b64encode(secrets.token_bytes(32)).decode()
    config = dict(config or {})
    credentials = {key: config.pop(key) for key in CREDENTIAL_KEYS if key in config}
    connection = ProviderConnection(employer_id=employer.id, provider=provider, secret_enc=vault.seal(secret),
                                    endpoint_url=endpoint_url, config=config,
                                    credentials_enc=vault.seal(json.dumps(credentials)) if credentials else None)
    session.add(connection)
    session.flush()
    record_audit(session, actor, "payroll_connection.created", "provider_connection", connection.id,
                 {"provider": provider}, employer_id=employer.id)
    return connection, secret


def connection_secret(vault: PiiVault, connection: ProviderConnection) -> str:
    return vault.open(connection.secret_enc)


# Keys of a connection's config that are credentials: stored encrypted, never returned.
CREDENTIAL_KEYS = ("access_token", "webhook_secret")


def connection_credentials(vault: PiiVault, connection: ProviderConnection) -> dict:
    """Plumb's signing secret and the provider's own credentials, opened for one delivery or verification."""
    opened = json.loads(vault.open(connection.credentials_enc)) if connection.credentials_enc else {}
    return {"signing_secret": vault.open(connection.secret_enc), **opened}


# ---- ingestion -------------------------------------------------------------------------------------------------

@dataclass
class Finding:
    code: str
    severity: str  # hold | warning
    message: str
    details: dict = field(default_factory=dict)


@dataclass
class PayRunResult:
    pay_run: PayRun
    replayed: bool
    posted: int
    held: int
    findings: dict[str, list[Finding]]


def request_digest(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def structural_problems(payload, known) -> list[tuple[str, str]]:
    """Problems that make the run malformed, so it is refused whole. Tolerant of a payload that failed its schema
    (values of the wrong type are skipped here: the schema names them), so one refusal lists every problem."""
    problems: list[tuple[str, str]] = []
    if not isinstance(payload, dict):
        return problems
    start, end = _as_date(payload.get("period_start")), _as_date(payload.get("period_end"))
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
        if gross is not None and comp is not None and comp > gross:
            problems.append((f"{label}.plan_compensation_cents", "is more than gross pay"))
        withholdings = st.get("withholdings") if isinstance(st.get("withholdings"), dict) else {}
        amounts = [_as_cents(v) for v in withholdings.values()]
        if gross is not None and sum(a for a in amounts if a and a > 0) > gross:
            problems.append((f"{label}.withholdings", "add up to more than gross pay"))
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


def known_external_ids(session: Session, employer_id: str) -> set[str]:
    return set(session.scalars(select(Employee.external_id).where(Employee.employer_id == employer_id)))


def ingest_pay_run(session: Session, vault: PiiVault, actor: Actor, employer: Employer, payload: dict, *,
                   via: str, connection_id: str | None, today: date, digest: str | None = None) -> PayRunResult:
    """`digest` identifies the request's exact contents (the API passes a hash of the raw body a provider
    signed); a replay has the same digest, and the same run and version with another digest is refused."""
    digest = digest or request_digest(payload)
    version = payload.get("version") or 1
    existing = session.scalar(select(PayRun).where(PayRun.employer_id == employer.id,
                                                   PayRun.provider_run_id == payload["provider_run_id"],
                                                   PayRun.version == version))
    if existing is not None:
        if existing.request_hash != digest:
            raise Conflict(f"Pay run {payload['provider_run_id']} version {version} was already received with "
                           f"different contents; send a correction as version {version + 1}.")
        return PayRunResult(existing, True, _count(session, existing, "posted"), _count(session, existing, "held"), {})
    latest = session.scalar(select(PayRun).where(PayRun.employer_id == employer.id,
                                                 PayRun.provider_run_id == payload["provider_run_id"])
                            .order_by(PayRun.version.desc()).limit(1))
    if latest is not None and version <= latest.version:
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
    problems = structural_problems(payload, known)
    if problems:
        raise ValidationFailed(problems)

    new_hires = [dict(s["employee"], external_id=s["external_id"]) for s in payload["statements"]
                 if s["external_id"] not in known]
    if new_hires:
        result = plans.load_census(session, vault, actor, employer, new_hires, today,
                                   row_label=lambda i: f"new hire {new_hires[i]['external_id']}")
        known.update((e.external_id, e) for e in result.employees)

    run = PayRun(employer_id=employer.id, plan_id=plan.id, connection_id=connection_id,
                 provider_run_id=payload["provider_run_id"], version=version, request_hash=digest,
                 pay_date=payload["pay_date"], period_start=payload["period_start"], period_end=payload["period_end"],
                 run_type=payload["run_type"], status="posted", received_via=via)
    session.add(run)
    session.flush()
    if latest is not None:
        _supersede(session, latest, run)

    context = _RunContext.load(session, vault, plan, employer, [known[x] for x in external_ids], run.pay_date)
    now = utcnow()
    statements: list[_Statement] = []
    findings_by_employee: dict[str, list[Finding]] = {}
    hired_now = {h["external_id"] for h in new_hires}
    statement_ids = new_ids("pst", len(payload["statements"]))
    for position, st in enumerate(payload["statements"]):
        employee = known[st["external_id"]]
        withholdings = {money_type: cents for money_type, cents in st["withholdings"].items() if cents}
        findings = context.findings(employee, st, withholdings, new_hire=st["external_id"] in hired_now)
        match_cents, match_source = (st["employer_match_cents"], "provider") if st.get("employer_match_cents") is not None \
            else (context.computed_match(employee, st["plan_compensation_cents"], withholdings), "computed")
        held = any(f.severity == "hold" for f in findings)
        statement = _Statement(id=statement_ids[position], pay_run_id=run.id, position=position, employee_id=employee.id,
                               gross_cents=st["gross_pay_cents"], plan_compensation_cents=st["plan_compensation_cents"],
                               hours=st.get("hours"), withholdings=withholdings, employer_match_cents=match_cents,
                               match_source=match_source, ytd=st.get("ytd"), status="held" if held else "posted",
                               posted_at=None if held else now)
        statements.append(statement)
        if findings:
            findings_by_employee[employee.external_id] = findings
        context.after_statement(employee, statement)
    # Statements and exceptions go in as bulk inserts: a run can carry tens of thousands of them.
    bulk_insert(session, PayStatement.__table__, [st.row() for st in statements])
    bulk_insert(session, PayrollException.__table__, [
        {"id": new_id("pex"), "employer_id": employer.id, "pay_run_id": run.id, "statement_id": st.id,
         "employee_id": st.employee_id, "code": f.code, "severity": f.severity, "message": f.message,
         "details": f.details, "status": "open", "created_at": now}
        for st in statements for f in findings_by_employee.get(context.external_id(st.employee_id), [])])

    specs = [_deposit_spec(run, statements)]
    specs += [context.contribution_spec(run, st) for st in statements if st.status == "posted"]
    ledger.post_entries(session, plan.id, [s for s in specs if s.lines])
    run.totals = _totals(statements)
    run.statement_count = len(statements)
    run.status = "posted_with_holds" if any(st.status == "held" for st in statements) else "posted"
    context.credit_hours_and_status(session, vault, payload, known, today)
    context.tell_payroll_what_follows(session, run, statements, findings_by_employee)
    record_audit(session, actor, "pay_run.received", "pay_run", run.id, employer_id=employer.id,
                 changes={"provider_run_id": run.provider_run_id, "version": version, "statements": len(statements),
                          "held": sum(st.status == "held" for st in statements), "via": via})
    publish(session, "payroll.posted", plan=plan, pay_run=run, today=today)
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


def _count(session: Session, run: PayRun, status: str) -> int:
    return session.scalar(select(func.count()).select_from(PayStatement).where(PayStatement.pay_run_id == run.id,
                                                                                PayStatement.status == status))


def _totals(statements: list[PayStatement]) -> dict:
    totals: dict[str, int] = defaultdict(int)
    for st in statements:
        if st.status != "posted":
            continue
        for money_type, cents in st.withholdings.items():
            totals[money_type] += cents
        totals["employer_match"] += st.employer_match_cents
    return dict(totals)


def _deposit_spec(run: PayRun, statements: list[PayStatement]) -> EntrySpec:
    """Payroll sends everything it withheld and the employer's match to the trust, held statements included: the
    money is in the trust either way, and waits in trust cash until the sponsor resolves the hold."""
    total = sum(sum(st.withholdings.values()) + st.employer_match_cents for st in statements)
    lines = [LineSpec(PAYROLL_CLEARING, -total), LineSpec(TRUST_CASH, total)] if total else []
    return EntrySpec(key=f"deposit:{run.id}", kind="deposit", effective_date=run.pay_date, lines=lines,
                     pay_run_id=run.id)


def _supersede(session: Session, old: PayRun, new: PayRun) -> None:
    """A correction replaces a run: every entry of the old version is reversed (never edited) and its open
    exceptions are closed; the new version then posts as if it were the first."""
    old.status = "superseded"
    entry_ids = list(session.scalars(select(LedgerEntry.id).where(LedgerEntry.pay_run_id == old.id,
                                                                  LedgerEntry.kind != "reversal")))
    ledger.post_entries(session, old.plan_id, ledger.reversal_specs(session, entry_ids))
    for exception in session.scalars(select(PayrollException).where(PayrollException.pay_run_id == old.id,
                                                                     PayrollException.status == "open")):
        exception.status, exception.resolution_note = "rejected", f"superseded by version {new.version}"
        exception.resolved_at = utcnow()


@dataclass(frozen=True)
class _Line:
    money_type: str
    percent: Decimal | None
    amount_cents: int | None


@dataclass(frozen=True)
class _Election:
    id: str
    kind: str
    effective_date: date
    lines: list[_Line]
    observed_at: date | None = None


class _RunContext:
    """Everything a run's validation and posting needs, loaded in a few queries up front, then kept current as
    statements are processed (a person paid twice in one run has their year-to-date figures carried forward)."""

    def __init__(self):
        self.by_id: dict[str, Employee] = {}

    @classmethod
    def load(cls, session: Session, vault: PiiVault, plan: Plan, employer: Employer, employees: list[Employee],
             pay_date: date) -> "_RunContext":
        """Queries are scoped by employer or plan rather than by long lists of ids, and read plain rows, not ORM
        objects: a 10,000-person run needs a handful of round trips, not thousands."""
        self = cls()
        self.plan, self.employer, self.pay_date, self.vault, self.session = plan, employer, pay_date, vault, session
        self.by_id = {e.id: e for e in employees}
        self.limits = irs.limits_for(pay_date.year)
        self.tiers = plans.match_tiers(plan)
        self.funds = {f.id: f for f in plan.funds}
        self.default_fund = plans.default_fund(plan).id
        in_employer = Employee.employer_id == employer.id
        self.entry_dates, self.statuses = {}, {}
        for employee_id, entry_date, status in session.execute(
                select(EligibilityDetermination.employee_id, EligibilityDetermination.entry_date,
                       EligibilityDetermination.status)
                .join(Employee, Employee.id == EligibilityDetermination.employee_id).where(in_employer)).all():
            self.entry_dates[employee_id], self.statuses[employee_id] = entry_date, status
        self.elections: dict[str, _Election] = {}
        lines: dict[str, list] = defaultdict(list)
        in_effect = (DeferralElection.plan_id == plan.id, DeferralElection.status == "approved",
                     DeferralElection.effective_date <= pay_date)
        for election_id, money_type, percent, amount in session.execute(
                select(ElectionLine.election_id, ElectionLine.money_type, ElectionLine.percent, ElectionLine.amount_cents)
                .join(DeferralElection, DeferralElection.id == ElectionLine.election_id).where(*in_effect)).all():
            lines[election_id].append(_Line(money_type, percent, amount))
        for election_id, employee_id, kind, effective, observed in session.execute(
                select(DeferralElection.id, DeferralElection.employee_id, DeferralElection.kind,
                       DeferralElection.effective_date, DeferralElection.observed_at).where(*in_effect)
                .order_by(DeferralElection.effective_date, DeferralElection.version)).all():
            self.elections[employee_id] = _Election(election_id, kind, effective, lines[election_id], observed)
        self.allocations: dict[str, list[tuple[str, Decimal]]] = {}
        latest: dict[str, int] = {}
        for employee_id, version, fund_id, percent in session.execute(
                select(InvestmentElection.employee_id, InvestmentElection.version, InvestmentAllocation.fund_id,
                       InvestmentAllocation.percent)
                .join(InvestmentAllocation, InvestmentAllocation.investment_election_id == InvestmentElection.id)
                .join(Employee, Employee.id == InvestmentElection.employee_id).where(in_employer)
                .order_by(InvestmentElection.version, InvestmentAllocation.position)).all():
            if latest.get(employee_id) != version:
                latest[employee_id] = version
                self.allocations[employee_id] = []
            self.allocations[employee_id].append((fund_id, percent))
        year_start, year_end = date(pay_date.year, 1, 1), date(pay_date.year, 12, 31)
        self.ytd_deferrals: dict[str, int] = defaultdict(int)
        for employee_id, cents in session.execute(
                select(LedgerAccount.employee_id, func.sum(LedgerLine.amount_cents))
                .join(LedgerLine, LedgerLine.account_id == LedgerAccount.id)
                .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
                .where(LedgerAccount.plan_id == plan.id, LedgerAccount.source.in_(DEFERRAL_TYPES),
                       LedgerEntry.kind != "investment", LedgerEntry.effective_date.between(year_start, year_end))
                .group_by(LedgerAccount.employee_id)).all():
            self.ytd_deferrals[employee_id] += int(cents)
        for employee_id, cents in session.execute(
                select(OutsideDeferral.employee_id, OutsideDeferral.amount_cents)
                .join(Employee, Employee.id == OutsideDeferral.employee_id)
                .where(in_employer, OutsideDeferral.calendar_year == pay_date.year)).all():
            self.ytd_deferrals[employee_id] += cents
        self.ytd_comp: dict[str, int] = defaultdict(int)
        for employee_id, cents in session.execute(
                select(PayStatement.employee_id, func.sum(PayStatement.plan_compensation_cents))
                .join(PayRun, PayRun.id == PayStatement.pay_run_id)
                .where(PayRun.employer_id == employer.id, PayStatement.status == "posted",
                       PayRun.status != "superseded", PayRun.pay_date.between(year_start, year_end))
                .group_by(PayStatement.employee_id)).all():
            self.ytd_comp[employee_id] = int(cents)
        self.prices = ledger.trade_prices(session, list(self.funds), pay_date)
        return self

    def external_id(self, employee_id: str) -> str:
        return self.by_id[employee_id].external_id

    def deferral_room_cents(self, employee: Employee, deferred: int) -> int:
        """What is left of 402(g) plus the catch-up the person's age allows this calendar year (IRC 402(g)(1),
        414(v)). Age needs the encrypted date of birth, so it is read only for someone near the limit."""
        room = self.limits.elective_deferral_cents - self.ytd_deferrals[employee.id]
        if deferred <= room:
            return room
        born = self.vault.open_date(self.session.get(Employee, employee.id).date_of_birth_enc)
        age = self.pay_date.year - born.year
        return room + irs.catch_up_limit(self.pay_date.year, age)

    def findings(self, employee: Employee, st: dict, withholdings: dict[str, int], new_hire: bool) -> list[Finding]:
        found: list[Finding] = []
        deferred = sum(withholdings.get(t, 0) for t in DEFERRAL_TYPES)
        election = self.elections.get(employee.id)
        if new_hire:
            found.append(Finding("new_hire_added", "warning", f"{employee.first_name} {employee.last_name} was not on "
                                 "the census and has been added from this pay run; check their details."))
        if deferred:
            entry = self.entry_dates.get(employee.id)
            if entry is None or entry > self.pay_date:
                found.append(Finding("not_eligible", "hold", f"Deferrals of ${deferred / 100:,.2f} were withheld "
                                     f"before the employee's entry date ({entry or 'not yet known'}).",
                                     {"entry_date": entry.isoformat() if entry else None, "deferred_cents": deferred}))
            elif election is not None and election.kind == "opt_out":
                found.append(Finding("opted_out", "hold", f"Deferrals of ${deferred / 100:,.2f} were withheld "
                                     f"although the employee opted out from {election.effective_date}.",
                                     {"deferred_cents": deferred}))
            room = self.deferral_room_cents(employee, deferred)
            if deferred > room:
                found.append(Finding("over_402g", "hold", f"This paycheck's deferrals (${deferred / 100:,.2f}) pass "
                                     f"the {self.pay_date.year} limit of 402(g) plus catch-up by "
                                     f"${(deferred - max(room, 0)) / 100:,.2f}.",
                                     {"room_cents": max(room, 0), "deferred_cents": deferred}))
        if not any(f.code in ("not_eligible", "opted_out") for f in found):
            # Deferring at all is the problem there; comparing amounts with an election would say it twice.
            found.extend(self._mismatches(employee, st["plan_compensation_cents"], withholdings, election))
        if employee.termination_date and self.pay_date > employee.termination_date and st.get("termination_date") is None:
            found.append(Finding("paid_after_termination", "warning", f"Paid on {self.pay_date} after termination on "
                                 f"{employee.termination_date}.", {"termination_date": employee.termination_date.isoformat()}))
        if st.get("hours") is None:
            found.append(Finding("missing_hours", "warning", "No hours were sent; eligibility and long-term part-time "
                                 "status count hours."))
        return found

    def _mismatches(self, employee: Employee, comp: int, withholdings: dict[str, int],
                    election: "_Election | None") -> list[Finding]:
        expected: dict[str, int] = {}
        if election is not None:
            for line in election.lines:
                expected[line.money_type] = (line.amount_cents if line.amount_cents is not None
                                             else percent_of_cents(comp, line.percent))
        found = []
        for money_type in DEFERRAL_TYPES:
            want, got = expected.get(money_type, 0), withholdings.get(money_type, 0)
            if abs(want - got) > MISMATCH_TOLERANCE_CENTS:
                consequence = ("" if got > want else " A missed deferral opportunity: the employer may owe a "
                                                     "corrective contribution (IRS 401(k) Fix-It Guide, mistake 7).")
                found.append(Finding("deferral_mismatch", "warning",
                                     f"{money_type} withheld ${got / 100:,.2f}, the election in effect asks for "
                                     f"${want / 100:,.2f} ({'over' if got > want else 'under'}-withheld by "
                                     f"${abs(got - want) / 100:,.2f}).{consequence}",
                                     {"money_type": money_type, "expected_cents": want, "withheld_cents": got,
                                      "election_id": election.id if election else None}))
        return found

    def computed_match(self, employee: Employee, comp: int, withholdings: dict[str, int]) -> int:
        """The plan formula applied to this pay period, on pay up to the 401(a)(17) limit for the year."""
        counted = max(0, min(comp, self.limits.compensation_limit_cents - self.ytd_comp[employee.id]))
        deferred = sum(withholdings.get(t, 0) for t in DEFERRAL_TYPES)
        if not self.tiers or counted <= 0 or deferred <= 0:
            return 0
        percent = min(HUNDRED, Decimal(deferred) * HUNDRED / Decimal(counted))
        return percent_of_cents(counted, match_rules.match_percent_of_pay(self.tiers, percent))

    def after_statement(self, employee: Employee, statement: PayStatement) -> None:
        if statement.status == "posted":
            self.ytd_deferrals[employee.id] += sum(statement.withholdings.get(t, 0) for t in DEFERRAL_TYPES)
            self.ytd_comp[employee.id] += statement.plan_compensation_cents

    def contribution_spec(self, run: PayRun, statement: PayStatement) -> EntrySpec:
        """Trust cash → the participant's accounts, by source, split over their funds, bought at the first price on
        or after the pay date (or held as pending cash for the fund until that price arrives)."""
        allocation = self.allocations.get(statement.employee_id) or [(self.default_fund, HUNDRED)]
        amounts = dict(statement.withholdings)
        if statement.employer_match_cents:
            amounts["employer_match"] = statement.employer_match_cents
        lines, total = [], 0
        trade_dates = set()
        for source, cents in amounts.items():
            for (fund_id, _), part in zip(allocation, split_cents(cents, [p for _, p in allocation])):
                if not part:
                    continue
                priced = self.prices.get(fund_id)
                if priced is None:
                    lines.append(LineSpec(AccountRef("participant_pending", statement.employee_id, source, fund_id), part))
                else:
                    trade_dates.add(priced[0])
                    lines.append(LineSpec(AccountRef("participant", statement.employee_id, source, fund_id), part,
                                          units_for(part, priced[1]), priced[1]))
                total += part
        lines.append(LineSpec(TRUST_CASH, -total))
        if not total:
            lines = []  # nothing was withheld or matched: no entry at all
        return EntrySpec(key=f"contribution:{run.id}:{statement.employee_id}", kind="contribution",
                         effective_date=run.pay_date, lines=lines, employee_id=statement.employee_id,
                         pay_run_id=run.id, trade_date=max(trade_dates) if trade_dates else None)

    def tell_payroll_what_follows(self, session: Session, run: PayRun, statements: list, findings: dict) -> None:
        """After a run: elections payroll applied as asked are "observed"; anyone whose next paycheck would pass
        the 402(g) limit (catch-up included by age) gets a cap-and-stop, and a resume on January 1."""
        observed = []
        next_pay = next_pay_date(self.employer.pay_frequency, self.employer.anchor_pay_date, run.pay_date)
        for st in statements:
            election = self.elections.get(st.employee_id)
            if st.status != "posted" or election is None:
                continue
            codes = {f.code for f in findings.get(self.by_id[st.employee_id].external_id, [])}
            if "deferral_mismatch" not in codes and election.lines and election.observed_at is None:
                observed.append(election.id)
            upcoming = sum(line.amount_cents if line.amount_cents is not None
                           else percent_of_cents(st.plan_compensation_cents, line.percent) for line in election.lines)
            if not upcoming or next_pay.year != run.pay_date.year:
                continue
            employee = self.by_id[st.employee_id]
            room = self.deferral_room_cents(employee, upcoming)
            if upcoming <= room:
                continue
            subject = f"402g_limit:{st.employee_id}:{run.pay_date.year}"
            if session.scalar(select(OutboxMessage.id).where(OutboxMessage.subject_id == subject)):
                continue
            full = session.get(Employee, st.employee_id)
            automatic.stop_deferrals(session, full, next_pay, "402g_limit", cap_cents=max(room, 0),
                                     resume_on=f"{run.pay_date.year + 1}-01-01")
            enqueue(session, "payroll.deferral_change", enrollment.payroll_recipient(full.employer_id, full.id),
                    employer_id=full.employer_id, subject_id=f"402g_resume:{full.id}:{run.pay_date.year + 1}",
                    payload={"action": "set", "reason": "402g_resume", "employee_id": full.id,
                             "external_id": full.external_id, "election_id": election.id,
                             "effective_date": f"{run.pay_date.year + 1}-01-01",
                             "lines": [enrollment.line_dict(line) for line in election.lines]})
        enrollment.mark_observed(session, observed, run.pay_date)

    def credit_hours_and_status(self, session: Session, vault: PiiVault, payload: dict, known: dict[str, Employee],
                                today: date) -> None:
        """Hours count toward eligibility, so they are credited to people not yet in the plan (for those already
        in, nothing in this slice reads them), and a final-pay termination date updates the census."""
        changed = []
        for st in payload["statements"]:
            row = known[st["external_id"]]
            needs_hours = st.get("hours") is not None and self.statuses.get(row.id) != "eligible"
            terminates = st.get("termination_date") and row.termination_date != st["termination_date"]
            if not (needs_hours or terminates):
                continue
            employee = session.get(Employee, row.id)
            touched = False
            if needs_hours:
                start = employee.rehire_date or employee.hire_date
                period = start
                while add_months(period, 12) <= self.pay_date:
                    period = add_months(period, 12)
                key = period.isoformat()
                hours = dict(employee.hours_by_period or {})
                hours[key] = int(hours.get(key, 0) + Decimal(str(st["hours"])))
                employee.hours_by_period = hours
                touched = True
            if terminates:
                employee.termination_date = st["termination_date"]
                automatic.stop_deferrals(session, employee, st["termination_date"], "termination")
                touched = True
            if touched:
                changed.append(employee)
        if changed:
            publish(session, "census.changed", employees=changed, today=today, vault=vault)


# ---- prices arriving later -------------------------------------------------------------------------------------

def invest_pending(session: Session, plan: Plan) -> int:
    """Buy units for cash waiting in pending accounts, at each fund's first price on or after the money's pay
    date. Returns how many entries were posted. Safe to run any number of times."""
    rows = session.execute(
        select(LedgerEntry.id, LedgerEntry.effective_date, LedgerAccount.employee_id, LedgerAccount.source,
               LedgerAccount.fund_id, LedgerLine.amount_cents)
        .join(LedgerLine, LedgerLine.entry_id == LedgerEntry.id)
        .join(LedgerAccount, LedgerAccount.id == LedgerLine.account_id)
        .where(LedgerAccount.plan_id == plan.id, LedgerAccount.kind == "participant_pending",
               LedgerEntry.kind == "contribution")).all()
    done = set(session.scalars(select(LedgerEntry.idempotency_key).where(
        LedgerEntry.plan_id == plan.id, LedgerEntry.idempotency_key.like("invest:%"))))
    reversed_ids = set(session.scalars(select(LedgerEntry.reverses_entry_id).where(
        LedgerEntry.plan_id == plan.id, LedgerEntry.kind == "reversal")))
    by_entry: dict[tuple, list] = defaultdict(list)
    for entry_id, effective, employee_id, source, fund_id, cents in rows:
        if entry_id not in reversed_ids:
            by_entry[(entry_id, effective, employee_id)].append((source, fund_id, cents))
    specs = []
    # One price lookup per pay date, for every fund waiting to be invested (not one per contribution).
    waiting_funds = list({fund_id for parts in by_entry.values() for _, fund_id, _ in parts})
    prices_by_day: dict[date, dict] = {}
    for (entry_id, effective, employee_id), parts in by_entry.items():
        key = f"invest:{entry_id}"
        if key in done:
            continue
        if effective not in prices_by_day:
            prices_by_day[effective] = ledger.trade_prices(session, waiting_funds, effective)
        prices = prices_by_day[effective]
        if any(fund_id not in prices for _, fund_id, _ in parts):
            continue  # some fund is still unpriced: invest the whole contribution together later
        lines = []
        for source, fund_id, cents in parts:
            price = prices[fund_id][1]
            lines.append(LineSpec(AccountRef("participant_pending", employee_id, source, fund_id), -cents))
            lines.append(LineSpec(AccountRef("participant", employee_id, source, fund_id), cents,
                                  units_for(cents, price), price))
        specs.append(EntrySpec(key=key, kind="investment", effective_date=effective, lines=lines,
                               employee_id=employee_id, trade_date=max(prices[f][0] for _, f, _ in parts)))
    ledger.post_entries(session, plan.id, specs)
    return len(specs)


# ---- the sponsor's exceptions queue ----------------------------------------------------------------------------

def exception_for(session: Session, principal: Principal, exception_id: str) -> PayrollException:
    exception = session.get(PayrollException, exception_id)
    if exception is None:
        raise NotFound("No such payroll exception.")
    plans.employer_for(session, principal, exception.employer_id)
    return exception


def resolve_exception(session: Session, vault: PiiVault, actor: Actor, principal: Principal, exception_id: str, action: str,
                      note: str | None, corrected: dict[str, int] | None, today: date) -> PayrollException:
    """accept: the statement stands (a held one is posted); correct: the statement is posted with the corrected
    withholdings (a posted one is reversed first); reject: a held statement is not posted and its money goes back
    to payroll, a posted one is reversed."""
    policy.RESOLVE_PAYROLL.check(principal)
    exception = exception_for(session, principal, exception_id)
    if exception.status != "open":
        raise Conflict(f"This exception is already {exception.status}.")
    if action == "correct" and not corrected:
        raise ValidationFailed([("withholdings", "are required to correct a statement")])
    statement = session.get(PayStatement, exception.statement_id)
    run = session.get(PayRun, statement.pay_run_id)
    if run.status == "superseded":
        raise Conflict("This pay run was corrected by a later version; resolve that version's exceptions.")
    employer = session.get(Employer, run.employer_id)
    plan = session.get(Plan, run.plan_id)
    siblings = list(session.scalars(select(PayrollException).where(PayrollException.statement_id == statement.id,
                                                                   PayrollException.status == "open")))
    revision = 1 + sum(1 for _ in session.scalars(select(PayrollException.id).where(
        PayrollException.statement_id == statement.id, PayrollException.status == "corrected")))
    in_trust = sum(statement.withholdings.values()) + statement.employer_match_cents  # what payroll deposited
    if action in ("correct", "reject") and statement.status == "posted":
        # Take the posted money back out of the participant's accounts (reversals, never edits).
        entry_ids = list(session.scalars(select(LedgerEntry.id).where(
            LedgerEntry.pay_run_id == run.id, LedgerEntry.employee_id == statement.employee_id,
            LedgerEntry.kind == "contribution")))
        reversed_ids = set(session.scalars(select(LedgerEntry.reverses_entry_id).where(
            LedgerEntry.reverses_entry_id.in_(entry_ids))))
        ledger.post_entries(session, plan.id, ledger.reversal_specs(
            session, [e for e in entry_ids if e not in reversed_ids]))
    if action == "correct":
        context = _RunContext.load(session, vault, plan, employer, [session.get(Employee, statement.employee_id)],
                                   run.pay_date)
        statement.withholdings = {k: v for k, v in corrected.items() if v}
        if statement.match_source == "computed":
            statement.employer_match_cents = context.computed_match(
                session.get(Employee, statement.employee_id), statement.plan_compensation_cents,
                statement.withholdings)
        spec = context.contribution_spec(run, statement)
        spec.key = f"{spec.key}:r{revision}"
        # Payroll sends (or takes back) the difference, so the trust still holds exactly what was posted.
        delta = sum(statement.withholdings.values()) + statement.employer_match_cents - in_trust
        adjustment = EntrySpec(key=f"deposit-adjustment:{statement.id}:r{revision}", kind="deposit",
                               effective_date=run.pay_date, pay_run_id=run.id, employee_id=statement.employee_id,
                               lines=[LineSpec(PAYROLL_CLEARING, -delta), LineSpec(TRUST_CASH, delta)] if delta else [])
        ledger.post_entries(session, plan.id, [e for e in (adjustment, spec) if e.lines])
        statement.status, statement.posted_at = "posted", utcnow()
    elif action == "accept" and statement.status == "held":
        context = _RunContext.load(session, vault, plan, employer, [session.get(Employee, statement.employee_id)],
                                   run.pay_date)
        spec = context.contribution_spec(run, statement)
        ledger.post_entries(session, plan.id, [spec] if spec.lines else [])
        statement.status, statement.posted_at = "posted", utcnow()
    elif action == "reject":
        # The money goes back to payroll (to refund the employee): out of the trust, back to clearing.
        statement.status = "rejected"
        if in_trust:  # a statement that carried no money has nothing to send back: no entry
            ledger.post_entries(session, plan.id, [EntrySpec(
                key=f"refund:{statement.id}", kind="refund", effective_date=run.pay_date, pay_run_id=run.id,
                employee_id=statement.employee_id,
                lines=[LineSpec(TRUST_CASH, -in_trust), LineSpec(PAYROLL_CLEARING, in_trust)])])
    outcome = {"accept": "accepted", "correct": "corrected", "reject": "rejected"}[action]
    for item in siblings:
        if item.id == exception.id or item.severity == "hold" or action != "accept":
            item.status, item.resolved_by, item.resolved_at = outcome, actor.user_id, utcnow()
            item.resolution_note = note
    run.totals = _totals(run.statements)
    run.status = "posted_with_holds" if any(st.status == "held" for st in run.statements) else "posted"
    record_audit(session, actor, f"payroll_exception.{outcome}", "payroll_exception", exception.id,
                 {"code": exception.code, "note": note, "corrected": corrected}, employer_id=employer.id)
    publish(session, "payroll.posted", plan=plan, pay_run=run, today=today)
    return exception
