"""Every notification's words, in one place: kind → category, title, push text, feed text and deep link, in the
recipient's language.

Two texts per kind: the push text shows on a lock screen, which anyone can read, so it never carries an SSN, a
birth date, a balance or a pay figure; the feed text is read behind login and may carry amounts. The texts are
English message ids marked with `_`; the Spanish words are in the Babel catalog
`notifications/locales/es/LC_MESSAGES/messages.po`, so a translator works on the `.po` file, not on this code
(`make messages` re-extracts the ids into `messages.pot` and merges them into each catalog).

Each template gets the notification's parameters (plain JSON values: cents as integers, dates as ISO text) and a
`Language` that translates and formats them for the reader."""
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from functools import cache, lru_cache
from io import BytesIO
from pathlib import Path

from babel import Locale
from babel.dates import format_date
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.numbers import format_decimal
from babel.support import NullTranslations, Translations

from backend.money import format_dollars

LOCALES_DIR = Path(__file__).parent / "locales"
LANGUAGES = ("en", "es")
DEFAULT_LANGUAGE = "en"
# The Babel locale each language formats with: US dollars, written as people in the US write them.
_FORMAT_LOCALE = {"en": "en_US", "es": "es_US"}


@dataclass(frozen=True)
class Category:
    """What a notification is about, which decides who may silence it and whether it may wait for quiet hours."""

    name: str
    mutable: bool  # the user may turn it off, per channel (legal notices and security alerts: never)
    urgent: bool  # pushed at once even in the user's quiet hours


CATEGORIES = {c.name: c for c in (
    Category("notices", mutable=False, urgent=True),  # legally required notices (eligibility, auto-enrollment)
    Category("security", mutable=False, urgent=True),  # account and sign-in safety
    Category("elections", mutable=True, urgent=False),
    Category("contributions", mutable=True, urgent=False),
    Category("limits", mutable=True, urgent=False),
    Category("nudges", mutable=True, urgent=False),
    Category("approvals", mutable=True, urgent=False),
    Category("payroll", mutable=True, urgent=False),
    Category("compliance", mutable=True, urgent=False),
    Category("digests", mutable=True, urgent=False),
)}
CHANNELS = ("push", "email")


@dataclass(frozen=True)
class Texts:
    category: str
    title: str
    push: str
    feed: str
    deep_link: dict
    email: str  # the email's text: the push text (an inbox is no safer than a lock screen) and where to read more


@cache
def _translations(language: str) -> NullTranslations:
    """The language's catalog, compiled in memory from its `.po` file (no build step, no compiled file to commit)."""
    po = LOCALES_DIR / language / "LC_MESSAGES" / "messages.po"
    if language == DEFAULT_LANGUAGE or not po.exists():
        return NullTranslations()
    with po.open("rb") as file:
        catalog = read_po(file, locale=language)
    buffer = BytesIO()
    write_mo(buffer, catalog)
    buffer.seek(0)
    return Translations(buffer)


class Language:
    """Translation and formatting for one reader: `_` looks a message up in the catalog; money comes from
    integer cents through Decimal (never a float); dates are written out in the reader's language."""

    def __init__(self, language: str):
        self.code = language if language in LANGUAGES else DEFAULT_LANGUAGE
        self._catalog = _translations(self.code)
        self._locale = Locale.parse(_FORMAT_LOCALE[self.code])  # parsed once, not at every amount

    def _(self, message: str) -> str:
        return self._catalog.gettext(message)

    def money(self, cents: int) -> str:
        # US dollars are written alike in US English and US Spanish ("$1,234.56": Babel's en_US and es_US agree), so
        # both take the platform's own integer formatting, which a pay run's ten thousand notices also need fast.
        return format_dollars(cents)

    def percent(self, rate: str | Decimal) -> str:
        """A rate given as a fraction (Decimal or its text: '0.06') as a percentage: '6%', '6.5%'."""
        return format_decimal(Decimal(rate) * 100, format="#,##0.##", locale=self._locale) + "%"

    def date(self, day: str | date) -> str:
        return _long_date(date.fromisoformat(day) if isinstance(day, str) else day, self._locale)


def _texts(l: Language, category: str, title: str, push: str, feed: str, link: dict) -> Texts:
    return Texts(category, title, push, feed, link,
                 push + "\n\n" + l._("Open the Plumb app to see the details."))


# ---- participants ---------------------------------------------------------------------------------------------------

def _election_approved(p: Mapping, l: Language) -> Texts:
    return _texts(l, "elections", l._("Election approved"),
                  l._("Your employer approved your contribution election."),
                  l._("Your employer approved your contribution election. Payroll will apply it from the next pay "
                      "date."),
                  {"screen": "election", "election_id": p["election_id"]})


def _election_rejected(p: Mapping, l: Language) -> Texts:
    return _texts(l, "elections", l._("Election not approved"),
                  l._("Your employer did not approve your contribution election. Open the app to see why."),
                  l._("Your employer did not approve your contribution election: %(reason)s") % {"reason": p["reason"]},
                  {"screen": "election", "election_id": p["election_id"]})


def _contribution_posted(p: Mapping, l: Language) -> Texts:
    values = {"deferral": l.money(p["deferral_cents"]), "match": l.money(p["match_cents"]),
              "pay_date": l.date(p["pay_date"])}
    feed = (l._("%(deferral)s from your paycheck of %(pay_date)s went into your 401(k), and your employer added "
                "%(match)s.") if p["match_cents"] else
            l._("%(deferral)s from your paycheck of %(pay_date)s went into your 401(k).")) % values
    return _texts(l, "contributions", l._("Contribution posted"),
                  l._("Your latest 401(k) contribution has been posted to your account."), feed,
                  {"screen": "balance", "pay_run_id": p["pay_run_id"]})


# ---- participant notices and nudges (notifications/participants.py) -------------------------------------------------

def _eligible_to_enroll(p: Mapping, l: Language) -> Texts:
    values = {"entry_date": l.date(p["entry_date"]), "rate": l.percent(p["full_match_rate"]),
              "match": l.money(p["annual_match_cents"])}
    feed = (l._("You can join your 401(k) plan from %(entry_date)s. Save %(rate)s of your pay and your employer "
                "adds about %(match)s a year.") if p["annual_match_cents"] else
            l._("You can join your 401(k) plan from %(entry_date)s.")) % values
    return _texts(l, "notices", l._("You can join your 401(k)"),
                  l._("You can join your employer's 401(k) plan. Open the app to see when and what your employer "
                      "adds."), feed, {"screen": "enroll"})


def _auto_enroll_coming(p: Mapping, l: Language) -> Texts:
    values = {"rate": l.percent(p["rate"]), "effective_date": l.date(p["effective_date"]),
              "opt_out_by": l.date(p["opt_out_by"])}
    return _texts(l, "notices", l._("Automatic enrollment coming"),
                  l._("You will be enrolled in your 401(k) plan automatically. Open the app to choose your rate or "
                      "opt out."),
                  l._("Unless you choose otherwise, %(rate)s of your pay will go into your 401(k) from the paycheck "
                      "of %(effective_date)s. To choose another rate or opt out, do so by %(opt_out_by)s.") % values,
                  {"screen": "election", "election_id": p["election_id"]})


def _change_confirmed(p: Mapping, l: Language) -> Texts:
    values = {"rate": l.percent(p["rate"]) if p.get("rate") is not None else "",
              "effective_date": l.date(p["effective_date"])}
    feed = (l._("Payroll confirmed your change: %(rate)s of your pay from the paycheck of %(effective_date)s.")
            if p.get("rate") is not None else
            l._("Payroll confirmed your contribution change from the paycheck of %(effective_date)s.")) % values
    return _texts(l, "elections", l._("Change confirmed"),
                  l._("Your payroll confirmed your contribution change."), feed,
                  {"screen": "election", "election_id": p["election_id"]})


def _escalation_coming(p: Mapping, l: Language) -> Texts:
    values = {"rate": l.percent(p["rate"]), "effective_date": l.date(p["effective_date"]),
              "skip_by": l.date(p["skip_by"])}
    return _texts(l, "notices", l._("Your rate goes up soon"),
                  l._("Your 401(k) contribution rate will go up automatically. Open the app to skip it."),
                  l._("Your contribution rate goes up to %(rate)s of your pay from the paycheck of "
                      "%(effective_date)s. You can skip this increase until %(skip_by)s.") % values,
                  {"screen": "election", "election_id": p["election_id"]})


def _limit_values(p: Mapping, l: Language) -> dict:
    return {"deferred": l.money(p["deferred_cents"]), "limit": l.money(p["limit_cents"]), "year": p["year"],
            "catch_up": l.money(p["catch_up_cents"])}


def _limit_approaching(p: Mapping, l: Language) -> Texts:
    values = _limit_values(p, l)
    feed = l._("You have saved %(deferred)s of this year's %(limit)s limit on 401(k) contributions.") % values
    if p["catch_up"]:
        feed += " " + l._("After the limit, your catch-up contributions continue, up to %(catch_up)s more.") % values
    return _texts(l, "limits", l._("Nearing the yearly limit"),
                  l._("Your 401(k) contributions are nearing this year's limit."), feed, {"screen": "contributions"})


def _limit_reached(p: Mapping, l: Language) -> Texts:
    values = _limit_values(p, l)
    feed = l._("You have reached this year's %(limit)s limit on 401(k) contributions.") % values
    feed += " " + (l._("Your catch-up contributions continue, up to %(catch_up)s more.") if p["catch_up"] else
                   l._("Payroll stops your contributions for the rest of %(year)s.")) % values
    return _texts(l, "limits", l._("Yearly limit reached"),
                  l._("Your 401(k) contributions have reached this year's limit."), feed, {"screen": "contributions"})


def _deferrals_stopped(p: Mapping, l: Language) -> Texts:
    values = {"effective_date": l.date(p["effective_date"]),
              "resume_on": l.date(p["resume_on"]) if p.get("resume_on") else ""}
    if p["reason"] == "limit":
        feed = (l._("You reached the yearly limit: payroll stops your contributions from the paycheck of "
                    "%(effective_date)s. They start again on %(resume_on)s.") if p.get("resume_on") else
                l._("You reached the yearly limit: payroll stops your contributions from the paycheck of "
                    "%(effective_date)s.")) % values
    else:
        feed = l._("Payroll confirmed your opt-out: no contributions from the paycheck of %(effective_date)s.") % values
    link = {"screen": "election", "election_id": p["election_id"]} if p.get("election_id") else {"screen": "contributions"}
    return _texts(l, "elections", l._("Contributions stopped"),
                  l._("Payroll has stopped your 401(k) contributions. Open the app to see why."), feed, link)


def _deferrals_resumed(p: Mapping, l: Language) -> Texts:
    values = {"effective_date": l.date(p["effective_date"]), "rate": l.percent(p["rate"]) if p.get("rate") else ""}
    if p["reason"] == "new_year":
        feed = l._("A new year: your 401(k) contributions start again from %(effective_date)s.") % values
    elif p.get("rate"):
        feed = l._("Payroll confirmed: your contributions start again at %(rate)s of your pay from the paycheck of "
                   "%(effective_date)s.") % values
    else:
        feed = l._("Payroll confirmed: your contributions start again from the paycheck of %(effective_date)s.") % values
    link = {"screen": "election", "election_id": p["election_id"]} if p.get("election_id") else {"screen": "contributions"}
    return _texts(l, "elections", l._("Contributions resumed"),
                  l._("Your 401(k) contributions have started again."), feed, link)


def _nudge_match_left(p: Mapping, l: Language) -> Texts:
    values = {"left": l.money(p["left_cents"]), "rate": l.percent(p["full_match_rate"]),
              "pay_date": l.date(p["pay_date"])}
    return _texts(l, "nudges", l._("Free money left on the table"),
                  l._("Your employer would have added more to your 401(k) this paycheck. See how to get all of it."),
                  l._("Your paycheck of %(pay_date)s left %(left)s of employer match unclaimed. Save %(rate)s of your "
                      "pay to get all of it.") % values, {"screen": "election"})


def _nudge_raise(p: Mapping, l: Language) -> Texts:
    values = {"raise": l.percent(p["raise_rate"]), "current": l.percent(p["current_rate"]),
              "suggested": l.percent(p["suggested_rate"])}
    return _texts(l, "nudges", l._("Save part of your raise"),
                  l._("Congratulations on your raise! Saving part of it is easy to do in the app."),
                  l._("Your pay went up about %(raise)s. Raising your contribution from %(current)s to %(suggested)s "
                      "saves part of it, and you would hardly notice.") % values, {"screen": "election"})


def _nudge_join(p: Mapping, l: Language) -> Texts:
    values = {"match": l.money(p["annual_match_cents"]), "rate": l.percent(p["full_match_rate"])}
    feed = (l._("You have not joined your 401(k) plan yet. Save %(rate)s of your pay and your employer adds about "
                "%(match)s a year.") if p["annual_match_cents"] else
            l._("You have not joined your 401(k) plan yet. It takes a few minutes in the app.")) % values
    return _texts(l, "nudges", l._("Your 401(k) is waiting"),
                  l._("You can still join your 401(k) plan. Open the app to enroll."), feed, {"screen": "enroll"})


# ---- plan documents (notifications/plan_documents.py) -------------------------------------------------------------

def _plan_summary_updated(p: Mapping, l: Language) -> Texts:
    # ERISA 104(b)(1): participants are given a summary of a material modification to the plan.
    values = {"effective_date": l.date(p["effective_date"])}
    return _texts(l, "notices", l._("Your plan has changed"),
                  l._("A new summary of your 401(k) plan is available. Open the app to read it."),
                  l._("Your employer amended your 401(k) plan from %(effective_date)s. A new summary of the plan, "
                      "with what changed, is available in the app.") % values,
                  {"screen": "plan_summary", "plan_id": p["plan_id"]})


PARTICIPANT_TEMPLATES: dict[str, Callable[[Mapping, Language], Texts]] = {
    "plan_summary_updated": _plan_summary_updated,
    "eligible_to_enroll": _eligible_to_enroll,
    "auto_enroll_coming": _auto_enroll_coming,
    "change_confirmed": _change_confirmed,
    "escalation_coming": _escalation_coming,
    "limit_approaching": _limit_approaching,
    "limit_reached": _limit_reached,
    "deferrals_stopped": _deferrals_stopped,
    "deferrals_resumed": _deferrals_resumed,
    "nudge_match_left": _nudge_match_left,
    "nudge_raise": _nudge_raise,
    "nudge_join": _nudge_join,
}




# ---- staff: sponsors and advisors -----------------------------------------------------------------------------------
# The push and the title name no amount, rate or pay: an admin's phone is as public as a participant's. The counts
# they carry are of elections or statements, not of money.

def _approvals_waiting(p: Mapping, l: Language) -> Texts:
    values = {"count": p["count"]}
    return _texts(l, "approvals", l._("Elections waiting for approval"),
                  l._("Elections waiting for your approval: %(count)s.") % values,
                  l._("Elections waiting for your approval: %(count)s. Review them in the approval queue; each "
                      "takes effect on the first pay date after you approve it.") % values,
                  {"screen": "approvals", "plan_id": p["plan_id"]})


def _pay_run_exceptions(p: Mapping, l: Language) -> Texts:
    values = {"held": p["held"], "pay_date": l.date(p["pay_date"])}
    return _texts(l, "payroll", l._("Pay run needs review"),
                  l._("Statements held for your review in a pay run: %(held)s.") % values,
                  l._("Statements of the pay run of %(pay_date)s held for your review: %(held)s. Their contributions "
                      "post once you accept or correct them.") % values,
                  {"screen": "exceptions", "employer_id": p["employer_id"], "pay_run_id": p["pay_run_id"]})


def _fix_line(fix: Mapping, l: Language) -> str:
    """One test's fix, in the sponsor's words. The corrections are those of IRC 401(k)(8)/401(m)(6) (refunds or
    catch-up re-characterization, Treas. Reg. 1.401(k)-2(b)(1)) and the QNEC of Treas. Reg. 1.401(k)-2(b)(1)(ii)."""
    test = fix["test"].upper()
    if fix.get("narrow"):
        return l._("%(test)s: the margin is down to %(margin)s points; highly compensated employees can defer up to "
                   "%(limit)s on average and still pass.") % {"test": test, "margin": fix["margin"],
                                                              "limit": l.percent(fix["limit"])}
    parts = []
    if fix.get("qnec_rate") is not None:
        parts.append(l._("%(test)s: a QNEC of %(rate)s of pay to every eligible non-highly compensated employee "
                         "would pass (cost %(cost)s).") % {"test": test, "rate": l.percent(fix["qnec_rate"]),
                                                           "cost": l.money(fix["qnec_cost_cents"])})
    if fix.get("refund_cents"):
        parts.append(l._("%(test)s: or refunds of %(amount)s to highly compensated employees.")
                     % {"test": test, "amount": l.money(fix["refund_cents"])})
    if fix.get("catch_up_cents"):
        parts.append(l._("%(test)s: or %(amount)s of their deferrals kept as catch-up contributions.")
                     % {"test": test, "amount": l.money(fix["catch_up_cents"])})
    return " ".join(parts)


def _compliance_warning(p: Mapping, l: Language) -> Texts:
    values = {"plan": p["plan_name"], "year": p["year"], "tests": " & ".join(t.upper() for t in p["tests"])}
    if p["status"] == "at_risk":
        push = l._("Early warning: %(plan)s is on track to fail a compliance test. Open the app for the fix.")
        lead = l._("At the current elections %(plan)s is on track to fail its %(year)s %(tests)s test. There is "
                   "still time to act:")
    else:
        push = l._("Early warning: %(plan)s is close to failing a compliance test. Open the app for the fix.")
        lead = l._("%(plan)s passes its %(year)s %(tests)s test at the current elections, but by less than its "
                   "warning margin:")
    feed = " ".join([lead % values] + [_fix_line(fix, l) for fix in p["fixes"]])
    return _texts(l, "compliance", l._("Compliance early warning"), push % values, feed,
                  {"screen": "compliance", "plan_id": p["plan_id"], "warning_id": p["warning_id"]})


def _payroll_message_dead(p: Mapping, l: Language) -> Texts:
    return _texts(l, "payroll", l._("Payroll update not delivered"),
                  l._("A deferral change could not be delivered to payroll. Open the app to retry it."),
                  l._("A deferral change could not be delivered to payroll (%(reason)s). Until it is, payroll "
                      "withholds the old amount: retry it from the outbox once the cause is fixed.")
                  % {"reason": p["reason"]},
                  {"screen": "outbox", "employer_id": p["employer_id"], "message_id": p["message_id"]})


def _advisor_digest(p: Mapping, l: Language) -> Texts:
    statuses = {"at_risk": l._("at risk"), "narrow_margin": l._("narrow margin")}
    lines = [l._("%(employer)s, %(plan)s: %(tests)s %(status)s for %(year)s.")
             % {"employer": w["employer_name"], "plan": w["plan_name"], "status": statuses[w["status"]],
                "tests": " & ".join(t.upper() for t in w["tests"]), "year": w["year"]} for w in p["warnings"]]
    values = {"count": len(p["warnings"]), "day": l.date(p["day"])}
    return _texts(l, "digests", l._("Your daily compliance digest"),
                  l._("Early warnings on your plans yesterday: %(count)s.") % values,
                  "\n".join([l._("Early warnings raised on %(day)s across the plans you serve:") % values] + lines),
                  {"screen": "compliance", "day": p["day"]})


# ---- billing (backend/billing/) ---------------------------------------------------------------------------------------
# In the payroll category: it is the sponsor's money matter the payroll admins already hear of, and a category of its
# own would be offered to participants' settings too, who never get one.

def _billing_payment_failed(p: Mapping, l: Language) -> Texts:
    values = {"amount": l.money(p["amount_cents"]), "past_due_on": l.date(p["past_due_on"])}
    return _texts(l, "payroll", l._("Plumb payment failed"),
                  l._("The payment for your Plumb subscription failed. Open the app to see what to do."),
                  l._("The payment of %(amount)s for your Plumb subscription failed. Update your payment method "
                      "before %(past_due_on)s, when your billing turns past due. Your participants' accounts and "
                      "their app are not affected.") % values,
                  {"screen": "billing", "employer_id": p["employer_id"], "invoice_id": p["invoice_id"]})


STAFF_TEMPLATES: dict[str, Callable[[Mapping, Language], Texts]] = {
    "approvals_waiting": _approvals_waiting,
    "pay_run_exceptions": _pay_run_exceptions,
    "compliance_warning": _compliance_warning,
    "payroll_message_dead": _payroll_message_dead,
    "advisor_digest": _advisor_digest,
    "billing_payment_failed": _billing_payment_failed,
}

TEMPLATES: dict[str, Callable[[Mapping, Language], Texts]] = {
    "election_approved": _election_approved,
    "election_rejected": _election_rejected,
    "contribution_posted": _contribution_posted,
    **PARTICIPANT_TEMPLATES,
    **STAFF_TEMPLATES,
}


@lru_cache(maxsize=4096)
def _long_date(day: date, locale: Locale) -> str:
    """A date written out (a pay run's notices all name the same pay date: written once)."""
    return format_date(day, format="long", locale=locale)


@cache
def _language(code: str) -> Language:
    return Language(code)


def render(kind: str, params: Mapping, language: str = DEFAULT_LANGUAGE) -> Texts:
    """The texts of one notification of `kind` in `language` (a KeyError names an unknown kind: a programming
    error)."""
    texts = TEMPLATES[kind](params, _language(language))
    assert texts.category in CATEGORIES, texts.category
    return texts


def language_of(locale: str | None) -> str:
    """The supported language of a BCP 47 locale ('es-MX' → 'es'); anything else reads English."""
    prefix = (locale or "").replace("_", "-").split("-")[0].lower()
    return prefix if prefix in LANGUAGES else DEFAULT_LANGUAGE
