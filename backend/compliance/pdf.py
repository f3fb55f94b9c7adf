"""The compliance report a sponsor files or hands to an auditor: the plan's state, year to date and projected,
every test with its figures, the correction plan with its deadlines, and the IRS figures used with their sources.
Rendered with reportlab from the same results the API returns."""
import io
from collections.abc import Mapping
from datetime import datetime

from reportlab.lib import colors
from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import Paragraph, SimpleDocTemplate, Spacer, Table, TableStyle
from xml.sax.saxutils import escape

from backend.compliance.report import render_text
from backend.money import format_dollar_amount

_STATUS = {"on_track": "On track", "narrow_margin": "Passing by a narrow margin", "at_risk": "At risk of failing"}


def compliance_report_pdf(*, plan_name: str, employer_name: str, state: Mapping, correction: Mapping,
                          generated_at: datetime) -> bytes:
    """The report as PDF bytes. `state` is the plan's compliance state, `correction` its correction plan."""
    styles = getSampleStyleSheet()
    body, mono = styles["BodyText"], styles["Code"]
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=LETTER, title=f"{plan_name}: {state['year']} compliance report",
                            author="Plumb", leftMargin=0.75 * inch, rightMargin=0.75 * inch,
                            topMargin=0.75 * inch, bottomMargin=0.75 * inch)
    story = [
        Paragraph(escape(f"{plan_name}: {state['year']} compliance report"), styles["Title"]),
        Paragraph(escape(f"{employer_name}. Figures as of {state['as_of']}; report generated "
                         f"{generated_at:%Y-%m-%d %H:%M} UTC."), body),
        Paragraph(escape(f"Status: {_STATUS.get(state['status'], state['status'])}. Warning margin "
                         f"{state['warning_margin']} percentage points."), body),
        Spacer(1, 0.15 * inch),
        Paragraph("Nondiscrimination tests", styles["Heading2"]),
        _summary_table(state),
        Spacer(1, 0.15 * inch),
        Paragraph(escape(f"Correction plan ({correction['basis']})"), styles["Heading2"]),
        *[Paragraph(escape(line), body) for line in _correction_lines(correction)],
    ]
    for title, result in (("Year-end projection", state["projection"]), ("Year to date", state["year_to_date"])):
        story.append(Paragraph(title, styles["Heading2"]))
        story.extend(Paragraph(escape(line) or "&nbsp;", mono) for line in render_text(result).splitlines())
    limits = state["projection"]["irs_limits"]
    story.append(Paragraph(escape(f"IRS figures for {limits['year']}"), styles["Heading2"]))
    story.append(_table([["Limit", "Source"]] + [[name.removesuffix("_cents").replace("_", " "), Paragraph(escape(source), body)]
                                                  for name, source in limits["sources"].items()],
                        widths=[2.0 * inch, 5.0 * inch]))
    doc.build(story)
    return out.getvalue()


def _summary_table(state: Mapping):
    rows = [["Test", "Basis", "HCE average", "NHCE average", "Limit", "Margin", "Result"]]
    for basis, result in (("Year to date", state["year_to_date"]), ("Projected", state["projection"])):
        for name in ("adp", "acp"):
            section = result[name]
            outcome = "exempt" if section["exempt"] else "passes" if section["passed"] else "FAILS"
            rows.append([name.upper(), basis, _pct(section["hce_average"]), _pct(section["nhce_average"]),
                         _pct(section["limit"]), _plain(section["margin"]), outcome])
    coverage = state["projection"]["coverage"]
    top = state["projection"]["top_heavy"]
    rows.append(["410(b)", "Projected", "", "", "70%", "", f"{_pct(coverage['ratio'])} "
                 + ("passes" if coverage["passed"] else "FAILS")])
    rows.append(["Top-heavy", "Projected", "", "", "60%", "", f"{_pct(top['ratio'])} "
                 + ("top-heavy" if top["is_top_heavy"] else "not top-heavy")])
    return _table(rows, widths=[0.85 * inch, 1.0 * inch, 1.0 * inch, 1.05 * inch, 0.8 * inch, 0.8 * inch,
                                1.3 * inch])


def _correction_lines(correction: Mapping) -> list[str]:
    """The plan's verdict, what HCEs may still elect, and the deadlines; the itemized fix (refunds by person, the
    QNEC, the NHCE increase, excess deferrals and additions) is in the test details that follow."""
    if correction["passed"]:
        return ["Nothing to correct: every test passes and no one is over a limit."]
    lines = [f"{name.upper()} fails: total excess {format_dollar_amount(correction[name]['total_excess'])}, itemized "
             f"below with the alternatives." for name in ("adp", "acp") if not correction[name]["passed"]]
    for key, what in (("limit_402g", "402(g) excess deferrals"), ("limit_415c", "415(c) excess annual additions"),
                      ("top_heavy_minimum_owed", "top-heavy minimum contributions")):
        if correction[key]:
            lines.append(f"{what.capitalize()} to correct: {len(correction[key])} employees, itemized below.")
    cap = correction.get("hce_election_cap")
    if cap and cap["percent"] is None:
        lines.append("No HCE election can make the ADP test pass this year: see the refunds and the QNEC below.")
    elif cap:
        lines.append(f"HCEs can elect up to {cap['percent']}% for the rest of the year with the ADP test "
                     f"still passing (highest passing HCE average {cap['limit']}%).")
    lines.append("Deadlines: " + ", ".join(f"{key.replace('_', ' ')} {day}"
                                            for key, day in sorted(correction["deadlines"].items())))
    return lines


def _table(rows, widths):
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle([
        ("FONT", (0, 0), (-1, 0), "Helvetica-Bold", 9), ("FONT", (0, 1), (-1, -1), "Helvetica", 9),
        ("GRID", (0, 0), (-1, -1), 0.25, colors.grey), ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
        ("VALIGN", (0, 0), (-1, -1), "TOP")]))
    return table


def _pct(value) -> str:
    return "n/a" if value is None else f"{value}%"


def _plain(value) -> str:
    return "" if value is None else str(value)

