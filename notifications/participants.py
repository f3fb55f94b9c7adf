"""What participants are told, and the nudges: the triggers that turn enrollment and payroll events into notices
(subscribed in backend/wiring.py), the daily pass's notices (called from backend/cli.py::_run_daily), and the
rules that decide the nudges' figures.

Every cause is told once: a notice's subject names its cause (an election, an employee and an entry date, a
payroll message, an employee and a year), and a nudge's subject names its person and calendar month
(`<employee>/<yyyy-mm>`), so each kind of nudge reaches a person at most once a month however many pay runs or
daily passes there are. Everything after a pay run is read in a few batched queries for the whole run."""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from backend.accounts.money_in import money_in_by_source
from backend.enrollment import notice_facts as facts
from backend.enrollment import service as enrollment
from backend.enrollment.elections import age_at_year_end, catch_up_eligible
from backend.enrollment.models import MONEY_TYPES as DEFERRAL_TYPES
from backend.enrollment.payroll_messages import (LIMIT_STOP_PREFIX, TOPIC as PAYROLL_TOPIC, change_payload,
                                                 delivered_limit_resumes)
from backend.events import CensusChanged, MessageDelivered, PayRunPosted
from backend.identity.service import participant_accounts
from backend.irs import limits as irs
from backend.money import HUNDRED, percent_of_cents, round_half_up
from backend.payroll.pay_history import posted_pay, posted_statements, recent_regular_pay
from backend.plans import match as match_rules
from backend.plans import service as plans
from backend.plans.models import Plan
from backend.plans.pii import PiiVault
from notifications.service import Notice, already_told, notify_many

# A nudge to join comes once the entry date is this far behind and nothing has been elected.
JOIN_NUDGE_AFTER_DAYS = 30
# 402(g): participants hear when their deferrals reach this share of the year's limit, then when they reach it.
APPROACHING_SHARE = Decimal("0.9")
# A raise is plan pay up this much (a fraction) against the average of the previous three regular paychecks.
RAISE_SHARE = Decimal("0.03")
RAISE_HISTORY = 3
# Where a raise nudge's suggestion stops for someone already at or above the full-match rate (the plan has no
# maximum of its own): the highest rate automatic escalation may reach, IRC 414A(b) (RULES.md §6).
RAISE_SUGGESTION_CEILING_PERCENT = Decimal(15)


def _rate(percent: Decimal) -> str:
    """A percent of pay (6) as the fraction text templates take ('0.06')."""
    return str((Decimal(percent) / HUNDRED).normalize())


def _month(day: date) -> str:
    return f"{day:%Y-%m}"


def _once(session, notices: list[Notice]) -> list[Notice]:
    """The notices whose cause has not been told as their kind already (nor twice in this list)."""
    told: set[tuple[str, str]] = set()
    for kind in {n.kind for n in notices}:
        told |= {(kind, s) for s in already_told(session, kind, [n.subject_id for n in notices if n.kind == kind])}
    fresh = []
    for notice in notices:
        if (notice.kind, notice.subject_id) not in told:
            told.add((notice.kind, notice.subject_id))
            fresh.append(notice)
    return fresh


# ---- eligibility (the census) ---------------------------------------------------------------------------------------

_BEFORE = "participants.eligibility_before"
_JOINABLE = ("eligible", "waiting")


def note_eligibility_before(session, event: CensusChanged) -> None:
    """Subscribed before eligibility's refresh: what the employees with an account were told by their eligibility
    until now (entry date and status), so `tell_eligible` tells only what changed."""
    users = participant_accounts(session, event.employee_ids)
    session.info.setdefault(_BEFORE, {})[id(event)] = (users, facts.entry_dates_of(session, list(users)))


def tell_eligible(session, event: CensusChanged) -> None:
    """Employees with an account whose eligibility the census change just determined (they may join now or from an
    entry date, and could not before, or their entry date moved) hear it, with the entry date and what the match
    would be at the full-match rate; once per entry date. Those without an account hear it through their
    invitation, and a recompute that changes nothing (hours credited by a pay run to someone already waiting for a
    known entry date) is not news. Subscribed after eligibility's refresh."""
    users, before = session.info.get(_BEFORE, {}).pop(id(event), ({}, {}))
    if not users:
        return
    news = []
    for j in facts.joinable(session, list(users), event.on):
        entry, status = before.get(j.employee_id, (None, None))
        if status not in _JOINABLE or entry != j.entry_date:
            news.append(j)
    notices = [Notice(users[j.employee_id], "eligible_to_enroll",
                      {"entry_date": j.entry_date.isoformat(), "full_match_rate": _rate(j.outlook.full_match_percent),
                       "annual_match_cents": j.outlook.annual_match_cents},
                      f"{j.employee_id}/{j.entry_date.isoformat()}") for j in news]
    notify_many(session, _once(session, notices))


# ---- payroll acknowledged a change ----------------------------------------------------------------------------------

def tell_payroll_acknowledged(session, event: MessageDelivered) -> None:
    """Payroll acknowledged a deferral change: the participant hears their election is confirmed (or, for an
    opt-out, that deferrals stopped; for the first election after one, that they resumed), and a stop at the
    402(g) limit is told as deferrals stopped until the new year. A stop for termination and the new year's resume
    are not told here (the resume is told on its date, by the daily pass)."""
    if event.topic != PAYROLL_TOPIC or not event.subject_id:
        return
    subject = event.subject_id
    if subject.startswith(LIMIT_STOP_PREFIX):
        employee_id = subject.split(":")[1]
        user = participant_accounts(session, [employee_id]).get(employee_id)
        payload = change_payload(session, event.message_id) if user else None
        if payload is None:
            return
        notice = Notice(user, "deferrals_stopped", {"reason": "limit", "effective_date": payload["effective_date"],
                                                    "resume_on": payload.get("resume_on")}, subject)
        notify_many(session, _once(session, [notice]))
        return
    if ":" in subject:
        return  # termination, the new year's resume: not an election
    change = facts.election_change(session, subject)
    if change is None:
        return
    user = participant_accounts(session, [change.employee_id]).get(change.employee_id)
    if user is None:
        return
    params = {"election_id": change.election_id, "effective_date": change.effective_date.isoformat(),
              "rate": None if change.percent is None else _rate(change.percent)}
    if change.stops:
        notice = Notice(user, "deferrals_stopped", {**params, "reason": "opt_out"}, change.election_id)
    elif change.restarts:
        notice = Notice(user, "deferrals_resumed", {**params, "reason": "re_enrolled"}, change.election_id)
    else:
        notice = Notice(user, "change_confirmed", params, change.election_id)
    notify_many(session, _once(session, [notice]))


# ---- after a pay run: the 402(g) limit and the payroll nudges -------------------------------------------------------

@dataclass(frozen=True)
class MatchLeft:
    """The match a paycheck left unclaimed, and the rate that claims all of it (a percent of pay)."""

    left_cents: int
    full_match_percent: Decimal


def match_left(tiers, plan_pay_cents: int, deferral_cents: int, match_posted_cents: int,
               pay_room_cents: int | None = None) -> MatchLeft | None:
    """What this paycheck's match would have been at the full-match rate, less the match posted: the match the
    formula (`tiers`) pays at its full-match rate on the plan pay the paycheck counts (up to the 401(a)(17) room
    left for the year, IRC 401(a)(17)), minus what was posted. None when the deferral was at or above the full-match
    rate, or nothing was left.

    Worked example: 100% of the first 3% + 50% of the next 2% (full match 4% of pay at a 5% deferral), plan pay
    $2,769.23, deferring 2% ($55.38) and matched $55.38: the full match is 4% of $2,769.23 = $110.77, so $55.39 was
    left, and 5% gets all of it."""
    if not tiers or plan_pay_cents <= 0:
        return None
    full_at = match_rules.full_match_deferral_percent(tiers)
    if Decimal(deferral_cents) * HUNDRED >= full_at * plan_pay_cents:
        return None
    counted = plan_pay_cents if pay_room_cents is None else max(0, min(plan_pay_cents, pay_room_cents))
    left = percent_of_cents(counted, match_rules.max_match_percent_of_pay(tiers)) - match_posted_cents
    return MatchLeft(left, full_at) if left > 0 else None


@dataclass(frozen=True)
class RaiseSeen:
    """A raise seen on the pay statements, and the rate suggested to save part of it (percents of pay)."""

    raise_percent: Decimal
    current_percent: Decimal
    suggested_percent: Decimal


def raise_seen(plan_pay_cents: int, previous_pay_cents: list[int], deferral_cents: int,
               full_match_percent: Decimal) -> RaiseSeen | None:
    """A raise: this paycheck's plan pay up `RAISE_SHARE` (3%) or more against the average of the previous three
    regular paychecks (fewer than three: no judgement yet).

    The suggestion saves half the raise: the current rate (this paycheck's deferral over its plan pay) plus half the
    raise percentage, rounded half up to a whole percent, capped at the full-match rate for someone below it (the
    match is the best return on a saved dollar) and at `RAISE_SUGGESTION_CEILING_PERCENT` for someone already at or
    above it (the plan sets no maximum rate of its own). No nudge when that suggests nothing more than today's rate.
    Example: pay from $2,000.00 to $2,200.00 (a 10% raise) at 2% suggests 2% + 5% = 7%, capped at a 5% full-match
    rate: 5%."""
    if len(previous_pay_cents) < RAISE_HISTORY or plan_pay_cents <= 0:
        return None
    average = Decimal(sum(previous_pay_cents[:RAISE_HISTORY])) / RAISE_HISTORY
    if average <= 0 or Decimal(plan_pay_cents) < average * (1 + RAISE_SHARE):
        return None
    raise_percent = (Decimal(plan_pay_cents) - average) * HUNDRED / average
    current = Decimal(deferral_cents) * HUNDRED / plan_pay_cents
    cap = full_match_percent if current < full_match_percent else RAISE_SUGGESTION_CEILING_PERCENT
    suggested = min(cap, round_half_up(current + raise_percent / 2, 0))
    if suggested <= round_half_up(current, 2):
        return None
    return RaiseSeen(round_half_up(raise_percent, 1), round_half_up(current, 2), suggested)


def after_pay_run(session, event: PayRunPosted, vault: PiiVault) -> None:
    """After a pay run posts, each paid participant with an account may hear: that their deferrals this calendar
    year approach (90%) or reach the 402(g) limit (once each a year; catch-up-eligible participants hear that
    catch-up continues), how much match this paycheck left and the rate that gets all of it, and that a raise
    could be partly saved (each nudge at most once a calendar month). A few queries for the whole run."""
    statements = posted_statements(session, event.pay_run_id)
    users = participant_accounts(session, [s.employee_id for s in statements])
    statements = [s for s in statements if s.employee_id in users]
    if not statements:
        return
    plan = session.get(Plan, event.plan_id)
    pay_date, month = statements[0].pay_date, _month(event.on)
    notices = _limit_notices(session, vault, plan, statements, users, pay_date.year)
    tiers = plans.match_tiers(plan)
    entry = {who: e for who, (e, _) in enrollment.entry_dates_and_statuses(session, plan.employer_id).items()}
    year_start = date(pay_date.year, 1, 1)
    pay_so_far = posted_pay(session, plan.id, year_start, date(pay_date.year, 12, 31))
    history = recent_regular_pay(session, plan.id, pay_date) if statements[0].run_type == "regular" else {}
    full_at = match_rules.full_match_deferral_percent(tiers) if tiers else Decimal(0)
    comp_limit = irs.limits_for(pay_date.year).compensation_limit_cents
    for st in statements:
        if entry.get(st.employee_id) is None or entry[st.employee_id] > st.pay_date:
            continue  # not yet in the plan: the nudge to join speaks to them
        user, subject = users[st.employee_id], f"{st.employee_id}/{month}"
        # The room left of 401(a)(17) before this paycheck: the year's posted pay includes it.
        room = comp_limit - (pay_so_far.get(st.employee_id, 0) - st.plan_compensation_cents)
        left = match_left(tiers, st.plan_compensation_cents, st.deferral_cents, st.match_cents, room)
        if left is not None:
            notices.append(Notice(user, "nudge_match_left",
                                  {"pay_date": st.pay_date.isoformat(), "left_cents": left.left_cents,
                                   "full_match_rate": _rate(left.full_match_percent)}, subject))
        seen = raise_seen(st.plan_compensation_cents, history.get(st.employee_id, []), st.deferral_cents, full_at)
        if seen is not None:
            notices.append(Notice(user, "nudge_raise",
                                  {"raise_rate": _rate(seen.raise_percent), "current_rate": _rate(seen.current_percent),
                                   "suggested_rate": _rate(seen.suggested_percent)}, subject))
    notify_many(session, _once(session, notices))


def _limit_notices(session, vault: PiiVault, plan: Plan, statements, users: dict, year: int) -> list[Notice]:
    """The 402(g) notices owed after this run: deferrals this calendar year here (every deferral column,
    corrections netted) and declared at other employers, against the year's 402(g)(1)(B) figure."""
    limit = irs.limits_for(year).elective_deferral_cents
    paid = {s.employee_id for s in statements}
    here = {who: sum(by_source.values()) for who, by_source in money_in_by_source(
        session, plan.id, date(year, 1, 1), date(year, 12, 31), sources=DEFERRAL_TYPES).items() if who in paid}
    elsewhere = enrollment.outside_deferrals_in_year(session, plan.employer_id, year)
    near = {who: here.get(who, 0) + elsewhere.get(who, 0) for who in paid}
    near = {who: cents for who, cents in near.items() if cents * 10 >= limit * 9}
    if not near:
        return []
    employees = plans.employees_by_id(session, list(near))
    notices = []
    for who, deferred in near.items():
        # Catch-up is read only for those near the limit: it opens a sealed date of birth (IRC 414(v)).
        catch_up = plan.catch_up_allowed and catch_up_eligible(vault, employees[who], year)
        params = {"year": year, "deferred_cents": deferred, "limit_cents": limit, "catch_up": bool(catch_up),
                  "catch_up_cents": irs.catch_up_limit(year, age_at_year_end(vault, employees[who], year))
                  if catch_up else 0}
        kind = "limit_reached" if deferred >= limit else "limit_approaching"
        notices.append(Notice(users[who], kind, params, f"{who}/{year}"))
    return notices


# ---- the daily pass -------------------------------------------------------------------------------------------------

def run_daily(session, today: date) -> dict:
    """The notices time brings: automatic enrollments and escalations coming (once each, ahead of them), deferrals
    resuming on the new year after a 402(g) stop (once, on the day), and the monthly nudge to join for those who
    have not enrolled 30 days after their entry date. Idempotent: run it hourly."""
    counts = {"notices_auto_enrollment": 0, "notices_escalation": 0, "notices_resumed": 0, "nudges_join": 0}
    notices = []
    for change in facts.coming_platform_changes(session, today):
        if change.kind == "auto_enroll":
            notices.append(("notices_auto_enrollment", change.employee_id, "auto_enroll_coming", {
                "election_id": change.election_id, "effective_date": change.effective_date.isoformat(),
                "opt_out_by": facts.opt_out_deadline(change.effective_date).isoformat(),
                "rate": _rate(change.percent)}, change.election_id))
        else:
            notices.append(("notices_escalation", change.employee_id, "escalation_coming", {
                "election_id": change.election_id, "effective_date": change.effective_date.isoformat(),
                "skip_by": facts.escalation_skip_deadline(change.effective_date).isoformat(),
                "rate": _rate(change.percent)}, change.election_id))
    for subject, employee_id, effective in delivered_limit_resumes(session, today.year):
        if effective <= today:
            notices.append(("notices_resumed", employee_id, "deferrals_resumed",
                            {"reason": "new_year", "effective_date": effective.isoformat(), "rate": None}, subject))
    month = _month(today)
    entered_by = date.fromordinal(today.toordinal() - JOIN_NUDGE_AFTER_DAYS)
    for j in facts.not_enrolled(session, entered_by, today):
        notices.append(("nudges_join", j.employee_id, "nudge_join", {
            "annual_match_cents": j.outlook.annual_match_cents,
            "full_match_rate": _rate(j.outlook.full_match_percent)}, f"{j.employee_id}/{month}"))
    users = participant_accounts(session, [n[1] for n in notices])
    owed = [(counter, Notice(users[who], kind, params, subject))
            for counter, who, kind, params, subject in notices if who in users]
    fresh = {(n.kind, n.subject_id) for n in _once(session, [n for _, n in owed])}
    to_tell = [(counter, n) for counter, n in owed if (n.kind, n.subject_id) in fresh]
    notify_many(session, [n for _, n in to_tell])
    for counter, _ in to_tell:
        counts[counter] += 1
    return counts
