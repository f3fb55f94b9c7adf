"""The plan's compliance from its live data: year-to-date actuals from the ledger and pay statements, and a
year-end projection that applies each employee's election in effect to their remaining pay dates.

The tests themselves are the pure engine (report.run_plan_tests); this module only gathers its input from the one
database, so there is no census to export: the sponsor sees the plan's state whenever they look."""
from collections import defaultdict
from dataclasses import replace
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from backend.accounts.models import LedgerAccount, LedgerEntry, LedgerLine
from backend.compliance.model import Participant, PlanTestInput
from backend.compliance.report import run_plan_tests
from backend.db import utcnow
from backend.events import CensusChanged, ComplianceWarningRaised, ElectionApproved, PayRunPosted, publish
from backend.jobs import Job, request_job
from backend.enrollment.models import EligibilityDetermination
from backend.money import HUNDRED, percent_of_cents, percent_str, round_half_up
from backend.payroll.models import PayRun, PayStatement
from backend.plans.models import Employee, Employer, Plan
from backend.plans.pii import PiiVault
from backend.plans.schedules import pay_dates_between, periods_per_year

_SOURCE_FIELD = {"pretax": "pretax_cents", "roth": "roth_cents", "pretax_catchup": "catch_up_cents",
                 "roth_catchup": "catch_up_cents", "employer_match": "match_cents", "after_tax": "after_tax_cents",
                 "nonelective": "nonelective_cents", "safe_harbor": "nonelective_cents"}


def _year_to_date(session: Session, plan: Plan, year: int, as_of: date,
                  only: str | None = None) -> tuple[dict, dict, dict]:
    """(money by employee and engine field, plan compensation by employee, balances by employee) for the
    calendar year up to `as_of`; for one employee when `only` names them."""
    who = LedgerAccount.employee_id == only if only else LedgerAccount.employee_id.is_not(None)
    money: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for employee_id, source, cents in session.execute(
            select(LedgerAccount.employee_id, LedgerAccount.source, func.sum(LedgerLine.amount_cents))
            .join(LedgerLine, LedgerLine.account_id == LedgerAccount.id)
            .join(LedgerEntry, LedgerEntry.id == LedgerLine.entry_id)
            .where(LedgerAccount.plan_id == plan.id, who,
                   LedgerEntry.kind != "investment",
                   LedgerEntry.effective_date.between(date(year, 1, 1), min(as_of, date(year, 12, 31))))
            .group_by(LedgerAccount.employee_id, LedgerAccount.source)).all():
        if source in _SOURCE_FIELD:
            money[employee_id][_SOURCE_FIELD[source]] += int(cents)
    compensation = _posted_pay(session, plan, PayStatement.plan_compensation_cents, date(year, 1, 1),
                               min(as_of, date(year, 12, 31)), only)
    balances = dict(session.execute(
        select(LedgerAccount.employee_id, func.sum(LedgerLine.amount_cents))
        .join(LedgerLine, LedgerLine.account_id == LedgerAccount.id)
        .where(LedgerAccount.plan_id == plan.id, who)
        .group_by(LedgerAccount.employee_id)).all())
    return money, compensation, {k: int(v) for k, v in balances.items()}


def plan_year_inputs(session: Session, vault: PiiVault, plan: Plan, as_of: date,
                     what_if: dict[str, Decimal] | None = None,
                     only: str | None = None) -> tuple[PlanTestInput, PlanTestInput]:
    """The engine's input twice: as of today, and projected to the year's end (each employee's current election,
    or the `what_if` deferral percent given for them, applied to each remaining pay date). `only` limits it to
    one employee (the incremental update after their election changes)."""
    year = as_of.year
    employer = session.get(Employer, plan.employer_id)
    money, compensation, balances = _year_to_date(session, plan, year, as_of, only)
    remaining = pay_dates_between(employer.pay_frequency, employer.anchor_pay_date,
                                  date.fromordinal(as_of.toordinal() + 1), date(year, 12, 31))
    per_year = periods_per_year(employer.pay_frequency)
    people = Employee.id == only if only else Employee.employer_id == employer.id
    entry_dates = dict(session.execute(
        select(EligibilityDetermination.employee_id, EligibilityDetermination.entry_date)
        .join(Employee, Employee.id == EligibilityDetermination.employee_id).where(people)).all())
    elections = _approved_elections(session, plan, only)
    # Gross pay is 415(c)(3) compensation, as 414(q)(4) asks for the look-back year.
    prior_pay = (_posted_pay(session, plan, PayStatement.gross_cents, date(year - 1, 1, 1), date(year - 1, 12, 31),
                             only) if _payroll_covers(session, plan, year - 1) else None)
    today_rows, projected_rows = [], []
    # Plain rows, not ORM objects: a 10,000-person plan is read on every recompute.
    for employee in session.execute(
            select(Employee.id, Employee.external_id, Employee.date_of_birth_enc, Employee.hire_date,
                   Employee.termination_date, Employee.annual_compensation_cents, Employee.ownership_percent,
                   Employee.officer).where(people).order_by(Employee.external_id)).all():
        entry = entry_dates.get(employee.id)
        eligible = bool(entry and entry <= date(year, 12, 31))
        ytd = money.get(employee.id, {})
        per_check = employee.annual_compensation_cents // per_year
        employed = not (employee.termination_date and employee.termination_date <= as_of)
        future_checks = [d for d in remaining if not employee.termination_date or d <= employee.termination_date]
        base = Participant(
            employee_id=employee.external_id, date_of_birth=vault.open_date(employee.date_of_birth_enc),
            hire_date=employee.hire_date, compensation_cents=compensation.get(employee.id, 0),
            account_balance_cents=max(0, balances.get(employee.id, 0)), ownership_percent=employee.ownership_percent,
            # The look-back year's pay (HCE status, 414(q)): the plan's payroll when it covers that whole year,
            # otherwise the census's annual pay stands in for it.
            prior_year_compensation_cents=(employee.annual_compensation_cents if prior_pay is None
                                           else prior_pay.get(employee.id, 0)), officer=employee.officer,
            eligible=eligible, employed_at_year_end=employed, **{k: v for k, v in ytd.items()})
        today_rows.append(base)
        extra = _projected_cents(plan, elections.get(employee.id, []), per_check, future_checks,
                                 (what_if or {}).get(employee.external_id), eligible)
        projected_rows.append(replace(base, compensation_cents=base.compensation_cents + per_check * len(future_checks),
                                      pretax_cents=base.pretax_cents + extra["pretax"],
                                      roth_cents=base.roth_cents + extra["roth"],
                                      match_cents=base.match_cents + extra["match"]))
    safe_harbor = None if plan.safe_harbor == "none" else plan.safe_harbor
    first_year = plan.effective_date.year == year
    make = lambda rows: PlanTestInput(year=year, participants=tuple(rows), safe_harbor=safe_harbor,  # noqa: E731
                                      first_plan_year=first_year, eaca=plan.auto_enroll)
    return make(today_rows), make(projected_rows)


def _posted_pay(session: Session, plan: Plan, column, start: date, end: date, only: str | None) -> dict[str, int]:
    """Each employee's sum of a pay statement column over the plan's posted pay runs paid from `start` to `end`."""
    return {k: int(v) for k, v in session.execute(
        select(PayStatement.employee_id, func.sum(column))
        .join(PayRun, PayRun.id == PayStatement.pay_run_id)
        .where(PayRun.plan_id == plan.id, PayRun.status != "superseded", PayStatement.status == "posted",
               PayRun.pay_date.between(start, end),
               PayStatement.employee_id == only if only else PayStatement.employee_id.is_not(None))
        .group_by(PayStatement.employee_id)).all()}


def _approved_elections(session: Session, plan: Plan, only: str | None = None) -> dict[str, list]:
    """Every approved election of the plan with its lines, by employee, in the order they take effect (two
    queries for the whole plan, not one per employee and pay date)."""
    from backend.enrollment.models import DeferralElection, ElectionLine

    scope = [DeferralElection.plan_id == plan.id, DeferralElection.status == "approved"]
    if only:
        scope.append(DeferralElection.employee_id == only)
    lines = defaultdict(list)
    for election_id, money_type, percent, amount in session.execute(
            select(ElectionLine.election_id, ElectionLine.money_type, ElectionLine.percent, ElectionLine.amount_cents)
            .join(DeferralElection, DeferralElection.id == ElectionLine.election_id).where(*scope)).all():
        lines[election_id].append((money_type, percent, amount))
    by_employee = defaultdict(list)
    for election_id, employee_id, effective in session.execute(
            select(DeferralElection.id, DeferralElection.employee_id, DeferralElection.effective_date)
            .where(*scope).order_by(DeferralElection.effective_date, DeferralElection.version)).all():
        by_employee[employee_id].append((effective, lines[election_id]))
    return by_employee


def _projected_cents(plan: Plan, elections: list, per_check: int, checks: list[date], what_if: Decimal | None,
                     eligible: bool) -> dict[str, int]:
    """What the rest of the year adds: the election in effect on each remaining pay date, and its match. Each
    election in effect is priced once per paycheck and counted for the paychecks it covers."""
    extra = {"pretax": 0, "roth": 0, "match": 0}
    if not eligible or not checks:
        return extra
    if what_if is not None:
        paychecks = {None: len(checks)}
    else:
        # How many paychecks each election covers (by its index in effective-date order; -1 for none yet).
        paychecks: dict[int | None, int] = {}
        for pay_date in checks:
            which = -1
            for i, (effective, _) in enumerate(elections):
                if effective <= pay_date:
                    which = i
            paychecks[which] = paychecks.get(which, 0) + 1
    for which, count in paychecks.items():
        if which is None:
            lines = {"pretax": percent_of_cents(per_check, what_if)}
        else:
            lines = defaultdict(int)
            for money_type, percent, amount in elections[which][1] if which >= 0 else ():
                cents = amount if amount is not None else percent_of_cents(per_check, percent)
                lines["roth" if money_type.startswith("roth") else "pretax"] += cents
        extra["pretax"] += lines.get("pretax", 0) * count
        extra["roth"] += lines.get("roth", 0) * count
        extra["match"] += _match_per_check(plan, per_check, sum(lines.values())) * count
    return extra


def _match_per_check(plan: Plan, per_check: int, deferred: int) -> int:
    from backend.plans import match as match_rules
    from backend.plans.service import match_tiers

    tiers = match_tiers(plan)
    if not tiers or not per_check or not deferred:
        return 0
    percent = min(HUNDRED, Decimal(deferred) * HUNDRED / per_check)
    return percent_of_cents(per_check, match_rules.match_percent_of_pay(tiers, percent))


def compliance_state(session: Session, vault: PiiVault, plan: Plan, as_of: date,
                     what_if: dict[str, Decimal] | None = None, keep_ratios: bool = False) -> dict:
    """Year-to-date and projected results of every test, with what would fix a failing projection, and the
    plan's status: at risk when the projection fails, narrow margin when it passes by less than the plan's
    warning margin."""
    return _state(session, plan, as_of, *plan_year_inputs(session, vault, plan, as_of, what_if), keep_ratios)


def _state(session: Session, plan: Plan, as_of: date, today_input: PlanTestInput, projected_input: PlanTestInput,
           keep_ratios: bool = False) -> dict:
    members: dict = {}
    today_result, projected = run_plan_tests(today_input), run_plan_tests(projected_input, members)
    if keep_ratios:
        _store_ratios(session, plan, projected_input.year, members["adp"], members["acp"])
    state = {"as_of": as_of.isoformat(), "year": as_of.year, "year_to_date": today_result, "projection": projected,
             "prior_year_compensation": _prior_year_basis(session, plan, as_of.year)}
    state.update(assess(projected, plan.compliance_warning_margin))
    return state


def assess(projection: dict, warning_margin: Decimal) -> dict:
    """The status of a projection: `at_risk` when ADP or ACP fails; `narrow_margin` when every test passes but
    one passes by less than `warning_margin` percentage points; `on_track` otherwise."""
    failing = [name for name in ("adp", "acp") if not projection[name]["passed"]]
    narrow = [name for name in ("adp", "acp") if projection[name]["passed"] and not projection[name]["exempt"]
              and projection[name]["margin"] is not None and Decimal(str(projection[name]["margin"])) < warning_margin]
    status = "at_risk" if failing else "narrow_margin" if narrow else "on_track"
    return {"status": status, "failing_tests": failing, "narrow_margin_tests": narrow,
            "warning_margin": percent_str(warning_margin)}


# ---- kept current --------------------------------------------------------------------------------------------

RECOMPUTE_JOB = "compliance.recompute"
WARNING_STATUSES = ("at_risk", "narrow_margin")


def request_recompute(session: Session, plan_id: str, trigger: str, as_of: date) -> None:
    """Ask for the plan's state to be recomputed, in the same transaction as the change that moves it. The job
    runner does it moments later. A request while one for the plan's year is queued merges into it, carrying the
    newest as-of date; the year is part of the subject because each year's state is kept on its own, so a
    request on New Year's Day does not swallow the last one of December."""
    request_job(session, RECOMPUTE_JOB, {"plan_id": plan_id, "trigger": trigger, "as_of": as_of.isoformat()},
                subject=f"{plan_id}:{as_of.year}", merge=_newest_as_of)


def _newest_as_of(queued: dict, asked: dict) -> dict:
    return asked if asked["as_of"] >= queued["as_of"] else queued


def _figures(state: dict) -> dict:
    projection = state["projection"]
    figures = {name: {key: projection[name][key] for key in ("hce_average", "nhce_average", "limit", "margin", "passed")}
               for name in ("adp", "acp")}
    figures["warning_margin"] = state.get("warning_margin")
    return figures


def jsonable(state: dict) -> dict:
    """As the API shows it and as it is stored: Decimals as their exact digits in strings."""
    import json

    return json.loads(json.dumps(state, default=str))


def recompute(session: Session, vault: PiiVault, plan: Plan, as_of: date, trigger: str) -> dict:
    """Compute, store the state and a history point, and raise an early warning when the status turns at risk or
    narrow (once per change of status, never on every pay run while it stays so)."""
    state = jsonable(compliance_state(session, vault, plan, as_of, keep_ratios=True))
    state["refresh"] = "full"
    _store(session, plan, as_of, state, trigger)
    return state


def _store(session: Session, plan: Plan, as_of: date, state: dict, trigger: str) -> None:
    from backend.compliance.models import ComplianceSnapshot, ComplianceState

    stored = session.get(ComplianceState, (plan.id, as_of.year))
    previous = stored.status if stored else "on_track"
    if stored is None:
        session.add(ComplianceState(plan_id=plan.id, year=as_of.year, status=state["status"], trigger=trigger,
                                    result=state))
    else:
        stored.status, stored.trigger, stored.result, stored.computed_at = state["status"], trigger, state, utcnow()
    session.add(ComplianceSnapshot(plan_id=plan.id, year=as_of.year, status=state["status"], figures=_figures(state)))
    if state["status"] in WARNING_STATUSES and previous != state["status"]:
        _warn(session, plan, as_of, state)


def refresh_stale(session: Session, today: date) -> int:
    """Ask for a recompute of every plan whose state for this year is missing or older than `today`; how many."""
    from backend.compliance.models import ComplianceState

    current = dict(session.execute(select(ComplianceState.plan_id, ComplianceState.result["as_of"].as_string())
                                   .where(ComplianceState.year == today.year)).all())
    stale = [plan_id for plan_id in session.scalars(select(Plan.id).where(Plan.effective_date <= today))
             if current.get(plan_id) != today.isoformat()]
    for plan_id in stale:
        request_recompute(session, plan_id, "daily", today)
    return len(stale)


def stored_state(session: Session, plan: Plan, year: int) -> dict | None:
    """The state as last kept current (by the worker's full computation or an election's incremental update),
    with when and why; None before the first computation of the year."""
    from backend.compliance.models import ComplianceState

    stored = session.get(ComplianceState, (plan.id, year))
    return None if stored is None else {**stored.result, "computed_at": stored.computed_at, "trigger": stored.trigger}


def set_warning_margin(session: Session, actor, plan: Plan, margin: Decimal, today: date) -> None:
    """Change the margin below which a passing projection warns; the stored status is re-assessed at once."""
    from backend.compliance.models import ComplianceState
    from backend.audit import record_audit

    before = plan.compliance_warning_margin
    plan.compliance_warning_margin = margin
    record_audit(session, actor, "plan.compliance_settings_changed", "plan", plan.id, employer_id=plan.employer_id,
                 changes={"warning_margin": {"from": percent_str(before), "to": percent_str(margin)}})
    stored = session.get(ComplianceState, (plan.id, today.year))
    if stored is not None:
        state = {**stored.result, **assess(stored.result["projection"], margin)}
        _store(session, plan, date.fromisoformat(state["as_of"]), state, "settings")


def _warn(session: Session, plan: Plan, as_of: date, state: dict) -> None:
    """The early warning, with the numbers and the fix for each test concerned; published for notifications."""
    from backend.compliance.models import ComplianceWarning

    projection, year = state["projection"], as_of.year
    if state["status"] == "at_risk":
        tests = state["failing_tests"]
        names = " and ".join(name.upper() for name in tests)
        message = (f"At the current elections the plan is on track to fail its {year} {names} test "
                   + "; ".join(f"({name.upper()}: HCEs {projection[name]['hce_average']}% against a limit of "
                               f"{projection[name]['limit']}%)" for name in tests)
                   + ". There is still time to act: see the fix for each test.")
    else:
        tests = state["narrow_margin_tests"]
        message = (f"The plan's {year} projection passes, but by less than its warning margin of "
                   f"{state['warning_margin']} points: "
                   + "; ".join(f"{name.upper()} HCEs {projection[name]['hce_average']}% against a limit of "
                               f"{projection[name]['limit']}% (margin {projection[name]['margin']})" for name in tests)
                   + ". The highest deferral percent HCEs can elect is in the fix.")
    fix = {name: {key: projection[name].get(key) for key in ("refunds", "recharacterized_catch_up", "qnec",
                                                              "nhce_increase", "hce_ratio_cap", "limit", "margin")}
           for name in tests}
    warning = ComplianceWarning(plan_id=plan.id, year=year, status=state["status"],
                                failing_tests=state["failing_tests"], narrow_margin_tests=state["narrow_margin_tests"],
                                fix=fix, message=message)
    session.add(warning)
    session.flush()
    publish(session, ComplianceWarningRaised(plan.id, warning.id, warning.status))


def run_recompute(session: Session, job: Job, vault: PiiVault) -> None:
    """The job runner's full recompute, asked for by `request_recompute`; it commits with the job's completion."""
    plan = session.get(Plan, job.payload["plan_id"])
    if plan is not None:  # (a plan removed since has nothing left to compute)
        recompute(session, vault, plan, date.fromisoformat(job.payload["as_of"]), job.payload["trigger"])


def recompute_after_pay_run(session: Session, event: PayRunPosted) -> None:
    """Every pay run moves year-to-date figures for everyone paid: the worker recomputes the whole plan."""
    request_recompute(session, event.plan_id, f"pay_run:{event.pay_run_id}", event.on)


def recompute_after_census(session: Session, event: CensusChanged) -> None:
    """Pay, ownership and officers decide HCE and key-employee status."""
    for plan_id in session.scalars(select(Plan.id).where(Plan.employer_id == event.employer_id)):
        request_recompute(session, plan_id, "census", event.on)


def move_after_election(session: Session, event: ElectionApproved, vault: PiiVault) -> None:
    """The averages move at once (incremental); the corrections follow with the worker's full computation."""
    update_after_election(session, vault, session.get(Plan, event.plan_id), event.employee_id, event.on)
    request_recompute(session, event.plan_id, f"election:{event.election_id}", event.on)


# ---- incremental: one employee's election changed -----------------------------------------------------------

def _store_ratios(session: Session, plan: Plan, year: int, adp: list, acp: list) -> None:
    """Each tested employee's projected ratios (the engine's ADP and ACP members), kept for the incremental
    update."""
    from sqlalchemy import delete

    from backend.compliance.models import ComplianceRatio
    from backend.db import bulk_insert

    acr = {m.employee_id: m.ratio for m in acp}
    session.execute(delete(ComplianceRatio).where(ComplianceRatio.plan_id == plan.id, ComplianceRatio.year == year))
    bulk_insert(session, ComplianceRatio.__table__, [
        {"plan_id": plan.id, "year": year, "external_id": m.employee_id, "hce": m.hce, "adr": m.ratio,
         "acr": acr.get(m.employee_id, Decimal(0))} for m in adp])


def update_after_election(session: Session, vault: PiiVault, plan: Plan, employee_id: str,
                          as_of: date) -> dict | None:
    """Move the stored projection by one employee's new election: their ratios are recomputed from their own
    data and the group averages re-summed from the stored ratios, without testing the whole plan again. When a
    test now fails, its corrections (who is refunded how much) are those of the last full computation, marked
    `corrections_stale` until the worker's full computation, which follows. None when there is nothing stored to
    update (the full computation does it all)."""
    from backend.compliance.adp_acp import highest_passing_hce_average
    from backend.compliance.models import ComplianceRatio, ComplianceState
    from backend.compliance.report import PASSING_CORRECTION, ratio_test_members

    stored = session.get(ComplianceState, (plan.id, as_of.year))
    if stored is None:
        return None
    _, projected_input = plan_year_inputs(session, vault, plan, as_of, only=employee_id)
    if not projected_input.participants:
        return None
    person = projected_input.participants[0]
    row = session.get(ComplianceRatio, (plan.id, as_of.year, person.employee_id))
    if row is None:
        return None  # not tested (not eligible) at the last full computation
    adp, acp = ratio_test_members(projected_input, frozenset([person.employee_id]) if row.hce else frozenset())
    row.adr = adp[0].ratio if adp else Decimal(0)
    row.acr = acp[0].ratio if acp else Decimal(0)
    session.flush()
    # Both tests' sums by group in one query: {hce: (sum of ADP ratios, sum of ACP ratios, count)}.
    sums = {hce: (adr, acr, count) for hce, adr, acr, count in session.execute(
        select(ComplianceRatio.hce, func.sum(ComplianceRatio.adr), func.sum(ComplianceRatio.acr), func.count())
        .where(ComplianceRatio.plan_id == plan.id, ComplianceRatio.year == as_of.year)
        .group_by(ComplianceRatio.hce)).all()}
    state = dict(stored.result)
    projection = dict(state["projection"])
    for position, test in enumerate(("adp", "acp")):
        section = dict(projection[test])
        if section["exempt"] or section["nhce_basis"] not in ("current_year", "prior_year", "deemed_first_year"):
            continue
        averages = {hce: round_half_up(Decimal(totals[position]) / totals[2], 2)
                    for hce, totals in sums.items() if totals[2]}
        if True not in averages:
            continue
        hce = averages[True]
        nhce = averages.get(False) if section["nhce_basis"] == "current_year" else Decimal(section["nhce_average"])
        if nhce is None:
            continue
        limit = highest_passing_hce_average(nhce)
        was_passing = section["passed"]
        section.update(hce_average=str(hce), nhce_average=str(nhce), limit=str(limit), margin=str(limit - hce),
                       passed=hce <= limit)
        if section["passed"]:
            section.update(jsonable(dict(PASSING_CORRECTION)), corrections_stale=False)
        elif was_passing or section.get("corrections_stale"):
            section["corrections_stale"] = True
        projection[test] = section
    state.update(projection=projection, refresh="incremental")
    state.update(assess(projection, plan.compliance_warning_margin))
    _store(session, plan, as_of, state, f"election:{employee_id}")
    return state


def _prior_year_basis(session: Session, plan: Plan, year: int) -> str:
    """Where last year's pay (HCE look-back, IRC 414(q)) comes from: the plan's own payroll when it covers the
    whole of last year, otherwise the census's annual pay."""
    return "payroll" if _payroll_covers(session, plan, year - 1) else "census"


def _payroll_covers(session: Session, plan: Plan, year: int) -> bool:
    first = session.scalar(select(func.min(PayRun.pay_date)).where(
        PayRun.plan_id == plan.id, PayRun.status != "superseded", PayRun.pay_date.between(date(year, 1, 1),
                                                                                         date(year, 12, 31))))
    return first is not None and first <= date(year, 1, 31)


# ---- the correction plan --------------------------------------------------------------------------------------

_CORRECTION_KEYS = ("exempt", "passed", "hce_average", "nhce_average", "limit", "margin", "total_excess", "refunds",
                    "recharacterized_catch_up", "unallocated_excess", "hce_ratio_cap", "deadlines", "qnec",
                    "nhce_increase")


def correction_plan(session: Session, vault: PiiVault, plan: Plan, year: int, today: date) -> dict:
    """What it takes to fix a plan year: after the year has ended, from its final figures; during it, from the
    year-end projection, with the highest deferral percent HCEs can still elect and the test still pass."""
    final, as_of = _plan_year(plan, year, today)
    today_input, projected_input = plan_year_inputs(session, vault, plan, as_of)
    return _correction(final, as_of, today_input, projected_input,
                       run_plan_tests(today_input if final else projected_input))


def compliance_report(session: Session, vault: PiiVault, plan: Plan, year: int, today: date) -> tuple[dict, dict]:
    """(state, correction plan) for the PDF report, from one reading of the plan's data: as of today for the
    current year, as of December 31 for a year that has ended."""
    final, as_of = _plan_year(plan, year, today)
    today_input, projected_input = plan_year_inputs(session, vault, plan, as_of)
    state = _state(session, plan, as_of, today_input, projected_input)
    return state, _correction(final, as_of, today_input, projected_input,
                              state["year_to_date"] if final else state["projection"])


def _plan_year(plan: Plan, year: int, today: date) -> tuple[bool, date]:
    """(whether the year has ended, the day its figures are taken); a year the plan did not run is refused."""
    from backend.errors import ValidationFailed

    if not plan.effective_date.year <= year <= today.year:
        raise ValidationFailed([("year", f"must be a plan year from {plan.effective_date.year} to {today.year}")])
    final = year < today.year
    return final, date(year, 12, 31) if final else today


def _correction(final: bool, as_of: date, today_input: PlanTestInput, projected_input: PlanTestInput,
                result: dict) -> dict:
    sections = {name: {key: result[name][key] for key in _CORRECTION_KEYS} for name in ("adp", "acp")}
    owed = result["top_heavy"]["minimum_owed"]
    deadlines = dict(result["deadlines"])
    for name in ("adp", "acp"):
        for key, day in (result[name]["deadlines"] or {}).items():
            deadlines[f"{name}_{key}"] = day
    return {"year": as_of.year, "basis": "final" if final else "projected", "as_of": as_of.isoformat(),
            "passed": all(s["passed"] for s in sections.values()) and not result["limit_402g"]
            and not result["limit_415c"] and not owed,
            **sections, "limit_402g": result["limit_402g"], "limit_415c": result["limit_415c"],
            "top_heavy_minimum_owed": owed, "deadlines": deadlines,
            "hce_election_cap": None if final else _hce_election_cap(today_input, projected_input, result)}


def _hce_election_cap(today_input: PlanTestInput, projected_input: PlanTestInput, result: dict) -> dict | None:
    from backend.compliance.adp_acp import adp_members
    from backend.compliance.annual import annual_limit_results
    from backend.compliance.correction import HceOutlook, highest_hce_election
    from backend.irs.limits import limits_for

    section = result["adp"]
    if section["exempt"] or section["limit"] is None or not result["hce"]:
        return None
    hces = frozenset(result["hce"])
    annual_today = annual_limit_results(today_input.participants, today_input.year)
    annual_year = annual_limit_results(projected_input.participants, projected_input.year)
    counted = {m.employee_id: m.counted_cents for m in adp_members(today_input.participants, annual_today, hces)}
    year_pay = {p.employee_id: p.compensation_cents for p in projected_input.participants}
    elective = limits_for(today_input.year).elective_deferral_cents
    outlook = [HceOutlook(employee_id=p.employee_id, counted_cents=counted[p.employee_id],
                          remaining_pay_cents=max(0, year_pay[p.employee_id] - p.compensation_cents),
                          compensation_cents=annual_year[p.employee_id].plan_compensation_cents,
                          room_cents=max(0, elective - annual_today[p.employee_id].deferrals_not_catch_up_cents))
               for p in today_input.participants if p.employee_id in hces and p.employee_id in counted]
    percent = highest_hce_election(outlook, section["limit"])
    return {"percent": percent, "limit": section["limit"], "hces": sorted(h.employee_id for h in outlook)}
