"""The notification texts: every one translated into Spanish in the catalog (so a translator's work is complete and
no reader gets a half-English notification), placeholders kept, and money and dates written for the reader."""
import re
from decimal import Decimal
from pathlib import Path

from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from babel.numbers import format_currency

from notifications import templates

ROOT = Path(templates.__file__).parent


def extracted_ids() -> set[str]:
    """The message ids in templates.py as `make messages` extracts them."""
    return {message for _line, message, _comments, _context in
            extract_from_file("python", ROOT / "templates.py", keywords={"_": None})}


def catalog(language: str):
    with (ROOT / "locales" / language / "LC_MESSAGES" / "messages.po").open("rb") as file:
        return read_po(file, locale=language)


def test_every_text_in_the_templates_has_a_spanish_translation_that_keeps_its_placeholders():
    spanish = catalog("es")
    ids = extracted_ids()
    assert ids, "nothing extracted"
    missing = sorted(i for i in ids if not (spanish.get(i) and spanish.get(i).string))
    assert not missing, f"untranslated (run `make messages`, then translate): {missing}"
    fuzzy = sorted(m.id for m in spanish if m.id and m.fuzzy)
    assert not fuzzy, f"fuzzy translations to review: {fuzzy}"
    for message_id in ids:
        placeholders = set(re.findall(r"%\((\w+)\)s", message_id))
        assert set(re.findall(r"%\((\w+)\)s", spanish.get(message_id).string)) == placeholders, message_id


def test_the_committed_template_file_lists_exactly_the_texts_of_the_templates():
    with (ROOT / "locales" / "messages.pot").open("rb") as file:
        pot = {m.id for m in read_po(file) if m.id}
    assert pot == extracted_ids(), "messages.pot is stale: run `make messages`"


def test_money_and_dates_are_written_for_the_reader_from_integer_cents():
    english, spanish = templates.Language("en"), templates.Language("es")
    assert english.money(123456) == spanish.money(123456) == "$1,234.56"
    assert english.money(2**53 + 1) == "$90,071,992,547,409.93"  # a float would say ...409.92
    # The platform's own formatting is what Babel writes for US dollars in both languages.
    for cents in (0, 5, 16615, 123456789, -1230):
        for locale in ("en_US", "es_US"):
            assert english.money(cents) == format_currency(Decimal(cents).scaleb(-2), "USD", locale=locale)
    assert english.date("2026-03-15") == "March 15, 2026"
    assert spanish.date("2026-03-15") == "15 de marzo de 2026"
    assert english.percent("0.065") == "6.5%" and spanish.percent("0.06") == "6%"


def test_a_spanish_reader_gets_the_spanish_texts_and_an_unknown_language_reads_english():
    params = {"pay_run_id": "prn_1", "pay_date": "2026-12-04", "deferral_cents": 16615, "match_cents": 8000}
    spanish = templates.render("contribution_posted", params, "es")
    assert spanish.title == "Aportación registrada"
    assert spanish.feed == ("$166.15 de su pago del 4 de diciembre de 2026 se depositaron en su 401(k), y su "
                            "empleador aportó $80.00.")
    assert templates.render("contribution_posted", params, "fr").title == "Contribution posted"
    assert [templates.language_of(x) for x in ("es-MX", "es_US", "EN", None, "pt-BR")] == ["es", "es", "en", "en", "en"]
