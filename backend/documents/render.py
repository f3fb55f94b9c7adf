"""The documents as PDF, drawn with reportlab from the provisions and the template version alone.

Deterministic: `invariant=1` fixes what reportlab would otherwise take from the clock and chance (the creation and
modification dates, the document id), compression is set explicitly, and nothing else reaches the page, so the
same provisions and template version give the same bytes, and their SHA-256 can be checked again at any time."""
import io
from xml.sax.saxutils import escape

from reportlab.lib.pagesizes import LETTER
from reportlab.lib.styles import getSampleStyleSheet
from reportlab.lib.units import inch
from reportlab.platypus import PageBreak, Paragraph, SimpleDocTemplate, Spacer

from backend.documents import templates

_STYLES = getSampleStyleSheet()


def render_document(kind: str, language: str, provisions: dict, *, version: int,
                    template_version: str = templates.TEMPLATE_VERSION, amendment: dict | None = None,
                    notice: dict | None = None, signature: dict | None = None) -> bytes:
    """The document's PDF bytes. `amendment` ({"effective_on", "changes"}) lists what this version changed;
    `notice` ({"start", "end", "deadline", "opens"}) makes it a plan year's safe-harbor notice; `signature`
    (name, title, at, ip, agent, sha256, consent) appends the signature page."""
    w = templates.words(language)
    title = f"{provisions['plan']['name']}: {w[kind]}"
    out = io.BytesIO()
    doc = SimpleDocTemplate(out, pagesize=LETTER, title=title, author="Plumb", subject=w[kind],
                            creator="Plumb", producer="Plumb", invariant=1, pageCompression=1,
                            leftMargin=0.9 * inch, rightMargin=0.9 * inch, topMargin=0.8 * inch,
                            bottomMargin=0.8 * inch, lang=language)
    body, heading = _STYLES["BodyText"], _STYLES["Heading2"]
    story = [Paragraph(escape(title), _STYLES["Title"]),
             Paragraph(escape(w["version"].format(version=version, template=template_version)), body)]
    if kind == "adoption_agreement":
        story.append(Paragraph(escape(w["aa_intro"]), body))
    elif kind == "summary_plan_description":
        story += [Paragraph(escape(w["spd_intro"]), body), Paragraph(escape(w["spd_rights"]), body)]
    elif kind == "safe_harbor_notice":
        story += [Paragraph(escape(w["notice_intro"].format(start=templates.long_date(notice["start"], language),
                                                           end=templates.long_date(notice["end"], language))), body),
                  Paragraph(escape(w["notice_deadline"].format(
                      deadline=templates.long_date(notice["deadline"], language),
                      opens=templates.long_date(notice["opens"], language))), body),
                  Paragraph(escape(w["notice_change"]), body)]
    if amendment:
        story.append(Paragraph(escape(w["h_amendment"]), heading))
        story.append(Paragraph(escape(w["amendment"].format(
            day=templates.long_date(amendment["effective_on"], language))), body))
        story += [Paragraph(escape(f"• {templates.provision_label(key, language)}"), body)
                  for key in amendment["changes"]]
    for section, lines in templates.provision_lines(provisions, language):
        if section:
            story.append(Paragraph(escape(section), heading))
        story += [Paragraph(escape(line), body) for line in lines]
    if signature:
        story += [PageBreak(), Paragraph(escape(w["h_signature"]), _STYLES["Title"]), Spacer(1, 0.2 * inch),
                  Paragraph(escape(w["signature"].format(**signature)), body),
                  Paragraph(escape(w["consent"]), body), Spacer(1, 0.2 * inch),
                  Paragraph(escape(w["hash"].format(sha=signature["sha256"])), _STYLES["Code"])]
    doc.build(story)
    return out.getvalue()
