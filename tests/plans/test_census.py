"""The census through HTTP: CSV (body and multipart) and JSON uploads, idempotent re-uploads, in-place updates with an
audit trail, whole-file rejection listing every problem by line, eligibility kept current, hours-based service,
SSN encryption at rest, and cursor pagination."""
import io
import json

import pytest
from sqlalchemy import select

from backend.models import metadata
from tests import scenario
from tests.support.problems import validation_fields as problem_fields

E1 = scenario.census_row("E1", "1985-07-19", "2024-03-15", "123-45-6789", pay="72000.00")
E2 = scenario.census_row("E2", "2006-03-10", "2026-06-01", "987-65-4321", pay="31000.00")
E3 = scenario.census_row("E3", "1970-01-31", "2010-09-01", "555-12-3434", pay="98000.50")


class Employer:
    def __init__(self, app, client, template="safe_harbor_match"):
        self.client = client
        self.advisor = scenario.advisor(app, client)
        setup = scenario.setup_plan(client, self.advisor, template=template)
        self.id = setup["employer"]["id"]
        self.sponsor = scenario.accept_sponsor(client, setup)

    def upload(self, rows, **kw):
        return scenario.upload_csv(self.client, self.sponsor, self.id, rows, **kw)

    def upload_ok(self, rows) -> dict:
        response = self.upload(rows)
        assert response.status_code == 200, response.json
        return response.json

    def employees(self) -> dict:
        return scenario.employees_by_external_id(self.client, self.sponsor, self.id)

    def audit(self) -> list[dict]:
        response = self.client.get(f"/v1/employers/{self.id}/audit-events?limit=500", headers=self.sponsor)
        assert response.status_code == 200, response.json
        return response.json["data"]


@pytest.fixture
def employer(app, client):
    return Employer(app, client)


def row(external_id, born="1980-01-01", hired="2020-01-01", ssn="111-22-3333", **extra):
    return scenario.census_row(external_id, born, hired, ssn, **extra)


# ---- uploads --------------------------------------------------------------------------------------------------------

def test_csv_body_upload_creates_employees(employer):
    result = employer.upload_ok([E1, E2])
    assert (result["created"], result["updated"], result["unchanged"]) == (2, 0, 0)
    assert [e["external_id"] for e in result["employees"]] == ["E1", "E2"]
    assert all(e["id"].startswith("emp_") and set(e) == {"id", "external_id"} for e in result["employees"])

    census = employer.employees()
    assert sorted(census) == ["E1", "E2"]
    e1 = census["E1"]
    assert e1["id"] == result["employees"][0]["id"]
    assert (e1["first_name"], e1["last_name"]) == ("FirstE1", "Worker")
    assert (e1["birth_year"], e1["hire_date"]) == (1985, "2024-03-15")
    assert e1["email"] == "e1@example.com"
    assert not {"date_of_birth", "ssn_last4", "invite_code"} & set(e1)
    assert e1["annual_compensation"] == "72000.00"
    assert (e1["ownership_percent"], e1["officer"]) == ("0", False)
    assert (e1["termination_date"], e1["rehire_date"], e1["signed_up"]) == (None, None, False)
    assert e1["invitation"] == "sent"
    audit = employer.audit()
    created = [a for a in audit if a["action"] == "employee.created"]
    assert sorted(a["subject_id"] for a in created) == sorted(e["id"] for e in result["employees"])


def test_csv_multipart_upload(employer, client):
    data = {"file": (io.BytesIO(scenario.census_csv([E1, E2, E3])), "census.csv")}
    response = client.post(f"/v1/employers/{employer.id}/employees/csv", data=data,
                           content_type="multipart/form-data", headers=employer.sponsor)
    assert response.status_code == 200, response.json
    assert (response.json["created"], response.json["updated"], response.json["unchanged"]) == (3, 0, 0)
    census = employer.employees()
    assert sorted(census) == ["E1", "E2", "E3"]
    assert census["E3"]["annual_compensation"] == "98000.50"
    assert census["E3"]["birth_year"] == 1970


def test_json_upload(employer, client):
    response = client.post(f"/v1/employers/{employer.id}/employees", json={"employees": [E1, E3]},
                           headers=employer.sponsor)
    assert response.status_code == 200, response.json
    assert (response.json["created"], response.json["updated"], response.json["unchanged"]) == (2, 0, 0)
    census = employer.employees()
    assert sorted(census) == ["E1", "E3"]
    assert census["E1"]["birth_year"] == 1985

    # The same rows as CSV are recognised as the same data: nothing changes.
    again = employer.upload_ok([E1, E3])
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 2)


def test_json_upload_lists_every_bad_row(employer, client):
    employer.upload_ok([E1])
    before = employer.employees()
    bad = [row("J1", ssn="1234"), row("J2"), row("J3", born="not-a-date")]
    response = client.post(f"/v1/employers/{employer.id}/employees", json={"employees": bad}, headers=employer.sponsor)
    assert sorted(problem_fields(response)) == ["employees[0].ssn", "employees[2].date_of_birth"]
    assert employer.employees() == before


def test_reuploading_the_same_file_changes_nothing(employer):
    employer.upload_ok([E1, E2, E3])
    census = employer.employees()
    audit_count = len(employer.audit())

    result = employer.upload_ok([E1, E2, E3])
    assert (result["created"], result["updated"], result["unchanged"]) == (0, 0, 3)
    assert len(employer.audit()) == audit_count
    assert employer.employees() == census


def test_changing_one_rows_pay_updates_in_place_with_an_audit_event(employer, client):
    employer.upload_ok([E1, E2, E3])
    census = employer.employees()
    audit_count = len(employer.audit())

    result = employer.upload_ok([E1, {**E2, "annual_compensation": "35500.25"}, E3])
    assert (result["created"], result["updated"], result["unchanged"]) == (0, 1, 2)
    after = employer.employees()
    assert after["E2"]["id"] == census["E2"]["id"]
    assert scenario.invite_code(client.application, after["E2"]) == scenario.invite_code(client.application, census["E2"])
    assert after["E2"]["annual_compensation"] == "35500.25"
    assert after["E1"] == census["E1"] and after["E3"] == census["E3"]

    new_events = employer.audit()[audit_count:]
    assert len(new_events) == 1
    event = new_events[0]
    assert (event["action"], event["subject_type"], event["subject_id"]) == ("employee.updated", "employee",
                                                                             census["E2"]["id"])
    assert event["changes"] == {"annual_compensation_cents": {"from": 3100000, "to": 3550025}}
    assert event["actor_role"] == "sponsor_admin" and event["ip"] == "127.0.0.1"


# ---- rejected files --------------------------------------------------------------------------------------------------

def test_a_file_with_bad_rows_is_rejected_whole_with_every_problem(employer):
    employer.upload_ok([E1, E2])
    before = employer.employees()
    audit_count = len(employer.audit())
    rows = [
        {**E1, "annual_compensation": "80000.00"},              # line 2: fine (an update)
        {**E2, "date_of_birth": "2006-02-30"},                  # line 3: not a date
        row("N3", last_name=""),                                # line 4: required value missing
        row("N4", ssn="12-345-678"),                            # line 5: bad SSN
        row("N5", born="1990-01-01", hired="1989-05-01"),       # line 6: hired before born
        row("N6"),                                              # line 7: fine (new)
        row("E1", ssn="222-33-4444"),                           # line 8: repeats E1 of line 2
    ]
    fields = problem_fields(employer.upload(rows))
    assert sorted(fields) == ["line 3.date_of_birth", "line 4.last_name", "line 5.ssn", "line 6.hire_date",
                              "line 8.external_id"]
    assert employer.employees() == before
    assert len(employer.audit()) == audit_count


def test_malformed_values_are_all_listed_by_line(employer):
    employer.upload_ok([E1, E2])
    before = employer.employees()
    rows = [{**E1, "annual_compensation": "80000.00"},
            {**E2, "date_of_birth": "2006-02-30"},
            row("N3", last_name=""),
            row("N4", ssn="12-345-678"),
            row("N5", hired="2020/01/01", annual_compensation="lots"),
            row("N6")]
    response = employer.upload(rows)
    assert sorted(problem_fields(response)) == ["line 3.date_of_birth", "line 4.last_name", "line 5.ssn",
                                                "line 6.annual_compensation", "line 6.hire_date"]
    messages = {e["field"]: e["message"] for e in response.json["errors"]}
    assert messages["line 5.ssn"] == "must be 9 digits (123-45-6789)"
    assert employer.employees() == before


def test_date_order_and_duplicate_ids_are_all_listed_by_line(employer):
    employer.upload_ok([E1])
    before = employer.employees()
    rows = [{**E1, "annual_compensation": "80000.00"},
            row("N2", born="1990-01-01", hired="1989-05-01"),
            row("N3", hired="2021-01-01", termination_date="2020-06-30"),
            row("N4"),
            row("E1", ssn="222-33-4444")]
    response = employer.upload(rows)
    assert sorted(problem_fields(response)) == ["line 3.hire_date", "line 4.termination_date", "line 6.external_id"]
    messages = {e["field"]: e["message"] for e in response.json["errors"]}
    assert messages["line 6.external_id"] == "repeats line 2"
    assert employer.employees() == before


def test_header_problems_are_all_listed(employer, client):
    employer.upload_ok([E1])
    before = employer.employees()
    text = scenario.census_csv([{**row("N1"), "middle_name": "Q"}]).decode()
    header, *lines = text.splitlines()
    columns = header.split(",")
    drop = columns.index("hire_date")
    text = "\n".join(",".join(c for i, c in enumerate(line.split(",")) if i != drop) for line in [header, *lines])
    response = client.post(f"/v1/employers/{employer.id}/employees/csv", data=text.encode(), content_type="text/csv",
                           headers=employer.sponsor)
    problem_fields(response)
    assert sorted((e["field"], e["message"]) for e in response.json["errors"]) == [
        ("header", "missing column 'hire_date'"), ("header", "unknown column 'middle_name'")]
    assert employer.employees() == before


def test_line_numbers_count_blank_lines(employer, client):
    text = scenario.census_csv([row("N1"), row("N2", ssn="bad")]).decode()
    header, first, second = text.splitlines()
    body = "\n".join([header, first, "", second]) + "\n"  # the bad row is on line 4 of the file
    response = client.post(f"/v1/employers/{employer.id}/employees/csv", data=body.encode(), content_type="text/csv",
                           headers=employer.sponsor)
    assert problem_fields(response) == ["line 4.ssn"]


# ---- eligibility -------------------------------------------------------------------------------------------------------

def test_eligibility_is_computed_on_upload(employer):
    employer.upload_ok([E1, E2])
    census = employer.employees()
    assert census["E1"]["eligibility"]["status"] == "eligible"
    assert (census["E1"]["eligibility"]["entry_date"], census["E1"]["eligibility"]["basis"]) == ("2026-01-01", "standard")
    minor = census["E2"]["eligibility"]
    assert (minor["status"], minor["conditions_met_date"], minor["entry_date"]) == ("waiting", "2027-03-10", "2027-04-01")


def test_a_new_date_of_birth_changes_eligibility(employer):
    employer.upload_ok([E1, E2])
    assert employer.employees()["E2"]["eligibility"]["status"] == "waiting"

    result = employer.upload_ok([E1, {**E2, "date_of_birth": "2005-03-10"}])
    assert (result["updated"], result["unchanged"]) == (1, 1)
    e2 = employer.employees()["E2"]
    assert e2["birth_year"] == 2005
    # 21 on 2026-03-10, hired 2026-06-01 (a first of the month): in since the day of hire.
    assert (e2["eligibility"]["status"], e2["eligibility"]["conditions_met_date"], e2["eligibility"]["entry_date"]) == (
        "eligible", "2026-06-01", "2026-06-01")
    event = employer.audit()[-1]
    assert event["action"] == "employee.updated" and event["changes"] == {"date_of_birth": "changed"}
    assert "2005-03-10" not in json.dumps(event) and "2006-03-10" not in json.dumps(event)


def test_a_new_hire_date_changes_eligibility(employer):
    employer.upload_ok([E1])
    assert employer.employees()["E1"]["eligibility"]["status"] == "eligible"

    employer.upload_ok([{**E1, "hire_date": "2026-12-15"}])
    e1 = employer.employees()["E1"]
    assert e1["hire_date"] == "2026-12-15"
    assert (e1["eligibility"]["status"], e1["eligibility"]["conditions_met_date"], e1["eligibility"]["entry_date"]) == (
        "waiting", "2026-12-15", "2027-01-01")
    assert employer.audit()[-1]["changes"] == {"hire_date": {"from": "2024-03-15", "to": "2026-12-15"}}


def test_a_terminated_employee_shows_terminated(employer):
    employer.upload_ok([E1, {**E3, "termination_date": "2026-10-31"}])
    census = employer.employees()
    assert census["E3"]["termination_date"] == "2026-10-31"
    assert census["E3"]["eligibility"]["status"] == "terminated"
    assert census["E1"]["eligibility"]["status"] == "eligible"

    # A termination dated in the future (after today, 2026-11-24) is not yet in effect.
    employer.upload_ok([{**E1, "termination_date": "2026-12-31"}, {**E3, "termination_date": "2026-10-31"}])
    assert employer.employees()["E1"]["eligibility"]["status"] == "eligible"


def test_service_requirement_counts_1000_hours_in_the_prior_period(app, client):
    employer = Employer(app, client, template="traditional")
    # Hired 2025-01-15; today 2026-11-24: the current period began 2026-01-15, the prior one ran to 2026-01-14.
    short = row("H1", born="1990-05-05", hired="2025-01-15", ssn="100-00-0001", hours="400", prior_period_hours="999")
    full = row("H2", born="1990-05-05", hired="2025-01-15", ssn="100-00-0002", hours="400", prior_period_hours="1000")
    employer.upload_ok([short, full])
    census = employer.employees()

    assert census["H1"]["hours_by_period"] == {"2025-01-15": 999, "2026-01-15": 400}
    assert census["H2"]["hours_by_period"] == {"2025-01-15": 1000, "2026-01-15": 400}
    h1 = census["H1"]["eligibility"]
    assert (h1["status"], h1["conditions_met_date"], h1["entry_date"]) == ("pending_hours", None, None)
    assert "400 hours in the current period" in h1["explanation"]
    h2 = census["H2"]["eligibility"]
    # A year of service completes 2026-01-14; semi-annual entry dates are Jan 1 and Jul 1.
    assert (h2["status"], h2["conditions_met_date"], h2["entry_date"], h2["basis"]) == (
        "eligible", "2026-01-15", "2026-07-01", "standard")

    # Corrected hours in a re-upload make H1 eligible too.
    result = employer.upload_ok([{**short, "prior_period_hours": "1000"}, full])
    assert (result["updated"], result["unchanged"]) == (1, 1)
    h1 = employer.employees()["H1"]["eligibility"]
    assert (h1["status"], h1["conditions_met_date"], h1["entry_date"]) == ("eligible", "2026-01-15", "2026-07-01")


# ---- SSN ---------------------------------------------------------------------------------------------------------------

SSN_FORMS = ("123456789", "123-45-6789", "123 45 6789")


def test_ssn_is_encrypted_at_rest_and_never_returned(employer, client, plumb):
    upload = employer.upload([E1, E2])
    assert upload.status_code == 200
    census = employer.employees()
    e1 = census["E1"]
    # Change the SSN once, so the audit trail has an SSN change in it too.
    update = employer.upload([{**E1, "ssn": "123-45-6780"}, E2])
    assert update.status_code == 200 and update.json["updated"] == 1
    employer.upload_ok([E1, E2])  # and back

    with plumb.db.engine.connect() as connection:
        employees = metadata.tables["employees"]
        stored = connection.execute(select(employees.c.ssn_enc, employees.c.ssn_last4, employees.c.date_of_birth_enc)
                                    .where(employees.c.id == e1["id"])).one()
        assert stored.ssn_last4 == "6789"
        raw = bytes(stored.ssn_enc)
        assert len(raw) > 20
        for form in SSN_FORMS:
            assert form.encode() not in raw
        assert b"1985-07-19" not in bytes(stored.date_of_birth_enc)
        # Nowhere in the database is the full SSN in clear: not in any table, column or JSON document.
        for table in metadata.sorted_tables:
            for record in connection.execute(select(table)):
                for value in record:
                    text = bytes(value) if isinstance(value, (bytes, memoryview)) else str(value).encode()
                    for form in SSN_FORMS + ("123456780", "123-45-6780"):
                        assert form.encode() not in text, (table.name, value)

    responses = [upload, update,
                 client.get(f"/v1/employers/{employer.id}/employees", headers=employer.sponsor),
                 client.get(f"/v1/employees/{e1['id']}", headers=employer.sponsor),
                 client.get(f"/v1/employers/{employer.id}/audit-events?limit=500", headers=employer.sponsor)]
    for response in responses:
        assert response.status_code == 200
        body = response.get_data(as_text=True)
        for form in SSN_FORMS + ("123456780", "123-45-6780", "45-6789"):
            assert form not in body
    one = responses[3].json
    assert "ssn" not in one and "ssn_last4" not in one
    for employee in responses[2].json["data"]:
        assert "ssn" not in employee and "ssn_enc" not in employee
    ssn_change = [a for a in responses[4].json["data"] if a["action"] == "employee.updated"][0]
    assert ssn_change["changes"] == {"ssn": "changed", "ssn_last4": "changed"}


# ---- pagination --------------------------------------------------------------------------------------------------------

def test_employee_pages_walk_the_whole_census(employer, client):
    rows = [row(f"P{i}", ssn=f"200-00-000{i}") for i in range(1, 6)]
    employer.upload_ok(rows)
    seen, cursor, pages = [], None, 0
    while True:
        url = f"/v1/employers/{employer.id}/employees?limit=2" + (f"&cursor={cursor}" if cursor else "")
        response = client.get(url, headers=employer.sponsor)
        assert response.status_code == 200, response.json
        pages += 1
        assert len(response.json["data"]) == (2 if pages < 3 else 1)
        seen.extend(e["external_id"] for e in response.json["data"])
        cursor = response.json["next_cursor"]
        if cursor is None:
            break
        assert pages < 10
    assert pages == 3
    assert seen == ["P1", "P2", "P3", "P4", "P5"]
    assert len(set(seen)) == 5

    bad = client.get(f"/v1/employers/{employer.id}/employees?limit=2&cursor=%%%", headers=employer.sponsor)
    assert problem_fields(bad) == ["cursor"]


def test_census_is_private_to_its_employer(app, client, employer):
    employer.upload_ok([E1])
    other = scenario.advisor(app, client, "other-advisor@example.com")
    assert client.get(f"/v1/employers/{employer.id}/employees", headers=other).status_code == 404
    response = scenario.upload_csv(client, other, employer.id, [row("X1")])
    assert response.status_code == 404
    assert sorted(employer.employees()) == ["E1"]
