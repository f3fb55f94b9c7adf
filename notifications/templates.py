"""Every notification's words, in one place: kind → category, title, push text, feed text and deep link.

Two texts per kind: the push text shows on a lock screen, which anyone can read, so it never carries an SSN, a
birth date, a balance or a pay figure; the feed text is read behind login and may carry amounts. English only for
now (the Spanish catalog comes with the Babel work of issue 11)."""
from collections.abc import Mapping
from dataclasses import dataclass

from backend.money import format_dollars


@dataclass(frozen=True)
class Texts:
    category: str
    title: str
    push: str
    feed: str
    deep_link: dict


def _election_approved(p: Mapping) -> Texts:
    return Texts("elections", "Election approved",
                 "Your employer approved your contribution election.",
                 f"Your employer approved your contribution election (version {p['version']}). Payroll will "
                 "apply it from the next pay date.",
                 {"screen": "election", "election_id": p["election_id"]})


def _election_rejected(p: Mapping) -> Texts:
    return Texts("elections", "Election not approved",
                 "Your employer did not approve your contribution election. Open the app to see why.",
                 f"Your employer did not approve your contribution election (version {p['version']}): "
                 f"{p['reason']}",
                 {"screen": "election", "election_id": p["election_id"]})


def _contribution_posted(p: Mapping) -> Texts:
    match = f", and your employer added {format_dollars(p['match_cents'])}" if p["match_cents"] else ""
    return Texts("contributions", "Contribution posted",
                 "Your latest 401(k) contribution has been posted to your account.",
                 f"{format_dollars(p['deferral_cents'])} from your paycheck of {p['pay_date']} went into your "
                 f"401(k){match}.",
                 {"screen": "balance", "pay_run_id": p["pay_run_id"]})


TEMPLATES = {
    "election_approved": _election_approved,
    "election_rejected": _election_rejected,
    "contribution_posted": _contribution_posted,
}


def render(kind: str, params: Mapping) -> Texts:
    """The texts of one notification of `kind` (a KeyError names an unknown kind: a programming error)."""
    return TEMPLATES[kind](params)
