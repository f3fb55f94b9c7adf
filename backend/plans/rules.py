"""Every problem with a plan's rules, listed at once: eligibility bounds, automatic enrollment (414A, 414(w)), match
tiers and the safe-harbor floors, vesting schedules, the fund menu; and the plan's fund price band."""
from datetime import date
from decimal import Decimal

from backend.audit import record_audit
from backend.money import percent_str
from backend.plans import dates
from backend.plans import match as match_rules
from backend.plans import vesting as vesting_rules
from backend.plans.models import Plan

# 414A applies to 401(k) plans established after the enactment of SECURE 2.0 (December 29, 2022).
SECURE2_ENACTMENT = date(2022, 12, 29)
_TIER_KEYS = ("deferral_from_percent", "deferral_to_percent", "match_rate_percent")


def tiers_of(raw: list[dict]) -> list[match_rules.MatchTier]:
    return [match_rules.MatchTier(Decimal(str(t["deferral_from_percent"])), Decimal(str(t["deferral_to_percent"])),
                                  Decimal(str(t["match_rate_percent"]))) for t in raw]


def validate_rules(rules: dict, today: date | None = None) -> tuple[list[tuple[str, str]], list[str]]:
    """Every problem with a plan's rules (field, message), and notices that are not errors. Given `today` (the
    app's clock; plan setup has it, the request schema does not), the effective date must be plausible
    (plans/dates.py): checked with the anchor pay date, so one answer lists both."""
    problems: list[tuple[str, str]] = []
    notices: list[str] = []
    effective = rules.get("effective_date")
    if today is not None and isinstance(effective, date) and (problem := dates.plan_date_problem(effective, today)):
        problems.append(("plan.effective_date", problem))
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
        rate = decimal_or_none(auto.get("default_percent"))
        step = decimal_or_none(auto.get("escalation_step_percent")) or Decimal(0)
        cap = decimal_or_none(auto.get("escalation_cap_percent"))
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
    elif as_date(rules.get("effective_date")) and as_date(rules["effective_date"]) > SECURE2_ENACTMENT:
        notices.append("IRC 414A: plans established after 2022-12-29 must use automatic enrollment from 2025 unless "
                       "the employer has 10 or fewer employees or is under 3 years old; this plan has it off.")

    raw_tiers = rules.get("match_tiers") or []
    # A tier the schema found incomplete is reported there; the formula is checked once every tier is whole.
    whole = all(isinstance(t, dict) and all(t.get(key) is not None for key in _TIER_KEYS) for t in raw_tiers)
    tiers = tiers_of(raw_tiers) if whole else []
    tier_problems = match_rules.validate_tiers(tiers) if whole else [("match_tiers", "is incomplete")]
    problems.extend((f"plan.{field}", message) for field, message in tier_problems if whole)
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
        if source not in vesting_rules.EMPLOYER_SOURCES:
            problems.append((field, f"is not a vested source; employee money is always fully vested "
                                    f"(sources: {', '.join(vesting_rules.EMPLOYER_SOURCES)})"))
            continue
        schedule = vesting_rules.schedule_of(value)
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
        ticker = fund.get("ticker")
        if ticker is None:
            continue  # the schema reports the missing ticker
        if ticker in seen:
            problems.append((f"plan.funds[{i}].ticker", f"repeats funds[{seen[ticker]}]"))
        seen.setdefault(ticker, i)
    return problems, notices


def _dominates(tiers, floor, up_to: Decimal) -> bool:
    """Whether a match formula gives at least `floor`'s match at every deferral rate (checked at every breakpoint
    and half-point up to `up_to`, enough for piecewise-linear tiers)."""
    points = {Decimal(n) / 2 for n in range(int(up_to * 2) + 1)}
    for tier in list(tiers) + list(floor):
        points.update((tier.deferral_from_percent, tier.deferral_to_percent))
    return all(match_rules.match_percent_of_pay(tiers, p) >= match_rules.match_percent_of_pay(floor, p) for p in points)


def decimal_or_none(value) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def as_date(value):
    return date.fromisoformat(value) if isinstance(value, str) else value


def match_tiers(plan: Plan) -> list[match_rules.MatchTier]:
    """The plan's stored match formula as tiers the match rules compute with."""
    return tiers_of(plan.match_tiers or [])


def price_move_band(plan: Plan) -> Decimal:
    """How far (a fraction: 0.25 is 25%) a fund price may move from the fund's last confirmed price before it is
    held for a second confirmation instead of trading (security review H-2)."""
    return plan.price_move_band


def set_price_move_band(session, actor, plan: Plan, band: Decimal) -> None:
    """Change the plan's price move band; audited."""
    before = plan.price_move_band
    plan.price_move_band = band
    if before != band:
        record_audit(session, actor, "plan.price_settings_changed", "plan", plan.id, employer_id=plan.employer_id,
                     changes={"price_move_band": {"from": percent_str(before), "to": percent_str(band)}})
