"""The sponsor's people (issue 14) through the HTTP API: the participant list, its CSV and one participant's account
show each person's money as their phone does, to the cent; sort, filter and cursors; the audit trail; who may see
them. Then the pure rules (participation status, the plan year) with worked examples."""
import csv
import io
from datetime import date
from decimal import Decimal
from types import SimpleNamespace

import pytest
from sqlalchemy import event

from backend.enrollment.elections import ElectionTerms, LineTerms
from backend.oversight.people import participation_status
from backend.plans.schedules import plan_year_bounds
from tests import scenario
from tests.support.problems import assert_problem

SORTS = ("name", "-name", "balance", "-balance", "deferral_rate", "-deferral_rate", "last_contribution",
         "-last_contribution")


class People:
    """The world's plan with six people: E1 and E3 enrolled and paid in two pay runs (E3's first name starts with
    `=`), E2 under 21 (not yet eligible), E4 eligible without an election, E5 who chose 0%, E6 gone since March."""

    def __init__(self, app, client, clock, world):
        self.client, self.world = client, world
        sponsor = world.sponsor
        rows = [scenario.census_row("E1", "1985-07-19", "2024-03-15", "123-45-6789", pay="72000.00"),
                scenario.census_row("E2", "2006-03-10", "2026-06-01", "987-65-4321", pay="31000.00"),
                scenario.census_row("E3", "1980-02-01", "2019-05-01", "111-22-3333", pay="52000.00",
                                    first_name="=HYPERLINK(\"http://evil.example\")", last_name="Alvarez"),
                scenario.census_row("E4", "1990-01-01", "2021-01-04", "222-33-4444", pay="40000.00",
                                    last_name="Baker"),
                scenario.census_row("E5", "1975-06-30", "2018-09-10", "333-44-5555", pay="90000.00",
                                    last_name="Zhou"),
                scenario.census_row("E6", "1970-04-04", "2015-04-01", "444-55-6666", pay="50000.00",
                                    last_name="Gone", termination_date="2026-03-31")]
        response = scenario.upload_csv(client, sponsor, world.employer_id, rows)
        assert response.status_code == 200, response.json
        self.employees = scenario.employees_by_external_id(client, sponsor, world.employer_id)
        self.ids = {external: e["id"] for external, e in self.employees.items()}
        self.phones = {"E1": world.participant,
                       "E3": scenario.sign_up(client, self.employees["E3"], "1980-02-01", "3333"),
                       "E5": scenario.sign_up(client, self.employees["E5"], "1975-06-30", "5555")}
        for who, lines in (("E1", [{"money_type": "pretax", "percent": "6"}, {"money_type": "roth", "percent": "2"}]),
                           ("E3", [{"money_type": "pretax", "percent": "4"}]),
                           ("E5", [{"money_type": "pretax", "percent": "0"}])):
            response = client.post("/mobile/v1/elections", headers=self.phones[who], json={"lines": lines})
            assert response.status_code == 201, response.json
        connection = scenario.connect_payroll(client, sponsor, world.employer_id)
        for day, price, statements in (
                ("2026-12-04", "25.00", [scenario.statement("E1", 276923, pretax=16615, roth=5538),
                                         scenario.statement("E3", 200000, pretax=8000)]),
                ("2026-12-18", "26.00", [scenario.statement("E1", 276923, pretax=16615, roth=5538),
                                         scenario.statement("E3", 200000, pretax=8000)])):
            clock.fixed_today = date.fromisoformat(day)
            scenario.load_prices(client, sponsor, world.plan_id, [("PLTDX", day, price), ("PLBDX", day, "10.00")])
            response = scenario.signed_post(client, connection, scenario.pay_run(f"R-{day}", day, statements))
            assert response.status_code == 200 and response.json["held"] == 0, response.json
        clock.fixed_today = date(2026, 12, 31)
        scenario.load_prices(client, sponsor, world.plan_id, [("PLTDX", "2026-12-31", "27.37"),
                                                              ("PLBDX", "2026-12-31", "9.91")])

    def rows(self, headers=None, **query) -> list[dict]:
        response = self.client.get(f"/v1/plans/{self.world.plan_id}/participants", headers=headers or self.world.sponsor,
                                   query_string={"limit": 500, **query})
        assert response.status_code == 200, response.json
        assert response.json["next_cursor"] is None
        return response.json["data"]

    def account(self, who: str, headers=None, **query):
        return self.client.get(f"/v1/plans/{self.world.plan_id}/participants/{self.ids[who]}",
                               headers=headers or self.world.sponsor, query_string=query)


@pytest.fixture
def people(app, client, clock, world):
    return People(app, client, clock, world)


def test_the_sponsor_sees_each_participants_balance_as_their_phone_shows_it_to_the_cent(client, people):
    rows = {r["external_id"]: r for r in people.rows()}
    for who in ("E1", "E3"):
        phone = people.phones[who]
        balance = client.get("/mobile/v1/balance", headers=phone).json
        assert balance["total_cents"] > balance["cost_cents"] > 0  # prices moved since the money went in
        assert (rows[who]["balance_cents"], rows[who]["vested_balance_cents"]) == (balance["total_cents"],
                                                                                   balance["vested_cents"])
        account = people.account(who)
        assert account.status_code == 200, account.json
        assert account.json["balance"] == balance
        contributions = client.get("/mobile/v1/contributions", headers=phone).json["data"]
        assert account.json["contributions"] == contributions
        assert rows[who]["last_contribution"] == {"pay_date": contributions[0]["pay_date"],
                                                  "total_cents": contributions[0]["total_cents"]}
        limits = client.get("/mobile/v1/limits", headers=phone).json
        assert rows[who]["ytd_deferrals_cents"] == limits["deferred_here_cents"]  # the plan year is the calendar year
        assert rows[who]["ytd_match_cents"] == sum(c["by_source"].get("employer_match", 0) for c in contributions)
    assert rows["E1"]["ytd_deferrals_cents"] == 2 * (16615 + 5538)
    assert rows["E3"]["ytd_deferrals_cents"] == 2 * 8000
    assert rows["E1"]["ytd_since"] == "2026-01-01"


def test_each_persons_participation_status_and_election_in_effect_are_listed(people):
    rows = {r["external_id"]: r for r in people.rows()}
    assert {who: r["participation_status"] for who, r in rows.items()} == {
        "E1": "enrolled", "E2": "not_yet_eligible", "E3": "enrolled", "E4": "eligible_not_enrolled",
        "E5": "opted_out", "E6": "terminated"}
    election = rows["E1"]["election_in_effect"]
    assert (election["deferral_percent"], election["pretax_percent"], election["roth_percent"]) == ("8.00", "6.00",
                                                                                                   "2.00")
    assert [(line["money_type"], line["percent"]) for line in election["lines"]] == [("pretax", "6"), ("roth", "2")]
    assert rows["E4"]["election_in_effect"] is None and rows["E4"]["balance_cents"] == 0
    assert rows["E4"]["last_contribution"] is None


def test_the_list_never_carries_an_ssn_or_a_birth_date(client, people):
    text = client.get(f"/v1/plans/{people.world.plan_id}/participants", headers=people.world.sponsor).get_data(
        as_text=True)
    text += client.get(f"/v1/plans/{people.world.plan_id}/participants.csv", headers=people.world.sponsor).get_data(
        as_text=True)
    text += people.account("E1").get_data(as_text=True)
    for secret in ("123-45-6789", "123456789", "6789\"", "1985-07-19", "1980-02-01", "date_of_birth", "ssn"):
        assert secret not in text


def test_the_status_filter_keeps_only_people_of_that_status(people):
    assert {r["external_id"] for r in people.rows(status="enrolled")} == {"E1", "E3"}
    assert [r["external_id"] for r in people.rows(status="not_yet_eligible")] == ["E2"]
    assert [r["external_id"] for r in people.rows(status="terminated")] == ["E6"]
    assert_problem(people.client.get(f"/v1/plans/{people.world.plan_id}/participants?status=asleep",
                                     headers=people.world.sponsor), 422)


def test_each_sort_orders_the_list_and_people_without_the_figure_come_last(people):
    by_name = people.rows(sort="name")
    assert [r["last_name"] for r in by_name] == ["Alvarez", "Baker", "Gone", "Worker", "Worker", "Zhou"]
    assert [r["last_name"] for r in people.rows(sort="-name")] == ["Zhou", "Worker", "Worker", "Gone", "Baker",
                                                                   "Alvarez"]
    balances = [r["balance_cents"] for r in people.rows(sort="-balance")]
    assert balances == sorted(balances, reverse=True) and balances[0] > balances[1] > 0
    rates = [r["external_id"] for r in people.rows(sort="-deferral_rate")]
    assert rates[:3] == ["E1", "E3", "E5"]  # 8%, 4%, 0%; then nobody's rate
    assert [r["external_id"] for r in people.rows(sort="deferral_rate")][:3] == ["E5", "E3", "E1"]
    last = [r["external_id"] for r in people.rows(sort="-last_contribution")]
    assert set(last[:2]) == {"E1", "E3"} and len(last) == 6


@pytest.mark.parametrize("sort", SORTS)
def test_cursor_pages_give_every_row_once_in_the_lists_order(people, sort):
    whole = [r["employee_id"] for r in people.rows(sort=sort)]
    seen, cursor = [], None
    while True:
        query = {"limit": 2, "sort": sort, **({"cursor": cursor} if cursor else {})}
        response = people.client.get(f"/v1/plans/{people.world.plan_id}/participants", headers=people.world.sponsor,
                                     query_string=query)
        assert response.status_code == 200, response.json
        assert len(response.json["data"]) <= 2
        seen += [r["employee_id"] for r in response.json["data"]]
        cursor = response.json["next_cursor"]
        if cursor is None:
            break
    assert seen == whole and len(set(seen)) == 6


def test_a_cursor_not_issued_for_the_sort_is_refused(people):
    first = people.client.get(f"/v1/plans/{people.world.plan_id}/participants?limit=2&sort=balance",
                              headers=people.world.sponsor).json["next_cursor"]
    for sort, cursor in (("name", first), ("balance", "bm90LWpzb24"), ("deferral_rate", "WyJOYU4iLCAiZSJd")):
        response = people.client.get(f"/v1/plans/{people.world.plan_id}/participants",
                                     query_string={"sort": sort, "cursor": cursor}, headers=people.world.sponsor)
        assert_problem(response, 422)


def test_the_csv_lists_every_row_with_formula_cells_neutralized(client, people):
    response = client.get(f"/v1/plans/{people.world.plan_id}/participants.csv?sort=-balance",
                          headers=people.world.sponsor)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    listed = people.rows(sort="-balance")
    assert [r["employee_id"] for r in rows] == [r["employee_id"] for r in listed]
    eve = next(r for r in rows if r["external_id"] == "E3")
    assert eve["first_name"] == "'=HYPERLINK(\"http://evil.example\")"
    e1 = next(r for r in rows if r["external_id"] == "E1")
    listed_e1 = next(r for r in listed if r["external_id"] == "E1")
    assert (int(e1["balance_cents"]), e1["deferral_percent"], e1["roth_percent"]) == (
        listed_e1["balance_cents"], "8.00", "2.00")
    enrolled = client.get(f"/v1/plans/{people.world.plan_id}/participants.csv?status=enrolled",
                          headers=people.world.sponsor).get_data(as_text=True)
    assert {r["external_id"] for r in csv.DictReader(io.StringIO(enrolled))} == {"E1", "E3"}


def test_the_account_shows_elections_with_their_payroll_stage_and_only_a_count_of_beneficiaries(client, people):
    response = client.put("/mobile/v1/beneficiaries", headers=people.phones["E1"], json={"beneficiaries": [
        {"tier": "primary", "name": "Secret Spouse", "relationship": "spouse", "percent": "100"},
        {"tier": "contingent", "name": "Secret Child", "relationship": "child", "percent": "100"}]})
    assert response.status_code == 200, response.json
    account = people.account("E1").json
    assert account["beneficiaries_count"] == 2 and "Secret" not in str(account)
    assert account["participation_status"] == "enrolled"
    phone = client.get("/mobile/v1/elections", headers=people.phones["E1"]).json
    assert [e["id"] for e in account["elections"]] == [e["id"] for e in phone]
    assert account["elections"][0]["payroll"] == phone[0]["payroll"]
    assert account["elections"][0]["payroll"]["stage"] == "observed"  # withheld as elected on the pay statements


def test_the_accounts_contributions_are_paginated(people):
    first = people.account("E1", limit=1).json
    assert [c["pay_date"] for c in first["contributions"]] == ["2026-12-18"]
    rest = people.account("E1", limit=1, cursor=first["contributions_next_cursor"]).json
    assert [c["pay_date"] for c in rest["contributions"]] == ["2026-12-04"]
    assert rest["contributions_next_cursor"] is None


def test_each_view_of_an_account_is_written_to_the_audit_trail_without_personal_data(client, people):
    people.account("E3")
    people.account("E3", headers=people.world.advisor)
    events = client.get(f"/v1/employers/{people.world.employer_id}/audit-events?limit=500",
                        headers=people.world.sponsor).json["data"]
    viewed = [e for e in events if e["action"] == "participant_account.viewed"]
    assert len(viewed) == 2
    assert {(e["subject_type"], e["subject_id"]) for e in viewed} == {("employee", people.ids["E3"])}
    assert {e["actor_role"] for e in viewed} == {"sponsor_admin", "advisor"}
    text = str(viewed)
    assert "HYPERLINK" not in text and "Alvarez" not in text and "111-22-3333" not in text
    # The list is not one person's account: it writes nothing.
    people.rows()
    after = client.get(f"/v1/employers/{people.world.employer_id}/audit-events?limit=500",
                       headers=people.world.sponsor).json["data"]
    assert len([e for e in after if e["action"] == "participant_account.viewed"]) == 2


def _paths(people, who="E1"):
    plan = people.world.plan_id
    return [f"/v1/plans/{plan}/participants", f"/v1/plans/{plan}/participants.csv",
            f"/v1/plans/{plan}/participants/{people.ids[who]}"]


def test_a_participant_sees_neither_the_list_nor_anyones_account_not_even_their_own(client, people):
    for phone, who in ((people.phones["E1"], "E1"), (people.phones["E3"], "E1"), (people.phones["E3"], "E3")):
        for path in _paths(people, who):
            assert_problem(client.get(path, headers=phone), 403)


def test_another_employers_sponsor_and_advisor_see_nothing_and_leave_no_trace(app, client, people):
    other = scenario.World(app, client, name="Other Co", advisor_email="advisor2@example.com",
                           sponsor_email="sponsor2@example.com", ein_prefix="X")
    before = client.get(f"/v1/employers/{people.world.employer_id}/audit-events?limit=500",
                        headers=people.world.sponsor).json
    for headers in (other.sponsor, other.advisor):
        for path in _paths(people):
            assert_problem(client.get(path, headers=headers), 404)
        # Their own plan does not hold the first plan's people either.
        response = client.get(f"/v1/plans/{other.plan_id}/participants/{people.ids['E1']}", headers=headers)
        assert_problem(response, 404)
        own = client.get(f"/v1/plans/{other.plan_id}/participants", headers=headers)
        assert own.status_code == 200
        assert not set(people.ids.values()) & {r["employee_id"] for r in own.json["data"]}
    after = client.get(f"/v1/employers/{people.world.employer_id}/audit-events?limit=500",
                       headers=people.world.sponsor).json
    assert after == before


def test_the_list_costs_the_same_few_queries_however_many_people_the_plan_has(app, client, people):
    engine = app.extensions["plumb"].db.engine

    def queries_for_the_first_page() -> int:
        count = [0]

        def counted(*_args):
            count[0] += 1
        event.listen(engine, "before_cursor_execute", counted)
        try:
            response = client.get(f"/v1/plans/{people.world.plan_id}/participants?limit=5&sort=-balance",
                                  headers=people.world.sponsor)
        finally:
            event.remove(engine, "before_cursor_execute", counted)
        assert response.status_code == 200, response.json
        return count[0]

    few = queries_for_the_first_page()
    more = [scenario.census_row(f"N{i}", "1988-01-01", "2022-01-03", f"555-00-{i:04d}", last_name=f"New{i:02d}")
            for i in range(1, 41)]
    assert scenario.upload_csv(client, people.world.sponsor, people.world.employer_id, more).status_code == 200
    assert queries_for_the_first_page() == few <= 15


# ---- the pure rules ------------------------------------------------------------------------------------------------

def _terms(kind="election", *lines) -> ElectionTerms:
    return ElectionTerms("ele_1", "emp_1", 1, kind, date(2026, 1, 1), None, tuple(LineTerms(*line) for line in lines))


def test_participation_status_reads_eligibility_then_the_election_in_effect():
    six = _terms("election", ("pretax", Decimal("6"), None))
    assert participation_status("terminated", six) == "terminated"
    assert participation_status("waiting", None) == "not_yet_eligible"
    assert participation_status("pending_hours", six) == "not_yet_eligible"
    assert participation_status(None, None) == "not_yet_eligible"  # no determination yet
    assert participation_status("eligible", None) == "eligible_not_enrolled"
    assert participation_status("eligible", six) == "enrolled"
    assert participation_status("eligible", _terms("election", ("pretax", None, 5000))) == "enrolled"  # $50 a check
    assert participation_status("eligible", _terms("opt_out")) == "opted_out"
    assert participation_status("eligible", _terms("election", ("pretax", Decimal("0"), None))) == "opted_out"


def test_the_plan_year_holding_a_day_starts_on_the_plans_start_date_on_or_before_it():
    calendar = SimpleNamespace(plan_year_start_month=1, plan_year_start_day=1)
    july = SimpleNamespace(plan_year_start_month=7, plan_year_start_day=1)
    assert plan_year_bounds(calendar, date(2026, 11, 24)) == (date(2026, 1, 1), date(2026, 12, 31))
    assert plan_year_bounds(july, date(2026, 6, 30)) == (date(2025, 7, 1), date(2026, 6, 30))
    assert plan_year_bounds(july, date(2026, 7, 1)) == (date(2026, 7, 1), date(2027, 6, 30))


def test_the_plans_assets_on_its_dashboard_are_the_sum_of_its_peoples_balances_at_todays_prices(client, people):
    # The last prices (Dec 31) came after the last pay run: the stored figures moved with them (FundPricesChanged).
    balances = [client.get("/mobile/v1/balance", headers=people.phones[who]).json for who in ("E1", "E3")]
    dashboard = client.get(f"/v1/plans/{people.world.plan_id}/dashboard", headers=people.world.sponsor).json
    assert dashboard["assets_cents"] == sum(b["total_cents"] for b in balances)
    assert dashboard["assets_cents"] != sum(b["cost_cents"] for b in balances)  # market value, not cost
    assert dashboard["assets_cents"] == sum(r["balance_cents"] for r in people.rows())
