"""Live compliance from the plan's own data: an owner deferring heavily makes the year-end projection fail ADP and
ACP; a what-if shows NHCE elections would fix it (storing nothing); the NHCEs elect on their phones and the
projection passes. Each change asks the worker to recompute; the sponsor is warned once, and the history shows it."""
import io

from pypdf import PdfReader

from tests import scenario
from tests.support import run_cli
from tests.support.outbox import drain as recompute

FIGURES = ("hce_average", "nhce_average", "limit", "margin", "passed")
RULES = {"template": "traditional", "requires_approval": False,
         "eligibility": {"min_age": 21, "service_months": 0, "entry_frequency": "immediate"}}


def owner_deferring_heavily(app, client):
    """An owner paid $200,000 deferring 7%, and three NHCEs paid $52,000 deferring nothing: (sponsor, plan id,
    census by external id)."""
    advisor = scenario.advisor(app, client)
    setup = scenario.setup_plan(client, advisor, name="Heavy Owner Inc", **RULES)
    sponsor = scenario.accept_sponsor(client, setup)
    employer_id, plan_id = setup["employer"]["id"], setup["plan"]["id"]
    rows = [scenario.census_row("OWN", "1970-01-01", "2015-01-05", "111-11-0001", pay="200000.00", ownership_percent="100",
                                officer="true"),
            *(scenario.census_row(f"N{i}", "1990-01-01", "2020-01-06", f"222-22-000{i}", pay="52000.00") for i in (1, 2, 3))]
    assert scenario.upload_csv(client, sponsor, employer_id, rows).status_code == 200
    census = scenario.employees_by_external_id(client, sponsor, employer_id)
    owner = scenario.sign_up(client, census["OWN"], "1970-01-01", "0001")
    client.post("/mobile/v1/elections", headers=owner, json={"lines": [{"money_type": "pretax", "percent": "7"}]})
    return sponsor, plan_id, census


def test_nhce_elections_move_the_projection_from_failing_to_passing(app, client, plumb):
    sponsor, plan_id, census = owner_deferring_heavily(app, client)

    recompute(plumb)
    warnings = client.get(f"/v1/plans/{plan_id}/compliance/warnings", headers=sponsor).json
    assert [(w["failing_tests"], w["year"]) for w in warnings] == [(["adp", "acp"], 2026)]
    assert "on track to fail its 2026 ADP and ACP test" in warnings[0]["message"]
    assert warnings[0]["fix"]["adp"]["qnec"]["percent"] == "5.00"
    state = client.get(f"/v1/plans/{plan_id}/compliance", headers=sponsor)
    assert state.status_code == 200, state.json
    projection = state.json["projection"]
    assert state.json["status"] == "at_risk" and state.json["failing_tests"] == ["adp", "acp"]
    assert projection["hce"] == ["OWN"]
    assert (projection["adp"]["hce_average"], projection["adp"]["nhce_average"]) == ("7.00", "0.00")
    # The fix comes with the failure: the owner is over 50, so the excess (two paychecks at 7% of $7,692.30)
    # is kept as catch-up; or a 5% QNEC to the NHCEs ($600 on their remaining pay) would pass.
    assert projection["adp"]["recharacterized_catch_up"] == {"OWN": "1076.92"}
    assert (projection["adp"]["qnec"]["percent"], projection["adp"]["qnec"]["cost"]) == ("5.00", "600.00")

    changes = [{"external_id": f"N{i}", "deferral_percent": "6"} for i in (1, 2, 3)]
    what_if = client.post(f"/v1/plans/{plan_id}/compliance/what-if", headers=sponsor, json={"changes": changes})
    assert what_if.status_code == 200 and what_if.json["status"] == "on_track"
    assert what_if.json["projection"]["adp"]["nhce_average"] == "6.00"
    assert client.get(f"/v1/plans/{plan_id}/compliance", headers=sponsor).json["status"] == "at_risk"  # nothing stored

    correction = client.get(f"/v1/plans/{plan_id}/compliance/correction", headers=sponsor).json
    assert (correction["basis"], correction["passed"]) == ("projected", False)
    assert correction["adp"]["recharacterized_catch_up"] == {"OWN": "1076.92"}
    # With the NHCEs at 0%, no HCE election passes but 0%.
    assert correction["hce_election_cap"] == {"percent": "0.00", "limit": "0.00", "hces": ["OWN"]}

    # Each NHCE election moves the sponsor's state at once (before the worker runs): the averages are moved
    # incrementally, and the worker's full computation that follows finds the same figures.
    expected = [("2.00", "4.00", "at_risk"), ("4.00", "6.00", "at_risk"), ("6.00", "8.00", "on_track")]
    for i, (nhce_average, limit, status) in zip((1, 2, 3), expected):
        phone = scenario.sign_up(client, census[f"N{i}"], "1990-01-01", f"000{i}")
        client.post("/mobile/v1/elections", headers=phone, json={"lines": [{"money_type": "pretax", "percent": "6"}]})
        moved = client.get(f"/v1/plans/{plan_id}/compliance", headers=sponsor).json
        assert (moved["refresh"], moved["trigger"]) == ("incremental", f"election:{census[f'N{i}']['id']}")
        adp = moved["projection"]["adp"]
        assert (adp["nhce_average"], adp["limit"], moved["status"]) == (nhce_average, limit, status)
        recompute(plumb)
        full = client.get(f"/v1/plans/{plan_id}/compliance", headers=sponsor).json
        assert full["refresh"] == "full"
        for test in ("adp", "acp"):
            assert ({k: moved["projection"][test][k] for k in FIGURES} == {k: full["projection"][test][k] for k in FIGURES})
        assert full["status"] == moved["status"]
    state = full
    assert state["status"] == "on_track" and state["failing_tests"] == []
    history = client.get(f"/v1/plans/{plan_id}/compliance/history", headers=sponsor).json["data"]
    assert [h["status"] for h in history][0] == "at_risk" and history[-1]["status"] == "on_track"
    assert history[-1]["figures"]["adp"]["nhce_average"] == "6.00"
    # The warning was raised once, when the status changed; moving and recomputing while at risk raised no other.
    assert len(client.get(f"/v1/plans/{plan_id}/compliance/warnings", headers=sponsor).json) == 1
    # The highest passing HCE average is max(1.25 × 6, min(2 × 6, 6 + 2)) = 8%: 7% passes; the match (50% of
    # the first 6%) is 3% for everyone, so the ACP passes too.
    assert (state["projection"]["adp"]["limit"], state["projection"]["acp"]["passed"]) == ("8.00", True)
    # Passing now, the owner can elect up to 8% for the two paychecks left: 2 × 8% of $7,692.30 is 8.00% of
    # the year's $15,384.60.
    cap = client.get(f"/v1/plans/{plan_id}/compliance/correction", headers=sponsor).json["hce_election_cap"]
    assert cap == {"percent": "8.00", "limit": "8.00", "hces": ["OWN"]}

    # The sponsor asks to hear when the margin falls under 1.5 points: at 1.00 the status turns narrow at once,
    # with a warning of its own.
    settings = client.put(f"/v1/plans/{plan_id}/compliance/settings", headers=sponsor, json={"warning_margin": "1.5"})
    assert settings.status_code == 200 and settings.json == {"warning_margin": "1.5"}
    state = client.get(f"/v1/plans/{plan_id}/compliance", headers=sponsor).json
    assert (state["status"], state["narrow_margin_tests"], state["warning_margin"]) == ("narrow_margin", ["adp"], "1.5")
    warnings = client.get(f"/v1/plans/{plan_id}/compliance/warnings", headers=sponsor).json
    assert [w["status"] for w in warnings] == ["narrow_margin", "at_risk"]
    assert "margin 1.00" in warnings[0]["message"] and warnings[0]["fix"]["adp"]["limit"] == "8.00"
    recompute(plumb)  # recomputed while narrow: no new warning; the setting holds for the worker too
    assert client.get(f"/v1/plans/{plan_id}/compliance", headers=sponsor).json["status"] == "narrow_margin"
    assert len(client.get(f"/v1/plans/{plan_id}/compliance/warnings", headers=sponsor).json) == 2
    assert client.get(f"/v1/plans/{plan_id}", headers=sponsor).json["compliance_warning_margin"] == "1.5"
    refused = client.put(f"/v1/plans/{plan_id}/compliance/settings", headers=sponsor, json={"warning_margin": "-1"})
    assert refused.status_code == 422 and refused.json["errors"][0]["field"] == "warning_margin"

    bad = client.post(f"/v1/plans/{plan_id}/compliance/what-if", headers=sponsor,
                      json={"changes": [{"external_id": "NOPE", "deferral_percent": "3"}]})
    assert bad.status_code == 422 and bad.json["errors"][0]["field"] == "changes[0].external_id"


def pdf_text(pdf: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf)).pages)


def test_the_pdf_report_has_the_state_the_tests_and_the_fix(app, client, plumb):
    sponsor, plan_id, _ = owner_deferring_heavily(app, client)
    recompute(plumb)
    response = client.get(f"/v1/plans/{plan_id}/compliance/report.pdf", headers=sponsor)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.data.startswith(b"%PDF-")
    assert f'filename="compliance-{plan_id}-2026.pdf"' in response.headers["Content-Disposition"]
    text = " ".join(pdf_text(response.data).split())
    assert "could return" not in text  # no excess left unallocated
    for expected in ("Heavy Owner Inc 401(k) Plan: 2026 compliance report", "Figures as of 2026-11-24",
                     "Status: At risk of failing", "ADP Projected 7.00% 0.00% 0.00% -7.00 FAILS",
                     "ADP fails: total excess $1,076.92", "re-characterized as catch-up: OWN $1,076.92",
                     "or a QNEC of 5.00% of pay to every eligible NHCE: cost $600.00",
                     "HCEs can elect up to 0.00% for the rest of the year",
                     "adp refund without excise tax 2027-06-30", "IRS figures for 2026", "IRS Notice 2025-67"):
        assert expected in text, (expected, text)
    # The daily pass asks for a recompute only once the stored state is older than the day.
    daily = lambda on: run_cli(app, args=["daily", "--date", on]).output  # noqa: E731
    assert "compliance recomputes requested: 0" in daily("2026-11-24")
    assert "compliance recomputes requested: 1" in daily("2026-11-25")
    for year in ("2025", "2027", "soon"):
        refused = client.get(f"/v1/plans/{plan_id}/compliance/report.pdf?year={year}", headers=sponsor)
        assert refused.status_code == 422 and refused.json["errors"][0]["field"] == "year", refused.json


def test_hce_status_looks_back_at_last_years_payroll_when_the_plan_ran_it(app, client):
    advisor = scenario.advisor(app, client)
    setup = scenario.setup_plan(client, advisor, **{**RULES, "effective_date": "2025-01-01"})
    sponsor = scenario.accept_sponsor(client, setup)
    employer_id, plan_id = setup["employer"]["id"], setup["plan"]["id"]
    rows = [scenario.census_row("BONUS", "1980-01-01", "2015-01-05", "111-11-0002", pay="60000.00"),
            scenario.census_row("CUT", "1980-01-01", "2015-01-05", "111-11-0003", pay="200000.00"),
            scenario.census_row("N1", "1990-01-01", "2020-01-06", "222-22-0001", pay="50000.00")]
    assert scenario.upload_csv(client, sponsor, employer_id, rows).status_code == 200

    def hces():
        state = client.get(f"/v1/plans/{plan_id}/compliance", headers=sponsor).json
        return state["prior_year_compensation"], state["projection"]["hce"]

    # Without last year's payroll, the census's annual pay stands in for it.
    assert hces() == ("census", ["CUT"])
    # The plan's payroll covers 2025 from its first paycheck: what it paid decides 2026 HCE status.
    connection = scenario.connect_payroll(client, sponsor, employer_id)
    runs = [("R-2025-01", "2025-01-03", {"BONUS": 17_000_000, "CUT": 500_000, "N1": 192_308}),
            ("R-2025-26", "2025-12-19", {"BONUS": 230_770, "CUT": 500_000, "N1": 192_308})]
    for run_id, pay_date, gross in runs:
        response = scenario.signed_post(client, connection, scenario.pay_run(
            run_id, pay_date, [scenario.statement(who, cents) for who, cents in gross.items()]))
        assert response.status_code == 200 and response.json["posted"] == 3, response.json
    assert hces() == ("payroll", ["BONUS"])
