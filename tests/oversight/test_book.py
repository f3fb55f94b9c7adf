"""The advisor's book of plans through the HTTP API: its figures equal the dashboard's and the compliance state's,
the stored figures equal a fresh computation after each kind of event, the attention order walked with a cursor,
and who sees which plans."""
import csv
import io
from decimal import Decimal

from sqlalchemy import literal, select, text, tuple_

from backend.oversight.figures import recompute_plan_figures
from backend.oversight.models import PlanFigures
from tests import scenario
from tests.support.outbox import drain
from tests.support.problems import assert_problem

FIGURES = ("eligible_count", "enrolled_count", "participation_rate", "hce_average_deferral", "nhce_average_deferral",
           "match_paid_cents", "match_projected_cents", "assets_cents", "contributions_by_month", "pending_approvals",
           "open_exceptions", "dead_letters", "compliance_status", "compliance_margin", "agreement_signed",
           "billing_status", "attention", "attention_rank", "stage")


def book(client, headers, **params) -> dict:
    response = client.get("/v1/book", headers=headers, query_string=params)
    assert response.status_code == 200, response.json
    return response.json


def whole_book(client, headers, **params) -> list[dict]:
    rows, cursor = [], None
    while True:
        page = book(client, headers, **params, **({"cursor": cursor} if cursor else {}))
        rows += page["data"]
        cursor = page["next_cursor"]
        if cursor is None:
            return rows


def stored_equals_fresh(plumb, plan_id: str) -> None:
    """The row the events kept current equals the figures computed now from their owners."""
    with plumb.db.session() as session:
        row = session.get(PlanFigures, plan_id)
        fresh = recompute_plan_figures(session, plan_id, plumb.clock.today()).as_dict()
        stored = {name: getattr(row, name) for name in fresh}
    assert stored == fresh


def elect(client, participant, percent: str):
    response = client.post("/mobile/v1/elections", headers=participant,
                           json={"lines": [{"money_type": "pretax", "percent": percent}]})
    assert response.status_code == 201, response.json
    return response.json


def test_a_plans_row_in_the_book_equals_its_dashboard_and_its_compliance_state(client, world, connection, plumb):
    elect(client, world.participant, "6")
    response = scenario.signed_post(client, connection, scenario.pay_run(
        "r1", "2026-11-13", [scenario.statement("E1", 300000, pretax=18000)]))
    assert response.status_code == 200, response.json
    drain(plumb)

    [row] = book(client, world.advisor)["data"]
    dashboard = client.get(f"/v1/plans/{world.plan_id}/dashboard", headers=world.sponsor).json
    compliance = client.get(f"/v1/plans/{world.plan_id}/compliance", headers=world.sponsor).json

    assert {k: row[k] for k in FIGURES} == {k: dashboard[k] for k in FIGURES}
    assert row["compliance_status"] == compliance["status"]
    adp, acp = compliance["projection"]["adp"], compliance["projection"]["acp"]
    assert Decimal(row["hce_average_deferral"] or "0") == Decimal(str(adp["hce_average"] or "0"))
    assert Decimal(row["nhce_average_deferral"]) == Decimal(str(adp["nhce_average"]))
    margins = [Decimal(str(t["margin"])) for t in (adp, acp) if not t["exempt"] and t["margin"] is not None]
    assert (Decimal(row["compliance_margin"]) if row["compliance_margin"] else None) == (min(margins) if margins
                                                                                         else None)


def test_after_each_kind_of_event_the_stored_figures_equal_a_fresh_computation(app, client, plumb):
    world = scenario.World(app, client, requires_approval=True, sign_documents=False)
    stored_equals_fresh(plumb, world.plan_id)  # set up, census loaded, agreement unsigned
    assert book(client, world.advisor)["data"][0]["attention"] == "unsigned_documents"

    scenario.sign_adoption_agreement(client, world.sponsor, world.plan_id)  # signing
    stored_equals_fresh(plumb, world.plan_id)

    election = elect(client, world.participant, "6")  # waiting for approval
    stored_equals_fresh(plumb, world.plan_id)
    assert book(client, world.advisor)["data"][0]["attention"] == "approvals"

    approved = client.post(f"/v1/elections/{election['id']}/approve", json={},
                           headers={**world.sponsor, "If-Match": election["etag"]})  # approval
    assert approved.status_code == 200, approved.json
    stored_equals_fresh(plumb, world.plan_id)

    connection = scenario.connect_payroll(client, world.sponsor, world.employer_id)
    response = scenario.signed_post(client, connection, scenario.pay_run(  # a pay run, with exceptions
        "r1", "2026-11-13", [scenario.statement("E1", 300000, pretax=18000)]))
    assert response.status_code == 200, response.json
    stored_equals_fresh(plumb, world.plan_id)
    assert book(client, world.advisor)["data"][0]["attention"] == "exceptions"

    drain(plumb)  # the compliance recompute; the deferral change dead-lettered at the unreachable payroll address
    stored_equals_fresh(plumb, world.plan_id)

    scenario.load_prices(client, world.sponsor, world.plan_id, [("PLTDX", "2026-11-13", "25.00"),
                                                                ("PLBDX", "2026-11-13", "10.00")])
    stored_equals_fresh(plumb, world.plan_id)  # prices: the pay run's cash is invested and valued
    assert book(client, world.advisor)["data"][0]["dead_letters"] == 1

    queue = client.get(f"/v1/employers/{world.employer_id}/payroll-exceptions?status=open",
                       headers=world.sponsor).json["data"]
    for exception in queue:  # resolving the exceptions
        resolved = client.post(f"/v1/payroll-exceptions/{exception['id']}/resolve", headers=world.sponsor,
                               json={"action": "accept", "note": "as elected"})
        assert resolved.status_code == 200, resolved.json
        stored_equals_fresh(plumb, world.plan_id)
    [row] = book(client, world.advisor)["data"]
    assert (row["open_exceptions"], row["attention"]) == (0, None)


def test_the_book_lists_every_plan_once_in_the_attention_order_across_cursor_pages(app, client):
    advisor = scenario.advisor(app, client, "book@example.com")
    plan_ids = {}
    for i, name in enumerate(["Delta Co", "alpha co", "Charlie Co", "Bravo Co", "Echo Co"]):
        setup = scenario.setup_plan(client, advisor, name=name, sponsor_email=f"s{i}@example.com")
        plan_ids[name] = setup["plan"]["id"]
        if name in ("Charlie Co", "Echo Co"):  # these two sign: the others need their documents signed
            sponsor = scenario.accept_sponsor(client, setup)
            assert sponsor

    rows = whole_book(client, advisor, limit=2)

    assert sorted(r["plan_id"] for r in rows) == sorted(plan_ids.values())
    keys = [(r["attention_rank"], r["employer_name"], r["plan_id"]) for r in rows]
    assert [r["attention"] for r in rows][:3] == ["unsigned_documents"] * 3
    assert [r["attention"] for r in rows][3:] == [None, None]
    assert [r["employer_name"] for r in rows[3:]] == ["Charlie Co", "Echo Co"]
    assert len(set(keys)) == len(keys)
    unsigned = whole_book(client, advisor, attention="unsigned_documents", limit=1)
    assert {r["employer_name"] for r in unsigned} == {"Delta Co", "alpha co", "Bravo Co"}
    assert whole_book(client, advisor, status="live") == []
    assert len(whole_book(client, advisor, status="setup")) == 5

    pipeline = client.get("/v1/book/pipeline", headers=advisor).json
    stages = {s["stage"]: s for s in pipeline["stages"]}
    assert pipeline["total"] == 5
    assert (stages["created"]["count"], stages["documents_signed"]["count"], stages["live"]["count"]) == (3, 2, 0)
    assert [p["employer_name"] for p in stages["documents_signed"]["plans"]] == ["Echo Co", "Charlie Co"]

    exported = client.get("/v1/book.csv", headers=advisor)
    assert exported.status_code == 200
    lines = list(csv.DictReader(io.StringIO(exported.get_data(as_text=True))))
    assert [line["plan_id"] for line in lines] == [r["plan_id"] for r in rows]


def test_an_advisor_sees_only_the_plans_they_serve_and_a_sponsor_or_participant_no_book(app, client, world):
    other = scenario.World(app, client, name="=HYPERLINK(\"x\") Co", advisor_email="other@example.com",
                           sponsor_email="other-sponsor@example.com", ein_prefix="O")

    assert [r["plan_id"] for r in whole_book(client, world.advisor)] == [world.plan_id]
    assert [r["plan_id"] for r in whole_book(client, other.advisor)] == [other.plan_id]
    exported = client.get("/v1/book.csv", headers=other.advisor).get_data(as_text=True)
    assert "'=HYPERLINK" in exported  # a formula cell is neutralized
    for path in ("/v1/book", "/v1/book.csv", "/v1/book/pipeline"):
        assert client.get(path, headers=world.sponsor).status_code == 403
        assert client.get(path, headers=world.participant).status_code == 403
    pipeline = client.get("/v1/book/pipeline", headers=other.advisor).json
    assert pipeline["total"] == 1


def test_a_cursor_the_api_did_not_issue_is_refused(client, world):
    response = client.get("/v1/book", headers=world.advisor, query_string={"cursor": "bm90LWEtY3Vyc29y"})
    assert_problem(response, 422)


def _plan_of(session, query) -> str:
    """The database's plan for `query`, with an index walk preferred wherever one can serve (a test's tables are
    tiny: a planner would rightly scan and sort them whole). The scale benchmark prints the plans at size."""
    compiled = query.compile(session.get_bind(), compile_kwargs={"literal_binds": True})
    if session.get_bind().dialect.name == "postgresql":
        for setting in ("enable_seqscan", "enable_bitmapscan", "enable_sort"):  # a sort then appears only if needed
            session.execute(text(f"SET LOCAL {setting} = off"))
        return "\n".join(session.scalars(text(f"EXPLAIN {compiled}")))
    return "\n".join(str(row[-1]) for row in session.execute(text(f"EXPLAIN QUERY PLAN {compiled}")))


def test_the_books_pages_and_a_dashboards_row_are_read_through_indexes_without_sorting(app, client, world, plumb):
    from backend.identity.service import Principal
    from backend.oversight import book as book_module

    advisor = Principal(user_id="usr_someone", role="advisor", employer_id=None, employee_id=None)
    admin = Principal(user_id="usr_admin", role="platform_admin", employer_id=None, employee_id=None)
    after = (PlanFigures.attention_rank, PlanFigures.employer_name, PlanFigures.plan_id)
    with plumb.db.session() as session:
        for principal, index in ((advisor, "ix_plan_figures_advisor_order"), (admin, "ix_plan_figures_order")):
            first = book_module.book_query(principal).order_by(*after).limit(51)
            later = book_module.book_query(principal).where(
                tuple_(*after) > tuple_(literal(2), literal("Acme"), literal("pln_x"))).order_by(*after).limit(51)
            for query in (first, later):
                plan = _plan_of(session, query)
                assert index in plan, plan
                assert "Sort" not in plan and "TEMP B-TREE" not in plan, plan
        plan = _plan_of(session, select(PlanFigures).where(PlanFigures.plan_id == world.plan_id))
        assert "pk_plan_figures" in plan or "sqlite_autoindex_plan_figures" in plan or "PRIMARY KEY" in plan, plan
        session.rollback()
