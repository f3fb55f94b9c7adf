"""Inbound pay runs through HTTP, as a provider (signed API) and a sponsor (CSV) send them: malformed runs refused
whole, replays and versions, validation findings against the live record, the computed and provided match, the
exceptions queue, fund prices, and cash waiting for a price."""
from datetime import date
from decimal import Decimal

import pytest

from tests import scenario
from tests.payroll.support import account_cents, entries_of, entry_rows, row_counts, statements_of
from tests.support import run_cli
from tests.support.problems import assert_problem, error_fields

NEW_HIRE = {"first_name": "Nia", "last_name": "Hire", "date_of_birth": "1990-02-01", "ssn": "555-44-3333",
            "hire_date": "2020-01-06", "annual_compensation": "39000.00"}


def send(client, connection, run: dict, status: int = 200):
    response = scenario.signed_post(client, connection, run)
    assert response.status_code == status, response.json
    return response


def codes(response, external_id: str) -> list[tuple[str, str]]:
    return sorted((f["code"], f["severity"]) for f in response.json["findings"].get(external_id, []))


def balance(client, participant) -> dict:
    response = client.get("/mobile/v1/balance", headers=participant)
    assert response.status_code == 200, response.json
    return response.json


def by_source(summary: dict) -> dict[str, int]:
    return {s["source"]: s["value_cents"] for s in summary["by_source"]}


def queue(client, world, status: str = "open") -> list[dict]:
    response = client.get(f"/v1/employers/{world.employer_id}/payroll-exceptions?status={status}", headers=world.sponsor)
    assert response.status_code == 200, response.json
    return response.json["data"]


def resolve(client, headers, exception_id: str, **body):
    return client.post(f"/v1/payroll-exceptions/{exception_id}/resolve", headers=headers, json=body)


def elect(client, participant, *lines):
    response = client.post("/mobile/v1/elections", headers=participant, json={"lines": list(lines)})
    assert response.status_code == 201, response.json
    return response.json


# ---- malformed runs ------------------------------------------------------------------------------------------

def _good_statement(external_id="E1", **changes):
    return {**scenario.statement(external_id, 300000, pretax=9000), **changes}


MALFORMED = {
    # name: (how the run is spoiled, the fields the refusal must list)
    "negative cents": (lambda r: r["statements"][0].update(gross_pay_cents=-1), ["statements[0].gross_pay_cents"]),
    "negative withholding": (lambda r: r["statements"][0]["withholdings"].update(pretax=-5),
                             ["statements[0].withholdings.pretax.value"]),
    "withholdings above gross": (lambda r: r["statements"][0]["withholdings"].update(pretax=200000, roth=100001),
                                 ["statements[0].withholdings"]),
    "plan compensation above gross": (lambda r: r["statements"][0].update(plan_compensation_cents=300001),
                                      ["statements[0].plan_compensation_cents"]),
    "duplicated employee": (lambda r: r["statements"].append(_good_statement()), ["statements[2].external_id"]),
    "unknown employee without employee block": (lambda r: r["statements"].append(_good_statement("Z9")),
                                                ["statements[2].external_id"]),
    "period_end before period_start": (lambda r: r.update(period_start="2026-11-10", period_end="2026-11-09"),
                                       ["period_end"]),
    "bad money type": (lambda r: r["statements"][0]["withholdings"].update(loan=100),
                       ["statements[0].withholdings.loan.key"]),
}


def _two_person_run(run_id="BAD-1") -> dict:
    return scenario.pay_run(run_id, "2026-11-20", [_good_statement(), _good_statement("N1", employee=NEW_HIRE)])


@pytest.mark.parametrize("case", list(MALFORMED))
def test_a_malformed_run_is_refused_whole(client, plumb, connection, case):
    spoil, fields = MALFORMED[case]
    run = _two_person_run()
    spoil(run)
    before = row_counts(plumb)
    response = scenario.signed_post(client, connection, run)
    assert_problem(response, 422, "validation")
    assert error_fields(response) == fields
    # The good statement and the new hire were not stored either: the run is refused whole.
    assert row_counts(plumb) == before
    # The same run, mended, is then taken (the refusal left no trace that would make it a conflict).
    assert send(client, connection, _two_person_run()).json["posted"] == 2


def test_a_malformed_run_lists_every_problem_at_once(client, plumb, connection):
    """Problems of every kind in one run, on different statements: the refusal lists them all, so the provider
    mends the run once rather than learning of one kind of problem per attempt."""
    run = scenario.pay_run("BAD-ALL", "2026-11-20", [
        _good_statement(withholdings={"pretax": 9000, "roth": -5}),                         # negative cents
        _good_statement("N1", employee=NEW_HIRE, withholdings={"pretax": 200000, "roth": 100001}),  # above gross
        _good_statement("E2", plan_compensation_cents=300001, withholdings={"loan": 100}),  # comp above gross, bad type
        _good_statement("E2"),                                                              # duplicated employee
        _good_statement("Z9"),                                                              # unknown, no record
    ])
    run.update(period_start="2026-11-10", period_end="2026-11-09")
    before = row_counts(plumb)
    response = scenario.signed_post(client, connection, run)
    assert_problem(response, 422, "validation")
    assert error_fields(response) == ["period_end", "statements[0].withholdings.roth.value",
                                      "statements[1].withholdings", "statements[2].plan_compensation_cents",
                                      "statements[2].withholdings.loan.key", "statements[3].external_id",
                                      "statements[4].external_id"]
    assert response.json["detail"] == "7 problems found; nothing was stored."
    assert row_counts(plumb) == before


# ---- replays and versions ------------------------------------------------------------------------------------

def test_same_run_and_version_with_another_body_is_a_conflict(client, plumb, world, connection):
    first = send(client, connection, scenario.pay_run("R-1", "2026-11-20", [_good_statement()]))
    before = row_counts(plumb)
    changed = scenario.pay_run("R-1", "2026-11-20", [scenario.statement("E1", 300000, pretax=9001)])
    response = scenario.signed_post(client, connection, changed)
    assert_problem(response, 409, "conflict")
    assert "version 2" in response.json["detail"]
    assert row_counts(plumb) == before
    replay = send(client, connection, scenario.pay_run("R-1", "2026-11-20", [_good_statement()]))
    assert replay.json["replayed"] is True and replay.json["pay_run"] == first.json["pay_run"]
    assert (replay.json["posted"], replay.json["held"]) == (1, 0)
    assert row_counts(plumb) == before


def test_a_version_older_than_one_received_is_a_conflict(client, plumb, world, connection):
    send(client, connection, scenario.pay_run("R-1", "2026-11-20", [_good_statement()]))
    send(client, connection, scenario.pay_run("R-1", "2026-11-20", [_good_statement(withholdings={"pretax": 9100})],
                                              version=3))
    before = row_counts(plumb)
    late = scenario.pay_run("R-1", "2026-11-20", [_good_statement(withholdings={"pretax": 9200})], version=2)
    response = scenario.signed_post(client, connection, late)
    assert_problem(response, 409, "conflict")
    assert response.json["detail"] == "Version 2 is older than version 3 already received."
    assert row_counts(plumb) == before
    runs = client.get(f"/v1/employers/{world.employer_id}/pay-runs", headers=world.sponsor).json["data"]
    assert [(r["version"], r["status"], r["totals"].get("pretax")) for r in runs] == [(3, "posted", 9100),
                                                                                      (1, "superseded", 9000)]
    # What stays in the participant's accounts is version 3's money, once.
    # 9100 of 300000 is 3.0333%: 3% matched in full and the 0.0333% over it at half, 9050.
    assert account_cents(plumb, world.plan_id, "participant", "participant_pending") == 9100 + 9050


# ---- CSV pay runs from the sponsor ---------------------------------------------------------------------------

CSV_HEADER = "external_id,gross_pay,plan_compensation,hours,pretax,roth,pretax_catchup,roth_catchup,after_tax,employer_match\n"
CSV_QUERY = "provider_run_id=CSV-1&pay_date=2026-11-20&period_start=2026-11-02&period_end=2026-11-15"


def post_csv(client, world, text: str, query: str = CSV_QUERY):
    return client.post(f"/v1/employers/{world.employer_id}/pay-runs/csv?{query}", data=text.encode(),
                       content_type="text/csv", headers=world.sponsor)


def test_csv_pay_run_posts_like_the_api(client, plumb, world, connection):
    text = CSV_HEADER + "E1,3000.00,2900.00,80,87.00,29.00,,,10.00,\nE2,1200.00,1200.00,40,,,,,,25.00\n"
    response = post_csv(client, world, text)
    assert response.status_code == 200, response.json
    assert response.json["pay_run"]["received_via"] == "csv"
    assert (response.json["posted"], response.json["held"], response.json["replayed"]) == (2, 0, False)
    # E1 defers 4% of plan compensation ($116 of $2,900): 3% + 0.5% matched = $101.50 computed by Plumb;
    # E2's $25.00 match is the sponsor's figure, used as sent.
    assert response.json["pay_run"]["totals"] == {"pretax": 8700, "roth": 2900, "after_tax": 1000,
                                                  "employer_match": 10150 + 2500}
    stored = {st.employee_id: st for st in statements_of(plumb, response.json["pay_run"]["id"])}
    e1, e2 = stored[world.employees["E1"]["id"]], stored[world.employees["E2"]["id"]]
    assert (e1.gross_cents, e1.plan_compensation_cents, e1.hours, e1.withholdings) == (
        300000, 290000, Decimal("80"), {"pretax": 8700, "roth": 2900, "after_tax": 1000})
    assert (e1.employer_match_cents, e1.match_source, e2.employer_match_cents, e2.match_source) == (
        10150, "computed", 2500, "provider")

    # The same statements through the signed API post the same amounts (another run id, another pay date).
    api = send(client, connection, scenario.pay_run("API-1", "2026-11-21", [
        {"external_id": "E1", "gross_pay_cents": 300000, "plan_compensation_cents": 290000, "hours": "80",
         "withholdings": {"pretax": 8700, "roth": 2900, "after_tax": 1000}},
        {"external_id": "E2", "gross_pay_cents": 120000, "plan_compensation_cents": 120000, "hours": "40",
         "employer_match_cents": 2500}]))
    assert api.json["pay_run"]["totals"] == response.json["pay_run"]["totals"]

    again = post_csv(client, world, text)
    assert again.json["replayed"] is True and again.json["pay_run"]["id"] == response.json["pay_run"]["id"]
    assert post_csv(client, world, text.replace("87.00", "88.00")).status_code == 409


def test_csv_pay_run_lists_bad_lines_by_number(client, plumb, world):
    text = (CSV_HEADER
            + "E1,3000.00,2900.00,80,87.00,,,,,\n"      # line 2: fine
            + "E2,1200.00,1200.00,40,,,,,,abc\n"        # line 3: match is not money
            + "E1,3000.00,2900.00,80,1.005,,,,,\n"      # line 4: more than two decimals (and E1 again)
            + ",100.00,100.00,8,,,,,,\n"                # line 5: no external id
            + "E2,100.00,100.00,800,-1.00,,,,,\n")      # line 6: too many hours, negative deferral
    before = row_counts(plumb)
    response = post_csv(client, world, text)
    assert_problem(response, 422, "validation")
    assert error_fields(response) == ["line 3.employer_match", "line 4.pretax", "line 5.external_id", "line 6.hours",
                                      "line 6.withholdings.pretax.value"]
    assert row_counts(plumb) == before

    header = post_csv(client, world, "external_id,gross,plan_compensation,loan\nE1,1,1,1\n")
    assert_problem(header, 422, "validation")
    assert [e["message"] for e in header.json["errors"]] == ["unknown column 'gross'", "unknown column 'loan'",
                                                             "missing column 'gross_pay'"]
    assert row_counts(plumb) == before


def test_csv_unreadable_amount_in_a_required_column_is_reported_once_under_its_column(client, plumb, world):
    before = row_counts(plumb)
    response = post_csv(client, world, CSV_HEADER + "E1,abc,2900.00,80,87.00,,,,,\n")
    assert_problem(response, 422, "validation")
    # The sponsor's file has a gross_pay column, not gross_pay_cents: one problem, named as the file names it.
    assert response.json["errors"] == [{"field": "line 2.gross_pay", "message": "not an amount of money: 'abc'"}]
    assert row_counts(plumb) == before


def test_csv_pay_run_is_for_the_sponsor_only(client, world):
    response = post_csv(client, world, CSV_HEADER + "E1,3000.00,2900.00,80,87.00,,,,,\n")
    assert response.status_code == 200
    for headers in (world.participant, world.advisor):
        refused = client.post(f"/v1/employers/{world.employer_id}/pay-runs/csv?{CSV_QUERY.replace('CSV-1', 'CSV-2')}",
                              data=(CSV_HEADER + "E1,1.00,1.00,1,,,,,,\n").encode(), content_type="text/csv",
                              headers=headers)
        assert_problem(refused, 403, "forbidden")


# ---- validation findings against the live record -------------------------------------------------------------

def test_deferrals_before_entry_date_are_held_and_their_money_waits_in_trust_cash(client, plumb, world, connection):
    response = send(client, connection, scenario.pay_run("R-1", "2026-11-20", [
        scenario.statement("E1", 300000),
        scenario.statement("E2", 100000, pretax=3000, hours="40")]))
    assert (response.json["posted"], response.json["held"]) == (1, 1)
    assert response.json["pay_run"]["status"] == "posted_with_holds"
    assert codes(response, "E2") == [("not_eligible", "hold")]
    assert "E1" not in response.json["findings"]
    [held] = queue(client, world)
    assert (held["code"], held["severity"], held["status"], held["employee_id"]) == (
        "not_eligible", "hold", "open", world.employees["E2"]["id"])
    assert held["details"] == {"entry_date": "2027-04-01", "deferred_cents": 3000}
    statuses = {st.employee_id: st.status for st in statements_of(plumb, response.json["pay_run"]["id"])}
    assert statuses == {world.employees["E1"]["id"]: "posted", world.employees["E2"]["id"]: "held"}
    # The money came to the trust with the run; E2's deferral and its computed 3% match wait in trust cash.
    assert response.json["pay_run"]["totals"] == {"employer_match": 0}
    assert account_cents(plumb, world.plan_id, "trust_cash") == 3000 + 3000
    assert account_cents(plumb, world.plan_id, "payroll_clearing") == -6000
    assert account_cents(plumb, world.plan_id, "participant", "participant_pending") == 0


def test_deferrals_after_opting_out_are_held(client, plumb, world, connection):
    opt_out = client.post("/mobile/v1/elections/opt-out", headers=world.participant)
    assert opt_out.status_code == 201 and opt_out.json["election"]["effective_date"] == "2026-12-04"
    before = send(client, connection, scenario.pay_run("R-1120", "2026-11-20", [scenario.statement("E1", 300000, pretax=9000)]))
    assert codes(before, "E1") == [("deferral_mismatch", "warning")]  # no election yet, and the opt-out not in effect
    after = send(client, connection, scenario.pay_run("R-1204", "2026-12-04", [scenario.statement("E1", 300000, pretax=9000)]))
    assert codes(after, "E1") == [("opted_out", "hold")]
    assert (after.json["posted"], after.json["held"]) == (0, 1)
    [held] = [e for e in queue(client, world) if e["code"] == "opted_out"]
    assert held["details"] == {"deferred_cents": 9000, "opted_out_on": "2026-12-04"}
    assert held["message"] == "Deferrals of $90.00 were withheld although the employee opted out from 2026-12-04."


def test_deferrals_past_402g_are_held_with_the_room_left(client, plumb, world, connection):
    declared = client.put("/mobile/v1/outside-deferrals", headers=world.participant,
                          json={"calendar_year": 2026, "amount_cents": 2400000, "other_employer": "Old Job Inc"})
    assert declared.status_code == 200, declared.json
    first = send(client, connection, scenario.pay_run("R-1", "2026-11-06", [scenario.statement("E1", 400000, pretax=40000)]))
    assert (first.json["posted"], first.json["held"]) == (1, 0)  # 2,400,000 + 40,000 ≤ 2,450,000
    second = send(client, connection, scenario.pay_run("R-2", "2026-11-20", [scenario.statement("E1", 400000, pretax=20000)]))
    assert (second.json["posted"], second.json["held"]) == (0, 1)
    assert codes(second, "E1") == [("deferral_mismatch", "warning"), ("over_402g", "hold")]
    over = next(e for e in queue(client, world) if e["code"] == "over_402g")
    assert over["details"] == {"room_cents": 10000, "deferred_cents": 20000, "year": 2026}
    assert over["message"] == ("This paycheck's deferrals ($200.00) pass the 2026 limit of 402(g) plus catch-up "
                               "by $100.00.")
    limits = client.get("/mobile/v1/limits", headers=world.participant).json
    assert (limits["deferred_here_cents"], limits["deferred_elsewhere_cents"], limits["remaining_cents"]) == (
        40000, 2400000, 10000)


def test_402g_room_includes_catch_up_by_age(client, plumb, world, connection):
    """2026: 24,500 for everyone; 8,000 more from age 50; 11,250 more instead at ages 60 to 63 (SECURE 2.0)."""
    people = {"A30": "1996-05-01", "A56": "1970-05-01", "A62": "1964-05-01"}
    response = send(client, connection, scenario.pay_run("BIG", "2026-11-20", [
        scenario.statement(external_id, 40000000, pretax=3300000,
                           employee={**NEW_HIRE, "date_of_birth": born, "ssn": f"555-44-{3330 + i}"})
        for i, (external_id, born) in enumerate(people.items())]))
    held = {x: ("over_402g", "hold") in codes(response, x) for x in people}
    assert held == {"A30": True, "A56": True, "A62": False}
    rooms = {e["employee_id"]: e["details"]["room_cents"] for e in queue(client, world) if e["code"] == "over_402g"}
    census = scenario.employees_by_external_id(client, world.sponsor, world.employer_id)
    assert rooms == {census["A30"]["id"]: 2450000, census["A56"]["id"]: 2450000 + 800000}
    assert (response.json["posted"], response.json["held"]) == (1, 2)


def test_deferral_mismatch_beyond_a_cent_is_a_warning_and_posts(client, plumb, world, connection):
    election = elect(client, world.participant, {"money_type": "pretax", "percent": "6"})
    assert election["effective_date"] == "2026-12-04"
    # 6% of 2,769.23 is 166.1538: payroll's 166.14 is within the cent of tolerance.
    close = send(client, connection, scenario.pay_run("R-1", "2026-12-04", [scenario.statement("E1", 276923, pretax=16614)]))
    assert close.json["findings"] == {} and close.json["posted"] == 1
    off = send(client, connection, scenario.pay_run("R-2", "2026-12-18", [
        scenario.statement("E1", 276923, pretax=16613, roth=100)]))
    assert (off.json["posted"], off.json["held"]) == (1, 0)
    assert codes(off, "E1") == [("deferral_mismatch", "warning"), ("deferral_mismatch", "warning")]
    details = sorted((e["details"] for e in queue(client, world)), key=lambda d: d["money_type"])
    assert details == [
        {"money_type": "pretax", "expected_cents": 16615, "withheld_cents": 16613, "election_id": election["id"]},
        {"money_type": "roth", "expected_cents": 0, "withheld_cents": 100, "election_id": election["id"]}]
    assert off.json["pay_run"]["totals"]["pretax"] == 16613 and off.json["pay_run"]["totals"]["roth"] == 100


def test_pay_after_termination_and_missing_hours_are_warnings(client, plumb, world, connection):
    final = send(client, connection, scenario.pay_run("FINAL", "2026-12-04", [
        scenario.statement("E1", 100000, termination_date="2026-12-02")], run_type="final_pay"))
    assert final.json["findings"] == {}
    census = scenario.employees_by_external_id(client, world.sponsor, world.employer_id)
    assert census["E1"]["termination_date"] == "2026-12-02"
    late = send(client, connection, scenario.pay_run("LATE", "2026-12-18", [
        scenario.statement("E1", 50000, hours=None), scenario.statement("E2", 50000, hours=None)]))
    assert (late.json["posted"], late.json["held"]) == (2, 0)
    assert codes(late, "E1") == [("missing_hours", "warning"), ("paid_after_termination", "warning")]
    assert codes(late, "E2") == [("missing_hours", "warning")]
    after = next(e for e in queue(client, world) if e["code"] == "paid_after_termination")
    assert after["details"] == {"termination_date": "2026-12-02", "pay_date": "2026-12-18"}
    assert after["message"] == "Paid on 2026-12-18 after termination on 2026-12-02."


def test_employee_with_no_money_gets_no_ledger_entry(client, plumb, world, connection):
    response = send(client, connection, scenario.pay_run("R-1", "2026-11-20", [
        scenario.statement("E1", 300000, pretax=9000), scenario.statement("E2", 100000)]))
    assert response.json["posted"] == 2
    # One deposit and E1's contribution; E2 was paid but nothing came to the plan for them.
    assert [kind for kind, _ in entries_of(plumb, response.json["pay_run"]["id"])] == ["contribution", "deposit"]


# ---- the match ---------------------------------------------------------------------------------------------

def test_provider_match_is_used_as_sent(client, plumb, world, connection):
    first = send(client, connection, scenario.pay_run("R-1", "2026-11-06", [
        scenario.statement("E1", 300000, pretax=9000, employer_match_cents=12345)]))
    assert first.json["pay_run"]["totals"] == {"pretax": 9000, "employer_match": 12345}
    zero = send(client, connection, scenario.pay_run("R-2", "2026-11-20", [
        scenario.statement("E1", 300000, pretax=9000, employer_match_cents=0)]))
    assert zero.json["pay_run"]["totals"] == {"pretax": 9000, "employer_match": 0}
    computed = send(client, connection, scenario.pay_run("R-3", "2026-11-21", [scenario.statement("E1", 300000, pretax=9000)]))
    assert computed.json["pay_run"]["totals"] == {"pretax": 9000, "employer_match": 9000}
    sources = [(st.employer_match_cents, st.match_source) for run in (first, zero, computed)
               for st in statements_of(plumb, run.json["pay_run"]["id"])]
    assert sources == [(12345, "provider"), (0, "provider"), (9000, "computed")]
    assert by_source(balance(client, world.participant)) == {"pretax": 27000, "employer_match": 12345 + 9000}


def test_computed_match_stops_at_the_401a17_compensation_limit(client, plumb, world, connection):
    """$400,000 a year; 2026's limit is $360,000: the match counts pay up to it and no further."""
    rich = {**NEW_HIRE, "annual_compensation": "400000.00"}
    runs = [("BIG-1", "2026-06-05", 35000000, 2100000, rich),   # 6% of 350,000: matched 4% (3% + half of 2%)
            ("BIG-2", "2026-07-03", 2000000, 120000, None),     # only 10,000 of this 20,000 is under the limit
            ("BIG-3", "2026-07-31", 2000000, 120000, None)]     # the limit is reached: no match
    matches = []
    for run_id, pay_date, comp, pretax, employee in runs:
        extra = {"employee": employee} if employee else {}
        response = send(client, connection, scenario.pay_run(run_id, pay_date, [
            scenario.statement("R400", comp, pretax=pretax, **extra)], run_type="bonus"))
        assert response.json["held"] == 0, response.json
        matches.append(response.json["pay_run"]["totals"]["employer_match"])
    assert matches == [1400000, 40000, 0]
    assert sum(matches) == 36000000 * 4 // 100


# ---- the exceptions queue ------------------------------------------------------------------------------------

def test_reject_refunds_held_money_and_accept_posts_it(client, plumb, clock, world, connection):
    send(client, connection, scenario.pay_run("R-1120", "2026-11-20", [scenario.statement("E1", 300000, pretax=9000)]))
    assert client.post("/mobile/v1/elections/opt-out", headers=world.participant).status_code == 201
    h1 = send(client, connection, scenario.pay_run("R-1204", "2026-12-04", [scenario.statement("E1", 300000, pretax=9000)]))
    h2 = send(client, connection, scenario.pay_run("R-1218", "2026-12-18", [scenario.statement("E1", 300000, pretax=9000)]))
    assert (h1.json["held"], h2.json["held"]) == (1, 1)
    clock.fixed_today = date(2026, 12, 31)
    assert balance(client, world.participant)["total_cents"] == 18000
    assert account_cents(plumb, world.plan_id, "trust_cash") == 36000
    exceptions = {e["pay_run_id"]: e for e in queue(client, world) if e["code"] == "opted_out"}

    rejected = resolve(client, world.sponsor, exceptions[h1.json["pay_run"]["id"]]["id"], action="reject",
                       note="opted out; payroll refunds the employee")
    assert rejected.status_code == 200, rejected.json
    assert (rejected.json["status"], rejected.json["resolution_note"]) == ("rejected", "opted out; payroll refunds the employee")
    assert balance(client, world.participant)["total_cents"] == 18000
    assert account_cents(plumb, world.plan_id, "trust_cash") == 18000  # h1's 18000 went back to payroll
    assert account_cents(plumb, world.plan_id, "payroll_clearing") == -36000
    assert [kind for kind, _ in entries_of(plumb, h1.json["pay_run"]["id"])] == ["deposit", "refund"]
    assert [st.status for st in statements_of(plumb, h1.json["pay_run"]["id"])] == ["rejected"]

    accepted = resolve(client, world.sponsor, exceptions[h2.json["pay_run"]["id"]]["id"], action="accept")
    assert accepted.status_code == 200 and accepted.json["status"] == "accepted"
    after = balance(client, world.participant)
    assert after["total_cents"] == 18000 + 9000 + 9000
    assert by_source(after) == {"pretax": 18000, "employer_match": 18000}
    assert account_cents(plumb, world.plan_id, "trust_cash") == 0
    run = client.get(f"/v1/pay-runs/{h2.json['pay_run']['id']}", headers=world.sponsor).json
    assert (run["status"], run["totals"]) == ("posted", {"pretax": 9000, "employer_match": 9000})
    # What is left open is the warning on the run paid before the opt-out.
    [left] = queue(client, world)
    assert (left["code"], left["severity"], left["details"]["withheld_cents"]) == ("deferral_mismatch", "warning", 9000)

    for exception in exceptions.values():
        again = resolve(client, world.sponsor, exception["id"], action="accept")
        assert_problem(again, 409, "conflict")
    assert balance(client, world.participant)["total_cents"] == 36000
    assert client.get("/v1/pay-runs/" + h1.json["pay_run"]["id"], headers=world.sponsor).json["totals"] == {}


def test_only_the_sponsor_resolves(client, plumb, world, connection):
    send(client, connection, scenario.pay_run("R-1", "2026-11-20", [scenario.statement("E2", 100000, pretax=3000)]))
    [held] = queue(client, world)
    before = row_counts(plumb)
    for headers, status, slug in ((world.participant, 403, "forbidden"), (world.advisor, 403, "forbidden"),
                                  ({}, 401, "unauthenticated")):
        assert_problem(resolve(client, headers, held["id"], action="accept"), status, slug)
    assert row_counts(plumb) == before and queue(client, world)[0]["status"] == "open"
    assert_problem(resolve(client, world.sponsor, "pex_nope", action="accept"), 404, "not-found")
    missing = resolve(client, world.sponsor, held["id"], action="correct")
    assert_problem(missing, 422, "validation")
    assert error_fields(missing) == ["withholdings"]


def _posted_mismatch(client, clock, world, connection):
    elect(client, world.participant, {"money_type": "pretax", "percent": "6"})
    run = send(client, connection, scenario.pay_run("R-1", "2026-12-04", [scenario.statement("E1", 300000, pretax=6000)]))
    clock.fixed_today = date(2026, 12, 31)
    [mismatch] = queue(client, world)
    assert (mismatch["code"], mismatch["details"]["expected_cents"], mismatch["details"]["withheld_cents"]) == (
        "deferral_mismatch", 18000, 6000)
    return run.json["pay_run"]["id"], mismatch


def test_correct_reverses_the_posted_statement_and_posts_the_corrected_amounts(client, plumb, clock, world, connection):
    run_id, mismatch = _posted_mismatch(client, clock, world, connection)
    assert by_source(balance(client, world.participant)) == {"pretax": 6000, "employer_match": 6000}
    corrected = resolve(client, world.sponsor, mismatch["id"], action="correct", withholdings={"pretax": 18000},
                        note="payroll withheld 2% instead of 6%")
    assert corrected.status_code == 200, corrected.json
    assert corrected.json["status"] == "corrected"
    assert by_source(balance(client, world.participant))["pretax"] == 18000
    entries = entry_rows(plumb, run_id)
    original = next(e for e in entries if e["key"] == f"contribution:{run_id}:{world.employee['id']}")
    statement_id = statements_of(plumb, run_id)[0].id
    assert sorted((e["kind"], e["key"], e["reverses"]) for e in entries if e is not original) == [
        ("contribution", f"contribution:{run_id}:{world.employee['id']}:r1", None),
        ("deposit", f"deposit-adjustment:{statement_id}:r1", None),  # payroll sends the difference
        ("deposit", f"deposit:{run_id}", None),
        ("reversal", f"reversal:{original['id']}", original["id"])]
    assert [st.withholdings for st in statements_of(plumb, run_id)] == [{"pretax": 18000}]
    assert_problem(resolve(client, world.sponsor, mismatch["id"], action="correct", withholdings={"pretax": 1}),
                   409, "conflict")
    assert app_ledger_check(client) == 0


def test_a_corrected_statement_nets_against_the_pay_date_it_corrects(client, plumb, clock, world, connection):
    """The sponsor corrects on 2026-12-31 a statement paid on 2026-12-04: the participant's history shows one pay
    date with the corrected amount (a reversal dated the day of the fix would show money leaving on the 31st, and
    across New Year would move deferrals from one 402(g) year to the next)."""
    run_id, mismatch = _posted_mismatch(client, clock, world, connection)
    resolve(client, world.sponsor, mismatch["id"], action="correct", withholdings={"pretax": 18000})
    history = client.get("/mobile/v1/contributions", headers=world.participant).json["data"]
    assert [(c["pay_date"], c["by_source"]) for c in history] == [
        ("2026-12-04", {"pretax": 18000, "employer_match": 12000})]  # the computed match follows the correction
    assert {e["effective_date"] for e in entry_rows(plumb, run_id)} == {date(2026, 12, 4)}


def test_correcting_a_computed_match_statement_follows_the_plan_formula(client, plumb, clock, world, connection):
    run_id, mismatch = _posted_mismatch(client, clock, world, connection)
    resolve(client, world.sponsor, mismatch["id"], action="correct", withholdings={"pretax": 18000})
    # 6% deferred earns the safe-harbor 4% of $3,000: the computed match follows the corrected deferral.
    assert by_source(balance(client, world.participant)) == {"pretax": 18000, "employer_match": 12000}


def test_a_correction_keeps_the_money_traced_to_payroll(client, plumb, clock, world, connection):
    run_id, mismatch = _posted_mismatch(client, clock, world, connection)
    resolve(client, world.sponsor, mismatch["id"], action="correct", withholdings={"pretax": 18000})
    posted = account_cents(plumb, world.plan_id, "participant", "participant_pending")
    # Everything in participant accounts came from payroll through trust cash; trust cash is never overdrawn.
    assert account_cents(plumb, world.plan_id, "trust_cash") == 0
    assert account_cents(plumb, world.plan_id, "payroll_clearing") == -posted


def app_ledger_check(client) -> int:
    return run_cli(client.application, args=["ledger", "check"]).exit_code


# ---- fund prices ---------------------------------------------------------------------------------------------

def prices_json(client, world, rows, headers=None):
    return client.post(f"/v1/plans/{world.plan_id}/fund-prices", headers=headers or world.sponsor,
                       json={"prices": [{"ticker": t, "price_date": d, "price": p} for t, d, p in rows]})


def prices_csv(client, world, text: str):
    return client.post(f"/v1/plans/{world.plan_id}/fund-prices/csv", headers=world.sponsor, data=text.encode(),
                       content_type="text/csv")


def test_fund_prices_by_json(client, plumb, world):
    first = prices_json(client, world, [("PLTDX", "2026-11-20", "25.00"), ("PLBDX", "2026-11-20", "10.00")])
    assert first.status_code == 200 and first.json == {"stored": 2, "invested": 0}
    again = prices_json(client, world, [("PLTDX", "2026-11-20", "25.000000"), ("PLUSX", "2026-11-20", "50.00")])
    assert again.status_code == 200 and again.json == {"stored": 1, "invested": 0}
    before = row_counts(plumb)

    changed = prices_json(client, world, [("PLTDX", "2026-11-21", "26.00"), ("PLTDX", "2026-11-20", "25.01")])
    assert_problem(changed, 422, "validation")
    assert error_fields(changed) == ["prices[1].price"]
    unknown = prices_json(client, world, [("PLTDX", "2026-11-21", "26.00"), ("VFIAX", "2026-11-21", "500.00")])
    assert_problem(unknown, 422, "validation")
    assert error_fields(unknown) == ["prices[1].ticker"]
    zero = prices_json(client, world, [("PLBDX", "2026-11-21", "10.00"), ("PLTDX", "2026-11-21", "0")])
    assert_problem(zero, 422, "validation")
    assert error_fields(zero) == ["prices[1].price"]
    twice = prices_json(client, world, [("PLBDX", "2026-11-21", "10.00"), ("PLBDX", "2026-11-21", "10.00")])
    assert_problem(twice, 422, "validation")
    assert twice.json["errors"] == [{"field": "prices[1]", "message": "repeats prices[0]"}]
    assert row_counts(plumb) == before  # the good rows of a refused load are not stored either
    assert_problem(prices_json(client, world, [("PLTDX", "2026-11-21", "26.00")], headers=world.participant),
                   403, "forbidden")


def test_fund_prices_by_csv(client, plumb, world):
    text = "ticker,price_date,price\nPLUSX,2026-11-20,50.00\nPLINX,2026-11-20,20.00\n"
    assert prices_csv(client, world, text).json == {"stored": 2, "invested": 0}
    assert prices_csv(client, world, text).json == {"stored": 0, "invested": 0}
    before = row_counts(plumb)
    changed = prices_csv(client, world, "ticker,price_date,price\nPLUSX,2026-11-20,50.01\nNOPE,2026-11-20,1.00\n")
    assert_problem(changed, 422, "validation")
    assert error_fields(changed) == ["line 3.ticker"]  # unknown tickers first; the changed price once they are fixed
    changed = prices_csv(client, world, "ticker,price_date,price\nPLINX,2026-11-21,20.50\nPLUSX,2026-11-20,50.01\n")
    assert_problem(changed, 422, "validation")
    assert error_fields(changed) == ["line 3.price"]
    malformed = prices_csv(client, world, "ticker,price_date,price\nPLUSX,20-11-2026,50.00\nPLINX,2026-11-22,lots\n")
    assert_problem(malformed, 422, "validation")
    assert error_fields(malformed) == ["line 2.price_date", "line 3.price"]
    assert row_counts(plumb) == before


def test_contribution_before_any_price_waits_as_cash_and_buys_at_the_first_price_on_or_after_its_pay_date(
        client, plumb, world, connection):
    send(client, connection, scenario.pay_run("R-1", "2026-11-20", [scenario.statement("E1", 300000, pretax=9000)]))
    waiting = balance(client, world.participant)
    [fund] = waiting["by_fund"]
    assert (fund["ticker"], fund["pending_cents"], fund["value_cents"], fund["units"], fund["price"]) == (
        "PLTDX", 18000, 18000, "0", None)
    assert waiting["total_cents"] == 18000 and waiting["gain_cents"] == 0

    earlier = prices_json(client, world, [("PLTDX", "2026-11-19", "20.00")])
    assert earlier.json == {"stored": 1, "invested": 0}  # a price before the pay date buys nothing
    assert balance(client, world.participant)["by_fund"][0]["pending_cents"] == 18000

    priced = prices_json(client, world, [("PLTDX", "2026-11-23", "25.00"), ("PLTDX", "2026-11-24", "30.00")])
    assert priced.json == {"stored": 2, "invested": 1}
    [fund] = balance(client, world.participant)["by_fund"]
    # 90.00 of pre-tax and 90.00 of match at 25.00 (the 23rd, the first price on or after the 20th): 3.6 units each.
    assert (Decimal(fund["units"]), fund["pending_cents"], Decimal(fund["price"])) == (Decimal("7.2"), 0, Decimal("30"))
    assert (fund["cost_cents"], fund["value_cents"], fund["gain_cents"]) == (18000, 21600, 3600)
    assert prices_json(client, world, [("PLTDX", "2026-11-23", "25.00")]).json == {"stored": 0, "invested": 0}

    # A contribution whose pay date already has a price buys at once.
    send(client, connection, scenario.pay_run("R-2", "2026-11-21", [scenario.statement("E1", 300000, pretax=9000)]))
    [fund] = balance(client, world.participant)["by_fund"]
    assert (Decimal(fund["units"]), fund["pending_cents"]) == (Decimal("14.4"), 0)
    history = client.get("/mobile/v1/contributions", headers=world.participant).json["data"]
    assert [(c["pay_date"], c["total_cents"]) for c in history] == [("2026-11-21", 18000), ("2026-11-20", 18000)]


# ---- hours toward eligibility ----------------------------------------------------------------------------------

def test_hours_on_a_pay_run_count_toward_eligibility_at_once(app, client):
    """A year of service is 1,000 hours in the 12 months from the hire date (IRC 410(a)(3)(A)); hours payroll
    reports are credited to the people still short of it, and their eligibility is worked out again in the same
    transaction, however many of them a run carries."""
    world = scenario.World(app, client, template="traditional", requires_approval=False)
    short = [scenario.census_row(f"H{i}", "1990-05-05", "2025-12-01", f"200-00-{i:04d}", hours="950")
             for i in range(1, 4)]
    assert scenario.upload_csv(client, world.sponsor, world.employer_id, short).status_code == 200
    before = scenario.employees_by_external_id(client, world.sponsor, world.employer_id)
    assert {before[f"H{i}"]["eligibility"]["status"] for i in range(1, 4)} == {"pending_hours"}
    connection = scenario.connect_payroll(client, world.sponsor, world.employer_id)
    send(client, connection, scenario.pay_run("R-H", "2026-11-20", [
        scenario.statement("H1", 200000, hours="80"), scenario.statement("H2", 200000, hours="40"),
        scenario.statement("H3", 200000, hours=None)]))
    after = scenario.employees_by_external_id(client, world.sponsor, world.employer_id)
    assert after["H1"]["hours_by_period"] == {"2025-12-01": 1030}
    assert after["H2"]["hours_by_period"] == {"2025-12-01": 990}
    assert after["H3"]["hours_by_period"] == {"2025-12-01": 950}
    assert (after["H1"]["eligibility"]["status"], after["H2"]["eligibility"]["status"],
            after["H3"]["eligibility"]["status"]) == ("waiting", "pending_hours", "pending_hours")
    # 1,030 hours by the end of the first 12 months (2026-11-30): a year of service, and the next semi-annual
    # entry date after it.
    h1 = after["H1"]["eligibility"]
    assert (h1["conditions_met_date"], h1["entry_date"]) == ("2026-12-01", "2027-01-01")
