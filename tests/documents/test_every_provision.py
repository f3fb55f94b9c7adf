"""Every provision a plan elects is stated in its documents: plans of each template and of unusual elections set up
through the API, their adoption agreement and summaries read back from the PDF (pypdf), each provision looked for by
what the request asked (not only by the sentence the template draws); and the same rules give the same bytes in
another process."""
import hashlib
import io
import json
import shutil
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
from pypdf import PdfReader

from backend.documents import templates
from backend.documents.models import PlanDocument
from backend.plans import vesting as vesting_rules
from backend.plans.templates import apply_template
from tests import scenario
from tests.documents.test_plan_documents import pdf_of, text_of

ROOT = Path(__file__).resolve().parents[2]

PLANS = {
    "safe harbor match with loans and hardship": dict(template="safe_harbor_match", loans_allowed=True,
                                                      hardship_allowed=True, requires_approval=False),
    "traditional, mid-year plan year, quarterly entry, no Roth": dict(
        template="traditional", plan_year_start="07-01", roth_allowed=False, loans_allowed=True,
        eligibility={"min_age": 19, "service_months": 6, "entry_frequency": "quarterly",
                     "long_term_part_time": False},
        auto_enrollment={"enabled": True, "default_percent": "4", "escalation_step_percent": "2",
                         "escalation_cap_percent": "12", "opt_out_window_days": 60, "notice_days": 45},
        match_tiers=[{"deferral_from_percent": "0", "deferral_to_percent": "4", "match_rate_percent": "75"}],
        vesting={"employer_match": {"0": "0", "2": "50", "3": "100"}}),
    "starter without escalation, hardship only": dict(
        template="starter", hardship_allowed=True,
        auto_enrollment={"enabled": True, "default_percent": "6", "escalation_step_percent": "0",
                         "escalation_cap_percent": "6", "opt_out_window_days": 90, "notice_days": 30}),
}
ENTRY = {"monthly": "the first day of the month after", "quarterly": "the first day of the plan-year quarter",
         "semi_annual": "the first day of its seventh month", "immediate": "immediately upon meeting the conditions"}
MONTHS = {"01": "January", "07": "July"}


def percent(text) -> str:
    """"12.50" -> "12.5", "100" -> "100": as the documents write a percent."""
    return format(Decimal(str(text)).normalize(), "f")


def expected_in_agreement(request: dict, rules: dict) -> list[str]:
    """What the adoption agreement must say, worked out from the setup request and the template it names."""
    employer = request["employer"]
    e, auto = rules["eligibility"], rules["auto_enrollment"]
    month, day = rules["plan_year_start"].split("-")
    expected = [f"Plan sponsor (employer): {employer['name']}", f"EIN {employer['ein']}",
                f"Trustee: {employer['name']}", "Effective date of the plan: January 1, 2026",
                f"twelve months beginning {MONTHS[month]} {int(day)}", f"eligible at age {e['min_age']}",
                ENTRY[e["entry_frequency"]],
                "Long-term part-time employees" if e["long_term_part_time"] else "Long-term part-time coverage applies "
                                                                                 "only as the law requires",
                f"enrolled automatically at {percent(auto['default_percent'])}% of pay",
                f"after {auto['notice_days']} days' notice", f"within {auto['opt_out_window_days']} days",
                f"Roth deferrals: {'offered' if rules['roth_allowed'] else 'not offered'}",
                f"Loans: {'offered' if rules.get('loans_allowed') else 'not offered'}",
                f"Hardship withdrawals: {'offered' if rules.get('hardship_allowed') else 'not offered'}",
                "Default investment (QDIA)"]
    if percent(auto["escalation_step_percent"] or 0) != "0":
        expected.append(f"rises by {percent(auto['escalation_step_percent'])} percentage point(s) each plan year up "
                        f"to {percent(auto['escalation_cap_percent'])}% of pay")
    else:
        expected.append("The automatic rate does not escalate")
    expected += [f"{percent(t['match_rate_percent'])}% of deferrals from {percent(t['deferral_from_percent'])}% to "
                 f"{percent(t['deferral_to_percent'])}% of pay" for t in rules["match_tiers"]] or \
        ["Matching contributions: none"]
    expected.append({"basic_match": "Safe harbor basic match", "none": "Safe harbor: not elected"}[rules["safe_harbor"]])
    for source, schedule in rules["vesting"].items():
        label = {"employer_match": "Employer matching contributions",
                 "profit_sharing": "Profit sharing contributions"}[source]
        # A named schedule ("graded_6") is stated year by year, as the vesting rules define it (IRC 411(a)(2)).
        steps = sorted(vesting_rules.schedule_of(schedule).items())
        expected.append(f"{label}: " + ", ".join(f"{percent(p)}% after {y} year(s)" for y, p in steps))
    return expected


@pytest.mark.parametrize("elections", list(PLANS.values()), ids=list(PLANS))
def test_every_elected_provision_is_stated_in_the_agreement_and_in_both_summaries(app, client, elections):
    elections = dict(elections)
    template = elections.pop("template")
    advisor = scenario.advisor(app, client)
    request = scenario.plan_request(template=template, **elections)
    response = client.post("/v1/plans/setup", json=request, headers=advisor)
    assert response.status_code == 201, response.json
    setup = response.json
    sponsor = scenario.accept_sponsor(client, setup, sign=False)
    # The rules the plan has: its template's, with the request's elections laid over them.
    rules = apply_template(template, {k: v for k, v in elections.items() if k != "requires_approval"})
    plan_id = setup["plan"]["id"]
    agreement = text_of(pdf_of(client, sponsor, scenario.current_document(client, sponsor, plan_id)))
    for provision in expected_in_agreement(request, rules):
        assert provision in agreement, provision
    # Each summary states every provision too, in its own language: each of its sentences as the template words
    # them, from the provisions stored with the document.
    with app.extensions["plumb"].db.transaction() as session:
        stored = session.get(PlanDocument, scenario.current_document(client, sponsor, plan_id)["id"]).provisions
    for language in templates.LANGUAGES:
        summary = text_of(pdf_of(client, sponsor, scenario.current_document(
            client, sponsor, plan_id, "summary_plan_description", language)))
        for _, lines in templates.provision_lines(stored, language):
            for line in lines:
                assert " ".join(line.split()) in summary, (language, line)
    english = text_of(pdf_of(client, sponsor, scenario.current_document(client, sponsor, plan_id,
                                                                         "summary_plan_description")))
    for provision in expected_in_agreement(request, rules):
        assert provision in english, provision


def test_the_same_rules_give_the_same_bytes_in_another_process(app, client):
    advisor = scenario.advisor(app, client)
    setup = scenario.setup_plan(client, advisor, loans_allowed=True, hardship_allowed=True, requires_approval=False)
    sponsor = scenario.accept_sponsor(client, setup, sign=False)
    plan_id = setup["plan"]["id"]
    for kind, language in (("adoption_agreement", "en"), ("summary_plan_description", "es")):
        document = scenario.current_document(client, sponsor, plan_id, kind, language)
        with app.extensions["plumb"].db.transaction() as session:
            provisions = session.get(PlanDocument, document["id"]).provisions
        # A fresh interpreter (its own hash seed, its own reportlab state): nothing of this process's can leak in.
        program = ("import hashlib, json, sys; from backend.documents.render import render_document; "
                   "a = json.loads(sys.stdin.read()); "
                   "print(hashlib.sha256(render_document(a['kind'], a['language'], a['provisions'], "
                   "version=1)).hexdigest())")
        answer = subprocess.run([sys.executable, "-c", program], input=json.dumps(
            {"kind": kind, "language": language, "provisions": provisions}), capture_output=True, text=True,
            cwd=ROOT, check=True)
        assert answer.stdout.strip() == document["sha256"] == hashlib.sha256(
            pdf_of(client, sponsor, document)).hexdigest()



@pytest.mark.skipif(shutil.which("pdftoppm") is None, reason="poppler's pdftoppm is not installed")
def test_every_page_of_every_document_renders_to_an_image(app, client, tmp_path):
    advisor = scenario.advisor(app, client)
    setup = scenario.setup_plan(client, advisor, loans_allowed=True, hardship_allowed=True, requires_approval=False)
    sponsor = scenario.accept_sponsor(client, setup)  # signed: the agreement downloads with its signature page
    for document in client.get(f"/v1/plans/{setup['plan']['id']}/documents", headers=sponsor).json:
        pdf = pdf_of(client, sponsor, document)
        path = tmp_path / f"{document['id']}.pdf"
        path.write_bytes(pdf)
        subprocess.run(["pdftoppm", "-png", "-r", "40", str(path), str(tmp_path / document["id"])], check=True)
        images = sorted(tmp_path.glob(f"{document['id']}*.png"))
        assert len(images) == len(PdfReader(io.BytesIO(pdf)).pages) >= 1, document["kind"]
        assert all(image.read_bytes().startswith(b"\x89PNG") for image in images)
