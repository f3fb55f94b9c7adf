"""The demo data behind `make demo`: an advisor, a sponsor, a plan, a census, a participant who signed up, and a
few months of history so every screen of the app has something true to show on first open: approved elections,
biweekly pay runs through the payroll ingest (so the ledger, 402(g), the match and the exceptions queue are real),
the default fund's prices on each pay date, the plan's compliance recomputed after each run (its history chart),
one election waiting for the sponsor's approval, and an automatic increase announced to Priya, whose rate is the
plan's automatic one, so the participant screens can show skipping it.

The advisor's book holds three more plans in other states (`_book`): one at risk of failing the ADP test, one whose
adoption agreement is not signed yet, one signed but not yet live, so the book's attention order and the setup
pipeline have something to sort.

Invitations go to the people invited (outbox topic `invitation`), never back to staff; the demo, which plays every
part, opens them from the outbox with the PII vault and prints them on its own console."""
from datetime import date, timedelta
from decimal import Decimal

from sqlalchemy import select

from backend.accounts import prices as fund_prices
from backend.db import utcnow
from backend.documents import service as documents
from backend.audit import Actor
from backend.compliance.state import recompute
from backend.enrollment import automatic, eligibility
from backend.enrollment.approvals import approve_election
from backend.enrollment.determinations import eligibility_rules
from backend.enrollment.elections import submit_election
from backend.payroll import service as payroll
from backend.plans.schedules import pay_dates_between
from backend.enrollment import service as enrollment
from backend.identity import service as identity
from backend.identity.models import Invitation, User
from backend.plans import service as plans
from backend.outbox import OutboxMessage
from backend.plans import invitations
from backend.plans.models import Employee

ADVISOR = ("advisor@plumb.demo", "demo-advisor-pass")
SPONSOR = ("sponsor@acme.demo", "demo-sponsor-pass")
PARTICIPANT = ("maria@acme.demo", "demo-participant-pass")


def _census(today: date) -> list[dict]:
    def row(external_id, first, last, born, hired, pay, ssn, **extra):
        return {"external_id": external_id, "first_name": first, "last_name": last, "date_of_birth": born,
                "ssn": ssn, "hire_date": hired, "annual_compensation": pay, "email": f"{first.lower()}@acme.demo",
                "phone": None, "rehire_date": None, "termination_date": None, "hours": 1500,
                "prior_period_hours": None, "ownership_percent": "0", "officer": False, **extra}

    return [
        row("E001", "Dana", "Owner", date(1968, 3, 4), date(2015, 1, 5), "240000.00", "123-45-0001",
            ownership_percent="60", officer=True),
        row("E002", "Maria", "Lopez", date(1985, 7, 19), date(2019, 6, 3), "72000.00", "123-45-0002"),
        row("E003", "Sam", "Chen", date(1990, 11, 2), date(2021, 2, 15), "58000.00", "123-45-0003"),
        row("E004", "Priya", "Patel", date(1972, 5, 30), date(2018, 9, 10), "96000.00", "123-45-0004"),
        row("E005", "Jordan", "Young", today.replace(year=today.year - 19), today - timedelta(days=90), "31000.00",
            "123-45-0005", hours=400),
        row("E006", "Lee", "Park", date(1995, 1, 22), today - timedelta(days=20), "51000.00", "123-45-0006", hours=120),
    ]


BORN = {"E003": "1990-11-02", "E004": "1972-05-30"}  # the demo's sign-up examples
HISTORY_DAYS = 120  # about four months of biweekly pay runs (eight or nine)
# Who defers what since the history began: the owner (an HCE) saves more than the rest, as owners tend to.
RATES = {"E001": Decimal("8"), "E002": Decimal("5"), "E004": Decimal("4")}
PENDING = ("E001", Decimal("10"))  # the owner asks for more: the sponsor's pending approval
# Priya's rate is the plan's automatic one (enrolled at the default 3%, stepped up once): it escalates each plan year
# until the cap, and she may skip the next step (IRC 414(w); RULES.md §6).
AUTOMATIC = {"E004"}
FUND, FIRST_PRICE, WEEKLY_GROWTH = "PLTDX", Decimal("25.00"), Decimal("0.0015")


def seed_demo(plumb) -> list[tuple[str, str, str, str]]:
    """Create the demo once; later runs find it and only print the logins."""
    config, today = plumb.config, plumb.clock.today()
    with plumb.db.transaction() as session:
        if session.scalar(select(User.id).where(User.email == ADVISOR[0])) is None:
            actor = Actor.system("demo")
            advisor = identity.create_user(session, config, email=ADVISOR[0], password=ADVISOR[1], role="advisor")
            principal = identity.Principal(advisor.id, "advisor", None, None)
            setup = plans.setup_plan(session, plumb.vault, actor, principal, {
                "template": "safe_harbor_match",
                "employer": {"name": "Acme Bakery LLC", "ein": "12-3456789",
                             "address": {"line1": "1 Main St", "line2": None, "city": "Provo", "state": "UT",
                                         "postal_code": "84601"},
                             "payroll": {"frequency": "biweekly", "anchor_pay_date": date(2026, 1, 2)}},
                "sponsor_admin": {"email": SPONSOR[0]},
                "plan": {"effective_date": date(today.year, 1, 1), "requires_approval": True},
            })
            identity.accept_invitation(session, config, _sent_secret(session, plumb.vault, _invitation_of(session, SPONSOR[0])),
                                       SPONSOR[1])
            _sign_adoption_agreement(session, setup.plan.id, today)
            vault = plumb.vault
            result = plans.load_census(session, vault, actor, setup.employer, _census(today), today)
            maria = next(e for e in result.employees if e.external_id == "E002")
            enrollment.sign_up(session, config, vault, actor,
                               invite_code=_sent_secret(session, vault, maria.id),
                               date_of_birth=date(1985, 7, 19), ssn_last4="0002", email=PARTICIPANT[0],
                               password=PARTICIPANT[1])
            _history(session, plumb, actor, setup.employer, today)
            _book(session, plumb, actor, principal, today)
    with plumb.db.transaction() as session:
        signed_up = set(session.scalars(select(User.employee_id).where(User.employee_id.is_not(None))))
        waiting = [(e, _sent_secret(session, plumb.vault, e.id))
                   for e in session.scalars(select(Employee).order_by(Employee.external_id))
                   if e.id not in signed_up and e.invite_code_hash is not None]
    return [
        ("advisor", *ADVISOR, "the book of four plans (at risk, approvals, unsigned, signed) and the pipeline"),
        ("sponsor_admin", *SPONSOR, "Acme Bakery: approvals (one waiting), compliance, a payroll exception"),
        ("participant", *PARTICIPANT, "Maria: a balance with four months of pay runs"),
    ] + [("invite code", code or "-", f"{e.first_name} {e.last_name}",
          f"sign up: POST /mobile/v1/signup (born {BORN[e.external_id]}, SSN {e.ssn_last4})")
         for e, code in waiting if e.external_id in BORN]


def _sign_adoption_agreement(session, plan_id: str, today: date, email: str = SPONSOR[0]) -> None:
    """The sponsor admin signs the plan's adoption agreement, as they would on first sign-in: the demo's plan is
    live and takes pay runs."""
    sponsor = session.scalar(select(User).where(User.email == email))
    principal = identity.Principal(sponsor.id, sponsor.role, sponsor.employer_id, None)
    documents.sign(session, Actor(sponsor.id, sponsor.role, "127.0.0.1", "plumb demo"), principal,
                   documents.current_agreement(session, plan_id), typed_name="Alex Baker", title="Owner",
                   consent=True, at=utcnow(), today=today)


def _history(session, plumb, actor: Actor, employer, today: date) -> None:
    """Elections approved before the history began, each pay run since posted through the payroll ingest with
    the default fund priced on its pay date (so contributions are invested and the balance has a history), the
    plan's compliance recomputed after each run, a final price today, and the owner's raise awaiting approval.
    The last run also pays a deferral to an employee not yet eligible: an exception for the sponsor to resolve."""
    vault, plan = plumb.vault, plans.current_plan(session, employer.id)
    people = {e.external_id: e for e in session.scalars(select(Employee).where(Employee.employer_id == employer.id))}
    start = max(today - timedelta(days=HISTORY_DAYS), plan.effective_date)
    for external_id, percent in RATES.items():
        if external_id in AUTOMATIC:
            election = automatic._platform_election(session, people[external_id], plan, "escalation", percent,
                                                    start)
            approve_election(session, automatic.AUTO, election, employer, start)
            continue
        election = submit_election(session, vault, actor, people[external_id],
                                   [{"money_type": "pretax", "percent": percent}], start)
        approve_election(session, actor, election, employer, start)
    pay_dates = pay_dates_between(employer.pay_frequency, employer.anchor_pay_date, start + timedelta(days=1),
                                  today)
    for number, pay_date in enumerate(pay_dates, 1):
        statements = []
        for external_id in ("E001", "E002", "E003", "E004"):
            gross = people[external_id].annual_compensation_cents // 26
            pretax = int(gross * RATES.get(external_id, Decimal(0)) / 100)
            statements.append({"external_id": external_id, "gross_pay_cents": gross,
                               "plan_compensation_cents": gross, "hours": Decimal("80"),
                               "withholdings": {"pretax": pretax} if pretax else {}})
        if number == len(pay_dates):
            statements.append({"external_id": "E005", "gross_pay_cents": 119230, "plan_compensation_cents": 119230,
                               "hours": Decimal("40"), "withholdings": {"pretax": 3577}})
        period_end = pay_date - timedelta(days=5)
        payroll.ingest_pay_run(session, vault, actor, employer, {
            "provider_run_id": f"demo-{pay_date.isoformat()}", "version": 1, "pay_date": pay_date,
            "period_start": period_end - timedelta(days=13), "period_end": period_end, "run_type": "regular",
            "statements": statements}, via="api", connection_id=None, today=pay_date)
        _price(session, actor, plan, pay_date, start)
        recompute(session, vault, plan, pay_date, f"pay_run:demo-{pay_date.isoformat()}")
    if not pay_dates or pay_dates[-1] != today:
        _price(session, actor, plan, today, start)
    owner, percent = PENDING
    submit_election(session, vault, actor, people[owner], [{"money_type": "pretax", "percent": percent}], today)
    # The daily pass announces next plan year's step within its notice period; the demo announces it as that pass
    # will, from whatever day the demo starts, so the step is there to skip on first open.
    year_start = eligibility.plan_year_start_after(eligibility_rules(plan), today)
    automatic.schedule_escalations(session, plan,
                                   max(today, year_start - timedelta(days=automatic.ESCALATION_NOTICE_DAYS)))


# The advisor's other plans: (employer, EIN, template, sponsor admin, signed, an at-risk pay run).
BOOK = [("Harbor Roofing Co", "23-4567890", "traditional", "owner@harbor.demo", True, True),
        ("Birch Dental PLLC", "34-5678901", "safe_harbor_match", "office@birch.demo", False, False),
        ("Cedar Street Cafe", "45-6789012", "starter", "owner@cedar.demo", True, False)]
BOOK_PASSWORD = "demo-book-pass"


def _book(session, plumb, actor: Actor, advisor, today: date) -> None:
    """The advisor's other plans, each set up through the same service as Acme's. Harbor Roofing (a traditional
    plan: ADP tested, IRC 401(k)(3)) has its owner deferring 10% while the two others defer nothing, one pay run
    posted and compliance computed, so it is at risk of failing; Birch Dental's agreement waits for a signature;
    Cedar Street Cafe is signed and waits for its first pay run."""
    for name, ein, template, email, signed, at_risk in BOOK:
        setup = plans.setup_plan(session, plumb.vault, actor, advisor, {
            "template": template,
            "employer": {"name": name, "ein": ein, "address": {"line1": "9 Oak Ave", "line2": None, "city": "Ogden",
                                                              "state": "UT", "postal_code": "84401"},
                         "payroll": {"frequency": "biweekly", "anchor_pay_date": date(2026, 1, 2)}},
            "sponsor_admin": {"email": email},
            # Immediate entry, so Harbor's long-serving crew may defer in the demo's one pay run.
            "plan": {"effective_date": date(today.year, 1, 1), "auto_enrollment": {"enabled": False},
                     **({"eligibility": {"service_months": 0, "entry_frequency": "immediate"}} if at_risk else {})},
        })
        if not signed:
            continue
        identity.accept_invitation(session, plumb.config,
                                   _sent_secret(session, plumb.vault, _invitation_of(session, email)), BOOK_PASSWORD)
        _sign_adoption_agreement(session, setup.plan.id, today, email)
        if at_risk:
            _at_risk_history(session, plumb, actor, setup.employer, today)


def _at_risk_history(session, plumb, actor: Actor, employer, today: date) -> None:
    """The owner (an HCE: a 5% owner, IRC 414(q)(1)(A)) defers 10% and no one else defers: one pay run, then the
    compliance state, which projects the ADP test failing."""
    domain = employer.name.split()[0].lower()
    census = [{"external_id": f"H00{n}", "first_name": first, "last_name": last, "date_of_birth": born,
               "ssn": f"234-56-000{n}", "hire_date": date(2016 + n, 3, 1), "annual_compensation": pay,
               "email": f"{first.lower()}@{domain}.demo", "phone": None, "rehire_date": None,
               "termination_date": None, "hours": 2000, "prior_period_hours": None,
               "ownership_percent": owned, "officer": owned != "0"}
              for n, first, last, born, pay, owned in [
                  (1, "Rex", "Harbor", date(1966, 2, 1), "210000.00", "100"),
                  (2, "Ana", "Ruiz", date(1988, 4, 9), "52000.00", "0"),
                  (3, "Tom", "Webb", date(1992, 8, 17), "47000.00", "0")]]
    vault, plan = plumb.vault, plans.current_plan(session, employer.id)
    people = {e.external_id: e for e in plans.load_census(session, vault, actor, employer, census, today).employees}
    election = submit_election(session, vault, actor, people["H001"], [{"money_type": "pretax", "percent": Decimal(10)}],
                               plan.effective_date)
    approve_election(session, actor, election, employer, plan.effective_date)
    pay_dates = pay_dates_between(employer.pay_frequency, employer.anchor_pay_date, plan.effective_date, today)
    if not pay_dates:  # the first days of a year: no pay date yet, the plan waits for its first run
        return
    pay_date = pay_dates[-1]
    statements = [{"external_id": p.external_id, "gross_pay_cents": p.annual_compensation_cents // 26,
                   "plan_compensation_cents": p.annual_compensation_cents // 26, "hours": Decimal("80"),
                   "withholdings": {"pretax": p.annual_compensation_cents // 26 // 10} if p.external_id == "H001" else {}}
                  for p in people.values()]
    period_end = pay_date - timedelta(days=5)
    payroll.ingest_pay_run(session, vault, actor, employer, {
        "provider_run_id": f"demo-harbor-{pay_date.isoformat()}", "version": 1, "pay_date": pay_date,
        "period_start": period_end - timedelta(days=13), "period_end": period_end, "run_type": "regular",
        "statements": statements}, via="api", connection_id=None, today=pay_date)
    recompute(session, vault, plan, today, f"pay_run:demo-harbor-{pay_date.isoformat()}")


def _price(session, actor: Actor, plan, day: date, start: date) -> None:
    """The default fund's price on `day`: a steady climb from the history's start, to the cent."""
    weeks = Decimal((day - start).days) / 7
    price = (FIRST_PRICE * (1 + WEEKLY_GROWTH * weeks)).quantize(Decimal("0.01"))
    fund_prices.load_prices(session, actor, plan, [{"ticker": FUND, "price_date": day, "price": price}],
                            lambda i: f"prices[{i}]", day)


def _invitation_of(session, email: str) -> str:
    """The id of the newest sponsor admin invitation to `email`."""
    return session.scalars(select(Invitation.id).where(Invitation.email == email)
                           .order_by(Invitation.created_at.desc())).first()


def _sent_secret(session, vault, subject_id: str) -> str | None:
    """The code or token in the latest invitation about `subject_id` (an employee, or a sponsor admin's
    invitation), as its receiver reads it."""
    messages = session.scalars(select(OutboxMessage).where(OutboxMessage.topic == invitations.TOPIC,
                                                           OutboxMessage.subject_id == subject_id)
                               .order_by(OutboxMessage.seq.desc()))
    sealed = next((m.payload["secret_sealed"] for m in messages if m.payload.get("secret_sealed")), None)
    return vault.open(sealed.encode()) if sealed else None
