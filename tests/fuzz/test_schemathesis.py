"""A bounded Schemathesis run over the whole API as each role: no server error, and every answer conforms to the
OpenAPI document (security review 2026-11, "Test details"). The app runs on a real port (tests/support/served.py)
with a world of real ids (tests/scenario.py), so path parameters name objects that exist and each role reaches the
code behind its abilities, not only 404s.

It runs as its own `.ci/run` step (PLUMB_FUZZ=1), not inside `make test`: the run takes about a minute and a half,
which would nearly double the suite on each database. Deterministic: a fixed seed, a fixed number of examples."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import scenario

pytestmark = pytest.mark.skipif(os.environ.get("PLUMB_FUZZ") != "1",
                                reason="the Schemathesis run is its own CI step: PLUMB_FUZZ=1 runs it")

SEED = int(os.environ.get("PLUMB_FUZZ_SEED", "4242"))
MAX_EXAMPLES = int(os.environ.get("PLUMB_FUZZ_EXAMPLES", "15"))
CHECKS = "not_a_server_error,response_schema_conformance"
# Logging out would end the run's own session; everything else is fuzzed.
EXCLUDED_PATHS = ("/v1/auth/logout",)


def _world(app, client) -> tuple[dict, dict[str, dict]]:
    """Real ids for every path parameter, and each role's bearer header."""
    world = scenario.World(app, client, requires_approval=True)
    connection = scenario.connect_payroll(client, world.sponsor, world.employer_id)
    elected = client.post("/mobile/v1/elections", headers=world.participant,
                          json={"lines": [{"money_type": "pretax", "percent": "6"}]})
    assert elected.status_code == 201, elected.json
    approved = client.post(f"/v1/elections/{elected.json['id']}/approve", json={},
                           headers={**world.sponsor, "If-Match": elected.json["etag"]})
    assert approved.status_code == 200, approved.json
    pending = client.post("/mobile/v1/elections", headers=world.participant,
                          json={"lines": [{"money_type": "pretax", "percent": "7"}]})
    assert pending.status_code == 201, pending.json
    run = scenario.signed_post(client, connection, scenario.pay_run("R-1", "2026-11-20", [
        scenario.statement("E1", 300000, pretax=6000), scenario.statement("E2", 100000, pretax=3000)]))
    assert run.status_code == 200, run.json
    exceptions = client.get(f"/v1/employers/{world.employer_id}/payroll-exceptions", headers=world.sponsor).json
    messages = client.get(f"/v1/employers/{world.employer_id}/payroll-messages?status=all",
                          headers=world.sponsor).json
    ids = {"employer_id": world.employer_id, "plan_id": world.plan_id, "employee_id": world.employee["id"],
           "election_id": pending.json["id"], "connection_id": connection["id"],
           "pay_run_id": run.json["pay_run"]["id"], "exception_id": exceptions["data"][0]["id"],
           "message_id": messages["data"][0]["id"]}
    roles = {"participant": world.participant, "sponsor": world.sponsor, "advisor": world.advisor}
    return ids, roles


def _config(path: Path, ids: dict) -> Path:
    lines = [f"seed = {SEED}", "", "[parameters]"] + [f'{name} = "{value}"' for name, value in ids.items()]
    path.write_text("\n".join(lines) + "\n")
    return path


def test_no_operation_answers_a_server_error_or_strays_from_the_document(app, client, served, tmp_path):
    """Every operation as each role in turn, against one world (building it takes longer than a role's run)."""
    ids, roles = _world(app, client)
    config = _config(tmp_path / "schemathesis.toml", ids)
    failed = {}
    for role, headers in roles.items():
        command = [
            str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(config), "run",
            f"{served.base}/openapi.json", "--url", served.base, "--checks", CHECKS,
            "--max-examples", str(MAX_EXAMPLES), "--seed", str(SEED), "--workers", "1", "--no-shrink",
            "--phases", "examples,coverage,fuzzing", "--suppress-health-check", "all",
            "--header", f"Authorization:{headers['Authorization']}", "--request-timeout", "30",
            *[arg for path in EXCLUDED_PATHS for arg in ("--exclude-path", path)],
        ]
        finished = subprocess.run(command, capture_output=True, text=True, timeout=170, cwd=tmp_path)
        summary = finished.stdout[finished.stdout.rfind("SUMMARY"):]
        print(f"== {role}\n{summary}")
        if finished.returncode != 0:
            failed[role] = finished.stdout[-6000:] + finished.stderr[-2000:]
    assert not failed, "\n\n".join(f"== {role}\n{output}" for role, output in failed.items())
