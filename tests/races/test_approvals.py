"""Several approvals (or rejections) of one election sent at once: one wins, the others are refused, and payroll
and the audit trail see one decision."""
import pytest
from sqlalchemy import func, select

from backend.audit import AuditEvent
from backend.outbox import OutboxMessage
from tests import scenario
from tests.support.served import all_at_once, race_trials

PARALLEL = 6


@pytest.fixture
def world(app, client):
    return scenario.World(app, client, requires_approval=True)


def _pending_election(client, world, percent: int) -> dict:
    response = client.post("/mobile/v1/elections", headers=world.participant,
                           json={"lines": [{"money_type": "pretax", "percent": str(percent)}]})
    assert response.status_code == 201, response.json
    assert response.json["status"] == "pending_approval"
    return response.json


def _counts(plumb, election_id: str, action: str) -> tuple[int, int]:
    with plumb.db.transaction() as session:
        messages = session.scalar(select(func.count()).select_from(OutboxMessage)
                                  .where(OutboxMessage.subject_id == election_id))
        audits = session.scalar(select(func.count()).select_from(AuditEvent)
                                .where(AuditEvent.subject_id == election_id, AuditEvent.action == action))
    return messages, audits


def test_one_election_approved_by_parallel_requests_is_approved_once(client, world, served, plumb):
    for trial in range(race_trials()):
        election = _pending_election(client, world, 1 + trial % 9)
        headers = {**world.sponsor, "If-Match": election["etag"]}
        answers = all_at_once(PARALLEL, lambda _i: served.client.post(
            f"/v1/elections/{election['id']}/approve", json={}, headers=headers))
        statuses = sorted(a.status_code for a in answers)
        assert statuses.count(200) == 1, (trial, statuses)
        assert set(statuses) <= {200, 409, 412}, (trial, statuses)
        for answer in answers:
            if answer.status_code != 200:
                assert answer.headers["Content-Type"] == "application/problem+json"
        assert _counts(plumb, election["id"], "election.approved") == (1, 1), trial


def test_one_election_rejected_by_parallel_requests_is_rejected_once(client, world, served, plumb):
    for trial in range(race_trials()):
        election = _pending_election(client, world, 1 + trial % 9)
        headers = {**world.sponsor, "If-Match": election["etag"]}
        answers = all_at_once(PARALLEL, lambda _i: served.client.post(
            f"/v1/elections/{election['id']}/reject", json={"reason": "Above plan maximum"}, headers=headers))
        statuses = sorted(a.status_code for a in answers)
        assert statuses.count(200) == 1 and set(statuses) <= {200, 409, 412}, (trial, statuses)
        assert _counts(plumb, election["id"], "election.rejected") == (0, 1), trial


def test_bulk_approvals_sent_at_once_approve_each_election_once(client, world, served, plumb):
    for trial in range(race_trials()):
        election = _pending_election(client, world, 1 + trial % 9)
        body = {"decision": "approve", "elections": [{"election_id": election["id"], "etag": election["etag"]}]}
        answers = all_at_once(PARALLEL, lambda _i: served.client.post(
            f"/v1/plans/{world.plan_id}/approvals/bulk", json=body, headers=world.sponsor))
        assert [a.status_code for a in answers] == [200] * PARALLEL, (trial, [a.status_code for a in answers])
        outcomes = sorted(a.json()["results"][0]["outcome"] for a in answers)
        assert outcomes == ["approved"] + ["refused"] * (PARALLEL - 1), (trial, outcomes)
        assert _counts(plumb, election["id"], "election.approved") == (1, 1), trial
