"""The ledger's invariants, for any sequence of pay runs, corrections, replays and price loads sent through HTTP:
every entry sums to zero; the plan's accounts sum to zero; participant and trust-cash accounts hold exactly the
money payroll sent in the latest version of each run; replays change nothing; `plumb ledger check` agrees. And the
database itself refuses to update or delete ledger rows, and to store an entry that does not balance or has fewer
than two lines, whoever writes it."""
import itertools
from contextlib import contextmanager
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from sqlalchemy import exc, select, text

from backend.accounts.models import LedgerEntry
from tests import scenario
from tests.payroll.support import account_balances, account_cents, row_counts, unbalanced_entries
from tests.support import run_cli

_worlds = itertools.count(1)
RUN_SLOTS = 3
PAY_DATES = [date(2026, 10, 2) + timedelta(days=14 * slot) for slot in range(RUN_SLOTS)]  # 10-02, 10-16, 10-30
PRICE_DAYS = ["2026-10-01", "2026-10-02", "2026-10-09", "2026-10-16", "2026-10-30", "2026-11-20"]


def computed_match(comp: int, deferred: int) -> int:
    """The safe-harbor basic match (100% of the first 3% of pay, 50% of the next 2%), for one pay period."""
    if not comp or not deferred:
        return 0
    percent = min(Decimal(100), Decimal(deferred) * 100 / Decimal(comp))
    matched = min(percent, Decimal(3)) + Decimal("0.5") * max(Decimal(0), min(percent, Decimal(5)) - 3)
    return int((Decimal(comp) * matched / 100).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def received(statements: list[dict]) -> int:
    """What payroll sends the trust for a run: every withholding and the match, held statements included."""
    total = 0
    for st_ in statements:
        withheld = st_["withholdings"]
        match = st_.get("employer_match_cents")
        if match is None:
            match = computed_match(st_["plan_compensation_cents"], withheld.get("pretax", 0) + withheld.get("roth", 0))
        total += sum(withheld.values()) + match
    return total


matches = st.one_of(st.none(), st.integers(0, 15000))
e1_statement = st.builds(lambda gross, pretax, roth, match: scenario.statement(
    "E1", gross, pretax=pretax, roth=roth, **({} if match is None else {"employer_match_cents": match})),
    st.integers(100000, 400000), st.integers(0, 20000), st.integers(0, 5000), matches)
# E2 is not eligible until 2027: any deferral of theirs is held, and its money waits in trust cash.
e2_statement = st.builds(lambda gross, pretax, match: scenario.statement(
    "E2", gross, pretax=pretax, **({} if match is None else {"employer_match_cents": match})),
    st.integers(50000, 150000), st.integers(0, 3000), matches)
statements = st.tuples(e1_statement, st.one_of(st.none(), e2_statement)).map(lambda pair: [s for s in pair if s])
run_op = st.tuples(st.just("run"), st.integers(0, RUN_SLOTS - 1), statements)
operations = st.lists(st.one_of(
    run_op, run_op,  # twice as likely as the others, so that runs get corrected
    st.tuples(st.just("replay"), st.integers(0, 20)),  # any version sent so far
    st.tuples(st.just("prices"), st.sampled_from(PRICE_DAYS), st.sampled_from(["10.00", "12.50", "25.00"])),
), min_size=1, max_size=10)


class Model:
    """What the test sent, so it knows what the ledger must hold."""

    def __init__(self):
        self.versions: dict[int, list[dict]] = {}  # run slot → every version's body, oldest first
        self.prices: dict[str, str] = {}

    def next_version(self, slot: int, sent: list[dict]) -> dict:
        versions = self.versions.setdefault(slot, [])
        if versions and sent == versions[-1]["statements"]:
            sent[0]["gross_pay_cents"] += 1  # a correction changes something
            sent[0]["plan_compensation_cents"] += 1
        body = scenario.pay_run(f"P-{slot}", PAY_DATES[slot].isoformat(), sent, version=len(versions) + 1)
        versions.append(body)
        return body

    def money_received(self) -> int:
        return sum(received(versions[-1]["statements"]) for versions in self.versions.values())


def snapshot(client, plumb, world) -> tuple:
    summary = client.get("/mobile/v1/balance", headers=world.participant)
    assert summary.status_code == 200, summary.json
    return row_counts(plumb), account_balances(plumb, world.plan_id), summary.json


def check_invariants(plumb, world, model: Model) -> None:
    assert unbalanced_entries(plumb) == []
    assert account_cents(plumb, world.plan_id) == 0
    money = model.money_received()
    assert account_cents(plumb, world.plan_id, "participant", "participant_pending", "trust_cash") == money
    assert account_cents(plumb, world.plan_id, "payroll_clearing") == -money


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(operations)
def test_ledger_invariants_hold_for_any_sequence_of_runs_corrections_replays_and_prices(app, client, plumb, ops):
    n = next(_worlds)
    world = scenario.World(app, client, name=f"Property Co {n}", advisor_email=f"adv{n}@example.com",
                           sponsor_email=f"sp{n}@example.com", ein_prefix=f"W{n}-", requires_approval=False)
    # The scenario's World names employees with its prefix; the statements name them E1 and E2.
    world_ids = {"E1": f"W{n}-1", "E2": f"W{n}-2"}
    connection = scenario.connect_payroll(client, world.sponsor, world.employer_id)
    model = Model()
    for op in ops:
        event(op[0])
        if op[0] == "run":
            _, slot, sent = op
            sent = [{**s, "external_id": world_ids[s["external_id"]], "withholdings": dict(s["withholdings"])}
                    for s in sent]
            body = model.next_version(slot, sent)
            event("correction" if body["version"] > 1 else "first version")
            if len(sent) > 1 and sent[1]["withholdings"]:
                event("a held statement")
            response = scenario.signed_post(client, connection, body)
            assert response.status_code == 200, response.json
            assert response.json["replayed"] is False
            assert response.json["pay_run"]["version"] == body["version"]
        elif op[0] == "replay":
            sent_so_far = [body for versions in model.versions.values() for body in versions]
            if not sent_so_far:
                continue
            body = sent_so_far[op[1] % len(sent_so_far)]
            event("replay of a superseded version" if body is not model.versions[int(body["provider_run_id"][2:])][-1]
                  else "replay of the latest version")
            before = snapshot(client, plumb, world)
            response = scenario.signed_post(client, connection, body)
            assert response.status_code == 200, response.json
            assert response.json["replayed"] is True and response.json["pay_run"]["version"] == body["version"]
            assert snapshot(client, plumb, world) == before
        else:
            _, day, price = op
            price = model.prices.setdefault(day, price)  # a stored day is re-sent at its price: accepted, no change
            response = client.post(f"/v1/plans/{world.plan_id}/fund-prices", headers=world.sponsor,
                                   json={"prices": [{"ticker": "PLTDX", "price_date": day, "price": price}]})
            assert response.status_code == 200, response.json
        check_invariants(plumb, world, model)
    result = run_cli(app, args=["ledger", "check"])
    assert result.exit_code == 0, result.output


def _posted_world(app, client):
    world = scenario.World(app, client, requires_approval=False)
    connection = scenario.connect_payroll(client, world.sponsor, world.employer_id)
    response = scenario.signed_post(client, connection, scenario.pay_run("R-1", "2026-11-20", [
        scenario.statement("E1", 300000, pretax=9000)]))
    assert response.status_code == 200, response.json
    return world


@pytest.mark.parametrize("statement", [
    "UPDATE ledger_lines SET amount_cents = amount_cents + 1",
    "DELETE FROM ledger_lines",
    "UPDATE ledger_entries SET effective_date = effective_date",
    "DELETE FROM ledger_entries",
])
def test_the_database_refuses_to_change_or_remove_ledger_rows(app, client, plumb, statement):
    world = _posted_world(app, client)
    before = account_balances(plumb, world.plan_id), row_counts(plumb)
    with pytest.raises(exc.DBAPIError, match="append-only"):
        with plumb.db.transaction() as session:
            session.execute(text(statement))
    assert (account_balances(plumb, world.plan_id), row_counts(plumb)) == before


# ---- the database's own refusals, shown around the ORM and post_entries: plain SQL on a connection -------------

FORGED_DAY = "2026-11-20"


def _accounts(plumb, plan_id: str) -> list[str]:
    """The ids of the plan's payroll clearing and trust cash accounts, to write forged lines against."""
    with plumb.db.engine.connect() as connection:
        ids = dict(connection.execute(text("SELECT key, id FROM ledger_accounts WHERE plan_id = :plan"),
                                      {"plan": plan_id}).all())
    return [ids["payroll_clearing"], ids["trust_cash"]]


def _insert_entry(connection, plan_id: str, entry_id: str) -> None:
    connection.execute(text("INSERT INTO ledger_entries (id, plan_id, idempotency_key, kind, effective_date, created_at) "
                            "VALUES (:id, :plan, :key, 'deposit', :day, :now)"),
                       {"id": entry_id, "plan": plan_id, "key": f"forged:{entry_id}", "day": FORGED_DAY,
                        "now": f"{FORGED_DAY} 12:00:00"})


def _insert_lines(connection, entry_id: str, accounts: list[str], amounts: list[int]) -> None:
    """All the lines in one statement, as post_entries writes them."""
    if not amounts:
        return
    values = ", ".join(f"(:entry, :account{i}, :cents{i})" for i in range(len(amounts)))
    params = {"entry": entry_id}
    for i, cents in enumerate(amounts):
        params[f"account{i}"], params[f"cents{i}"] = accounts[i % len(accounts)], cents
    connection.execute(text(f"INSERT INTO ledger_lines (entry_id, account_id, amount_cents) VALUES {values}"), params)


def _assert_refused(plumb, raised, reason: str) -> None:
    """PostgreSQL names the rule (SQLSTATE 23514, check_violation); SQLite's deferred foreign key fails at COMMIT."""
    if plumb.db.dialect == "postgresql":
        assert raised.value.orig.sqlstate == "23514"
        assert reason in str(raised.value.orig)
    else:
        assert "FOREIGN KEY constraint failed" in str(raised.value.orig)


REFUSED = {
    # name: (the forged entry's lines in cents, what PostgreSQL says)
    "lines that do not sum to zero": ([500, -400], "ledger entry len_forged does not balance: 2 line(s) summing to 100"),
    "a single line": ([500], "ledger entry len_forged does not balance: 1 line(s) summing to 500"),
    "a single line of zero cents": ([0], "ledger entry len_forged does not balance: 1 line(s) summing to 0"),
    "no lines at all": ([], "ledger entry len_forged has no lines"),
}


@pytest.mark.parametrize("case", list(REFUSED))
def test_the_database_refuses_an_entry_that_does_not_balance_or_has_fewer_than_two_lines(app, client, plumb, case):
    amounts, reason = REFUSED[case]
    world = _posted_world(app, client)
    accounts = _accounts(plumb, world.plan_id)
    before = account_balances(plumb, world.plan_id), row_counts(plumb)
    with pytest.raises(exc.IntegrityError) as raised:
        with plumb.db.engine.begin() as connection:
            _insert_entry(connection, world.plan_id, "len_forged")
            _insert_lines(connection, "len_forged", accounts, amounts)
    _assert_refused(plumb, raised, reason)
    assert (account_balances(plumb, world.plan_id), row_counts(plumb)) == before
    check = run_cli(app, args=["ledger", "check"])
    assert check.exit_code == 0, check.output


def test_the_database_accepts_a_balanced_entry_written_in_plain_sql(app, client, plumb):
    world = _posted_world(app, client)
    before = row_counts(plumb)
    with plumb.db.engine.begin() as connection:
        _insert_entry(connection, world.plan_id, "len_by_hand")
        _insert_lines(connection, "len_by_hand", _accounts(plumb, world.plan_id), [-500, 300, 200])
    after = row_counts(plumb)
    assert (after["ledger_entries"], after["ledger_lines"]) == (before["ledger_entries"] + 1, before["ledger_lines"] + 3)
    check = run_cli(app, args=["ledger", "check"])
    assert check.exit_code == 0, check.output


def test_the_database_refuses_a_line_added_to_an_entry_already_posted(app, client, plumb):
    world = _posted_world(app, client)
    with plumb.db.transaction() as session:
        deposit = session.scalars(select(LedgerEntry.id).where(LedgerEntry.kind == "deposit")).one()
    before = account_balances(plumb, world.plan_id), row_counts(plumb)
    with pytest.raises(exc.IntegrityError) as raised:
        with plumb.db.engine.begin() as connection:
            _insert_lines(connection, deposit, _accounts(plumb, world.plan_id)[1:], [1])
    _assert_refused(plumb, raised, f"ledger entry {deposit} does not balance: 3 line(s) summing to 1")
    assert (account_balances(plumb, world.plan_id), row_counts(plumb)) == before


@contextmanager
def _as_before_migration_0008(plumb):
    """A connection in a transaction where the database does not check balances, as it did not before migration
    0008: PostgreSQL's triggers are disabled and enabled again inside the transaction (no other session ever sees
    them off); SQLite's foreign keys are off for this connection (a pragma it takes only outside a transaction)."""
    triggers = (("ledger_lines", "ledger_lines_balance"), ("ledger_entries", "ledger_entries_have_lines"))
    with plumb.db.engine.connect() as connection:
        if connection.dialect.name == "postgresql":
            with connection.begin():
                for table, trigger in triggers:
                    connection.execute(text(f"ALTER TABLE {table} DISABLE TRIGGER {trigger}"))
                yield connection
                for table, trigger in triggers:
                    connection.execute(text(f"ALTER TABLE {table} ENABLE TRIGGER {trigger}"))
            return
        connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
        connection.commit()
        try:
            with connection.begin():
                yield connection
        finally:
            connection.exec_driver_sql("PRAGMA foreign_keys=ON")
            connection.commit()


def test_ledger_check_reports_entries_stored_before_the_database_refused_them(app, client, plumb):
    """Migration 0008 does not re-check stored entries: `plumb ledger check` is what finds an old bad one."""
    world = _posted_world(app, client)
    ok = run_cli(app, args=["ledger", "check"])
    assert ok.exit_code == 0, ok.output
    accounts = _accounts(plumb, world.plan_id)
    with _as_before_migration_0008(plumb) as connection:
        _insert_entry(connection, world.plan_id, "len_unbalanced")
        _insert_lines(connection, "len_unbalanced", accounts[1:], [500])
        _insert_entry(connection, world.plan_id, "len_empty")
    bad = run_cli(app, args=["ledger", "check"])
    assert bad.exit_code == 1
    assert "entry len_unbalanced does not balance: off by 500 cents" in bad.output
    assert "entry len_empty has no lines" in bad.output
    assert f"plan {world.plan_id}: accounts sum to 500 cents, not zero" in bad.output
