"""Plan setup, object-level authorization for employers and plans, and the census."""
import json
import secrets
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from backend.errors import NotFound, ValidationFailed
from backend.audit import Actor, record_audit
from backend.events import CensusChanged, publish
from backend.identity import policy
from backend.identity.service import Principal, create_invitation
from backend.money import dollars_to_cents, percent_str
from backend.plans import match as match_rules
from backend.plans import vesting as vesting_rules
from backend.plans.models import Employee, Employer, Fund, Plan
from backend.plans.pii import PiiVault

EMPLOYER_SOURCES = ("employer_match", "nonelective", "profit_sharing")
# 414A applies to 401(k) plans established after the enactment of SECURE 2.0 (December 29, 2022).
SECURE2_ENACTMENT = date(2022, 12, 29)

DEFAULT_FUNDS = [
    {"ticker": "PLTDX", "name": "Plumb Target Date Index (QDIA)", "asset_class": "target_date", "default": True},
    {"ticker": "PLUSX", "name": "Plumb US Total Stock Index", "asset_class": "us_equity", "default": False},
    {"ticker": "PLINX", "name": "Plumb International Stock Index", "asset_class": "intl_equity", "default": False},
    {"ticker": "PLBDX", "name": "Plumb US Bond Index", "asset_class": "bond", "default": False},
    {"ticker": "PLSVX", "name": "Plumb Stable Value", "asset_class": "stable_value", "default": False},
]

_AUTO_ENROLL = {"enabled": True, "default_percent": Decimal(3), "escalation_step_percent": Decimal(1),
                "escalation_cap_percent": Decimal(10), "opt_out_window_days": 90, "notice_days": 30}
TEMPLATES: dict[str, dict] = {
    # A safe-harbor basic match (401(k)(12)(B)): no ADP/ACP testing, match immediately vested.
    "safe_harbor_match": {
        "plan_year_start": "01-01",
        "eligibility": {"min_age": 21, "service_months": 0, "entry_frequency": "monthly", "long_term_part_time": True},
        "auto_enrollment": _AUTO_ENROLL,
        "match_tiers": [{"deferral_from_percent": Decimal(0), "deferral_to_percent": Decimal(3), "match_rate_percent": Decimal(100)},
                        {"deferral_from_percent": Decimal(3), "deferral_to_percent": Decimal(5), "match_rate_percent": Decimal(50)}],
        "safe_harbor": "basic_match",
        "vesting": {"employer_match": "immediate", "profit_sharing": "graded_6"},
        "requires_approval": False, "roth_allowed": True,
    },
    # A tested plan: 50% of the first 6%, graded vesting, a year of service.
    "traditional": {
        "plan_year_start": "01-01",
        "eligibility": {"min_age": 21, "service_months": 12, "entry_frequency": "semi_annual", "long_term_part_time": True},
        "auto_enrollment": _AUTO_ENROLL,
        "match_tiers": [{"deferral_from_percent": Decimal(0), "deferral_to_percent": Decimal(6), "match_rate_percent": Decimal(50)}],
        "safe_harbor": "none",
        "vesting": {"employer_match": "graded_6", "profit_sharing": "graded_6"},
        "requires_approval": True, "roth_allowed": True,
    },
    # Deferrals only: the cheapest plan a small business can offer.
    "starter": {
        "plan_year_start": "01-01",
        "eligibility": {"min_age": 18, "service_months": 0, "entry_frequency": "immediate", "long_term_part_time": True},
        "auto_enrollment": _AUTO_ENROLL,
        "match_tiers": [],
        "safe_harbor": "none",
        "vesting": {},
        "requires_approval": False, "roth_allowed": True,
    },
}


# ---- authorization ---------------------------------------------------------------------------------------------

def employer_for(session: Session, principal: Principal, employer_id: str, *, write: bool = False) -> Employer:
    """The employer if the caller may see it; otherwise NotFound, so ids of other employers reveal nothing."""
    employer = session.get(Employer, employer_id)
    if employer is None or not policy.may_see_employer(principal, employer):
        raise NotFound("No such employer.")
    if write:
        policy.MANAGE_EMPLOYERS.check(principal)
    return employer


def plan_for(session: Session, principal: Principal, plan_id: str) -> Plan:
    plan = session.get(Plan, plan_id)
    if plan is None or not policy.may_see_employer(principal, plan.employer):
        raise NotFound("No such plan.")
    return plan


def employee_for(session: Session, principal: Principal, employee_id: str) -> Employee:
    employee = session.get(Employee, employee_id)
    if employee is None or not policy.may_see_employee(principal, employee,
                                                       session.get(Employer, employee.employer_id)):
        raise NotFound("No such employee.")
    return employee


def employers_visible_to(session: Session, principal: Principal) -> list[Employer]:
    query = select(Employer).order_by(Employer.created_at, Employer.id)
    if principal.role == "advisor":
        query = query.where(Employer.advisor_user_id == principal.user_id)
    elif principal.role == "sponsor_admin":
        query = query.where(Employer.id == principal.employer_id)
    elif principal.role != "platform_admin":
        return []
    return list(session.scalars(query))


def current_plan(session: Session, employer_id: str) -> Plan:
    plan = session.scalar(select(Plan).where(Plan.employer_id == employer_id).order_by(Plan.created_at.desc()).limit(1))
    if plan is None:
        raise NotFound("This employer has no plan.")
    return plan


# ---- plan setup ------------------------------------------------------------------------------------------------

@dataclass
class PlanSetup:
    employer: Employer
    plan: Plan
    sponsor_invitation: dict
    notices: list[str]


def apply_template(template: str, plan_data: dict) -> dict:
    """The plan's rules: the template's, with whatever the request gave laid over them (nested dicts merged)."""
    merged = json.loads(json.dumps(TEMPLATES[template], default=str))
    for key, value in plan_data.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict) and key != "vesting":
            merged[key] = {**merged[key], **value}
        else:
            merged[key] = value
    if "vesting" in plan_data:
        merged["vesting"] = {**TEMPLATES[template]["vesting"], **plan_data["vesting"]}
    merged.setdefault("funds", DEFAULT_FUNDS)
    return merged


def _tiers(raw: list[dict]) -> list[match_rules.MatchTier]:
    return [match_rules.MatchTier(Decimal(str(t["deferral_from_percent"])), Decimal(str(t["deferral_to_percent"])),
                                  Decimal(str(t["match_rate_percent"]))) for t in raw]


def _schedule(value) -> dict[int, Decimal] | None:
    """A named or custom schedule as {years: percent}; None when it is neither."""
    if isinstance(value, str):
        return vesting_rules.named_schedule(value) if value in vesting_rules.NAMED_SCHEDULES else None
    try:
        return {int(k): Decimal(str(v)) for k, v in value.items()}
    except (ValueError, ArithmeticError):
        return None


def validate_rules(rules: dict) -> tuple[list[tuple[str, str]], list[str]]:
    """Every problem with a plan's rules (field, message), and notices that are not errors."""
    problems: list[tuple[str, str]] = []
    notices: list[str] = []
    month, _, day = rules.get("plan_year_start", "01-01").partition("-")
    try:
        date(2001, int(month), int(day))  # a non-leap year: a plan year may not start on Feb 29
    except ValueError:
        problems.append(("plan.plan_year_start", "is not a day of the year"))
    eligibility = rules["eligibility"]
    for field in ("min_age", "service_months", "entry_frequency"):
        if eligibility.get(field) is None:
            problems.append((f"plan.eligibility.{field}", "is required"))
    if eligibility.get("min_age") is not None and not 0 <= eligibility["min_age"] <= 21:
        problems.append(("plan.eligibility.min_age", "must be between 0 and 21 (IRC 410(a)(1)(A)(i))"))
    if eligibility.get("service_months") is not None and not 0 <= eligibility["service_months"] <= 12:
        problems.append(("plan.eligibility.service_months", "must be between 0 and 12 months (IRC 410(a)(1)(A)(ii))"))

    auto = rules["auto_enrollment"]
    if auto.get("enabled"):
        rate = _dec(auto.get("default_percent"))
        step = _dec(auto.get("escalation_step_percent")) or Decimal(0)
        cap = _dec(auto.get("escalation_cap_percent"))
        if rate is None or not Decimal(3) <= rate <= Decimal(15):
            problems.append(("plan.auto_enrollment.default_percent",
                             "must be between 3 and 15 percent (IRC 414A(b)(3), 414(w))"))
        if step < 0 or step > 15:
            problems.append(("plan.auto_enrollment.escalation_step_percent", "must be between 0 and 15"))
        if cap is not None and (cap > 15 or (rate is not None and cap < rate)):
            problems.append(("plan.auto_enrollment.escalation_cap_percent",
                             "must be at most 15 and at least the default percent (IRC 414A(b)(3)(B))"))
        if step > 0 and cap is None:
            problems.append(("plan.auto_enrollment.escalation_cap_percent", "is required when escalation is on"))
        window = auto.get("opt_out_window_days")
        if window is None:
            problems.append(("plan.auto_enrollment.opt_out_window_days", "is required when automatic enrollment is on"))
        elif not 0 <= window <= 90:
            problems.append(("plan.auto_enrollment.opt_out_window_days",
                             "must be between 0 and 90 days (IRC 414(w)(2)(B))"))
        if not 0 <= (auto.get("notice_days") or 0) <= 90:
            problems.append(("plan.auto_enrollment.notice_days", "must be between 0 and 90 days"))
        if rate is not None and rate > 10 or (cap is not None and cap < 10) or step < 1:
            notices.append("IRC 414A: a 401(k) plan established after 2022-12-29 must enroll at 3-10% and escalate "
                           "by 1 point a year to at least 10% (at most 15%), unless the employer has 10 or fewer "
                           "employees or is under 3 years old.")
    elif _date(rules.get("effective_date")) and _date(rules["effective_date"]) > SECURE2_ENACTMENT:
        notices.append("IRC 414A: plans established after 2022-12-29 must use automatic enrollment from 2025 unless "
                       "the employer has 10 or fewer employees or is under 3 years old; this plan has it off.")

    tiers = _tiers(rules.get("match_tiers") or [])
    tier_problems = match_rules.validate_tiers(tiers)
    problems.extend((f"plan.{field}", message) for field, message in tier_problems)
    if tier_problems:
        tiers = []  # a broken formula cannot be compared with the safe-harbor floors below

    safe_harbor = rules.get("safe_harbor", "none")
    if safe_harbor in ("basic_match", "enhanced_match", "qaca_match") and not tiers and not tier_problems:
        problems.append(("plan.match_tiers", f"a {safe_harbor} safe-harbor plan needs a match formula"))
    if safe_harbor == "basic_match" and tiers and not _dominates(tiers, match_rules.SAFE_HARBOR_BASIC, Decimal(6)):
        problems.append(("plan.match_tiers", "matches less than the safe-harbor basic match (100% of 3% + 50% of "
                                             "the next 2%) at some deferral rate (IRC 401(k)(12)(B))"))
    if safe_harbor == "qaca_match" and tiers and not _dominates(tiers, match_rules.QACA_BASIC, Decimal(6)):
        problems.append(("plan.match_tiers", "matches less than the QACA match (100% of 1% + 50% of the next 5%) "
                                             "at some deferral rate (IRC 401(k)(13)(D))"))

    for source, value in (rules.get("vesting") or {}).items():
        field = f"plan.vesting.{source}"
        if source not in EMPLOYER_SOURCES:
            problems.append((field, f"is not a vested source; employee money is always fully vested "
                                    f"(sources: {', '.join(EMPLOYER_SOURCES)})"))
            continue
        schedule = _schedule(value)
        if schedule is None:
            problems.append((field, f"must be one of {', '.join(vesting_rules.NAMED_SCHEDULES)} or an object of "
                                    "whole years of service to percents"))
            continue
        effective_source = "safe_harbor" if (source == "employer_match" and safe_harbor.endswith("match")) or (
            source == "nonelective" and safe_harbor.endswith("nonelective")) else source
        problems.extend((field, message) for message in vesting_rules.validate_vesting(effective_source, schedule, safe_harbor))

    funds = rules.get("funds") or []
    if not funds:
        problems.append(("plan.funds", "needs at least one fund"))
    defaults = [i for i, f in enumerate(funds) if f.get("default")]
    if funds and len(defaults) != 1:
        problems.append(("plan.funds", "exactly one fund must be the default (qualified default investment)"))
    seen = {}
    for i, fund in enumerate(funds):
        if fund["ticker"] in seen:
            problems.append((f"plan.funds[{i}].ticker", f"repeats funds[{seen[fund['ticker']]}]"))
        seen.setdefault(fund["ticker"], i)
    return problems, notices


def _dominates(tiers, floor, up_to: Decimal) -> bool:
    """Whether a match formula gives at least `floor`'s match at every deferral rate (checked at every breakpoint
    and half-point up to `up_to`, enough for piecewise-linear tiers)."""
    points = {Decimal(n) / 2 for n in range(int(up_to * 2) + 1)}
    for tier in list(tiers) + list(floor):
        points.update((tier.deferral_from_percent, tier.deferral_to_percent))
    return all(match_rules.match_percent_of_pay(tiers, p) >= match_rules.match_percent_of_pay(floor, p) for p in points)


def _dec(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def _date(value):
    return date.fromisoformat(value) if isinstance(value, str) else value


def setup_plan(session: Session, actor: Actor, advisor: Principal, data: dict) -> PlanSetup:
    """Employer, plan, fund menu and the sponsor admin's invitation in one transaction."""
    rules = apply_template(data["template"], data["plan"])
    problems, notices = validate_rules(rules)
    ein = data["employer"]["ein"].replace("-", "")
    ein = f"{ein[:2]}-{ein[2:]}"
    if session.scalar(select(Employer.id).where(Employer.ein == ein)):
        problems.append(("employer.ein", "an employer with this EIN already exists"))
    if problems:
        raise ValidationFailed(problems)

    emp = data["employer"]
    employer = Employer(name=emp["name"], ein=ein, address_line1=emp["address"]["line1"],
                        address_line2=emp["address"].get("line2"), city=emp["address"]["city"],
                        state=emp["address"]["state"], postal_code=emp["address"]["postal_code"],
                        pay_frequency=emp["payroll"]["frequency"], anchor_pay_date=emp["payroll"]["anchor_pay_date"],
                        advisor_user_id=advisor.user_id if advisor.role == "advisor" else None)
    session.add(employer)
    session.flush()
    month, _, day = rules["plan_year_start"].partition("-")
    auto = rules["auto_enrollment"]
    plan = Plan(
        employer_id=employer.id, name=rules.get("name") or f"{emp['name']} 401(k) Plan", template=data["template"],
        effective_date=_date(rules["effective_date"]), plan_year_start_month=int(month), plan_year_start_day=int(day),
        min_age=rules["eligibility"]["min_age"], service_months=rules["eligibility"]["service_months"],
        entry_frequency=rules["eligibility"]["entry_frequency"],
        long_term_part_time=rules["eligibility"].get("long_term_part_time", True),
        auto_enroll=bool(auto.get("enabled")), auto_enroll_percent=_dec(auto.get("default_percent")),
        auto_escalate_step_percent=_dec(auto.get("escalation_step_percent")),
        auto_escalate_cap_percent=_dec(auto.get("escalation_cap_percent")),
        opt_out_window_days=auto.get("opt_out_window_days"),
        auto_enroll_notice_days=auto.get("notice_days") if auto.get("notice_days") is not None else 30,
        match_tiers=[{k: percent_str(Decimal(str(v))) for k, v in t.items()} for t in rules.get("match_tiers") or []],
        safe_harbor=rules.get("safe_harbor", "none"),
        vesting={source: value if isinstance(value, str) else {k: percent_str(Decimal(v)) for k, v in value.items()}
                 for source, value in (rules.get("vesting") or {}).items()},
        requires_approval=bool(rules.get("requires_approval")), roth_allowed=bool(rules.get("roth_allowed", True)),
        compliance_warning_margin=_dec(rules.get("compliance_warning_margin")) or Decimal(0),
    )
    session.add(plan)
    session.flush()
    for position, fund in enumerate(rules["funds"]):
        session.add(Fund(plan_id=plan.id, ticker=fund["ticker"], name=fund["name"], asset_class=fund.get("asset_class"),
                         is_default=bool(fund.get("default")), position=position))
    invitation, token = create_invitation(session, email=data["sponsor_admin"]["email"], role="sponsor_admin",
                                          employer_id=employer.id, created_by=advisor.user_id)
    record_audit(session, actor, "plan.created", "plan", plan.id, employer_id=employer.id,
                 changes={"template": data["template"], "employer": employer.name, "sponsor_admin": invitation.email})
    session.flush()
    session.refresh(plan)
    session.refresh(employer)
    return PlanSetup(employer, plan, {"email": invitation.email, "token": token,
                                      "expires_at": invitation.expires_at.isoformat()}, notices)


def match_tiers(plan: Plan) -> list[match_rules.MatchTier]:
    return _tiers(plan.match_tiers or [])


def default_fund(plan: Plan) -> Fund:
    return next(f for f in plan.funds if f.is_default)


# ---- census ----------------------------------------------------------------------------------------------------

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
    from backend.plans.schedules import add_months

    start = row.get("rehire_date") or row["hire_date"]
    current = start
    while add_months(current, 12) <= today:
        current = add_months(current, 12)
    periods = {}
    if row.get("hours") is not None:
        periods[current.isoformat()] = row["hours"]
    if row.get("prior_period_hours") is not None and current > start:
        periods[add_months(current, -12).isoformat()] = row["prior_period_hours"]
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
            employee = Employee(employer_id=employer.id, external_id=row["external_id"], invite_code=_invite_code(),
                                hours_by_period=periods, **values)
            session.add(employee)
            created += 1
            action, diff = "employee.created", {"external_id": row["external_id"]}
        else:
            diff = _diff(employee, values, vault)
            for key, value in values.items():
                setattr(employee, key, value)
            # Hours already credited for other periods (by pay runs) stay; the census speaks for its periods only.
            employee.hours_by_period = {**(employee.hours_by_period or {}), **periods}
            employee.updated_at = _now()
            updated += 1
            action = "employee.updated"
        session.flush()
        record_audit(session, actor, action, "employee", employee.id, diff, employer_id=employer.id)
        changed.append(employee)
        result.append(employee)
    if changed:
        publish(session, CensusChanged(employer.id, tuple(e.id for e in changed), today))
    return CensusResult(created, updated, unchanged, result)


def _now():
    from backend.db import utcnow

    return utcnow()


def _diff(employee: Employee, values: dict, vault: PiiVault) -> dict:
    """Which fields changed, with old and new values, except personal data (named, never shown)."""
    changes = {}
    for key, new in values.items():
        if key in ("census_fingerprint",):
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


_INVITE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"  # no 0/O or 1/I/L: people read these aloud


def _invite_code() -> str:
    return "".join(secrets.choice(_INVITE_ALPHABET) for _ in range(10))


def employees_page_query(employer_id: str):
    return select(Employee).where(Employee.employer_id == employer_id)



def vested_percent(plan: Plan, source: str, years_of_service: int) -> Decimal:
    """How much of a source's money the participant owns. Employee money and safe-harbor money are always fully
    vested (IRC 411(a)(1), 401(k)(12)(E)); a QACA's safe-harbor money may vest on its 2-year schedule."""
    if source not in EMPLOYER_SOURCES:
        return Decimal(100)
    match_is_safe_harbor = plan.safe_harbor in ("basic_match", "enhanced_match")
    nonelective_is_safe_harbor = plan.safe_harbor == "nonelective"
    if (source == "employer_match" and match_is_safe_harbor) or (source == "nonelective" and nonelective_is_safe_harbor):
        return Decimal(100)
    schedule = _schedule((plan.vesting or {}).get(source, "immediate"))
    return vesting_rules.vested_percent(schedule or vesting_rules.named_schedule("immediate"), years_of_service)
