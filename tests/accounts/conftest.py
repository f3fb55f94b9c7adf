"""A plan's books for service-level ledger tests: a plan with its fund menu and two employees, built through the
plans services on the test database (no HTTP, no Flask), and helpers that post and read back what the ledger holds."""
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from backend.accounts import service as ledger
from backend.accounts.models import LedgerAccount, LedgerEntry, LedgerLine
from backend.db import Database
from backend.audit import Actor
from backend.identity.service import Principal
from backend.plans import service as plans

CENSUS_DAY = date(2026, 11, 2)


@dataclass
class Books:
    """One plan's ledger, and the ids a worked example names its accounts with."""

    db: Database
    plan_id: str
    funds: dict[str, str]  # ticker: fund id
    employees: dict[str, str]  # external id: employee id

    def post(self, *specs: ledger.EntrySpec) -> dict[str, str]:
        """Post in a transaction of its own, committed, as every caller of post_entries does."""
        with self.db.transaction() as session:
            return ledger.post_entries(session, self.plan_id, list(specs))

    def balances(self) -> dict[str, tuple[int, Decimal]]:
        """Every account that has lines, by key: (cents, units). Summed here, exactly: SQLite would add the units
        (stored as text) as floats."""
        with self.db.transaction() as session:
            rows = session.execute(select(LedgerAccount.key, LedgerLine.amount_cents, LedgerLine.units)
                                   .join(LedgerLine, LedgerLine.account_id == LedgerAccount.id)
                                   .where(LedgerAccount.plan_id == self.plan_id)).all()
        totals: dict[str, tuple[int, Decimal]] = {}
        for key, cents, units in rows:
            total_cents, total_units = totals.get(key, (0, Decimal(0)))
            totals[key] = (total_cents + cents, total_units + (units or 0))
        return totals

    def entry(self, entry_id: str) -> LedgerEntry:
        with self.db.transaction() as session:
            found = session.get(LedgerEntry, entry_id)
            session.expunge(found)
            return found

    def count(self, model) -> int:
        with self.db.transaction() as session:
            return session.scalar(select(func.count()).select_from(model))


@pytest.fixture
def db(plumb):
    """The application's database, built by the wiring (so its sessions carry the event bus)."""
    return plumb.db


@pytest.fixture
def books(db, plumb) -> Books:
    """Acme's safe-harbor plan (funds PLTDX, PLBDX, ...) with employees E1 and E2."""
    vault = plumb.vault
    actor = Actor.system("tests")
    with db.transaction() as session:
        setup = plans.setup_plan(session, plumb.vault, actor, Principal("usr_tests", "platform_admin", None, None), {
            "template": "safe_harbor_match",
            "employer": {"name": "Acme Bakery LLC", "ein": "12-3456789",
                         "address": {"line1": "1 Main St", "city": "Provo", "state": "UT", "postal_code": "84601"},
                         "payroll": {"frequency": "biweekly", "anchor_pay_date": date(2026, 1, 2)}},
            "sponsor_admin": {"email": "sponsor@example.com"},
            "plan": {"effective_date": date(2026, 1, 1)}})
        census = plans.load_census(session, vault, actor, setup.employer, [
            {"external_id": external_id, "first_name": "Pat", "last_name": f"Worker {external_id}",
             "date_of_birth": date(1985, 7, 19), "ssn": ssn, "hire_date": date(2024, 3, 15),
             "annual_compensation": "72000.00", "hours": 1500}
            for external_id, ssn in (("E1", "123-45-6789"), ("E2", "987-65-4321"))], CENSUS_DAY)
        return Books(db, setup.plan.id, {f.ticker: f.id for f in setup.plan.funds},
                     {e.external_id: e.id for e in census.employees})
