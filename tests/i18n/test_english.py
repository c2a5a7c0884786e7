"""The English UI: every bokmål msgid in the code has an English translation, and pages switch language.

The catalog test extracts the msgids afresh, so a string added without an English translation fails
here by name; run ./scripts/translations, translate the new entries in messages.po, and commit .po and .mo.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.frontend import CommandLineInterface
from babel.messages.mofile import read_mo
from babel.messages.pofile import read_po
from flask.testing import FlaskClient

ROOT = Path(__file__).resolve().parents[2]
CATALOG_DIR = ROOT / "svea_web" / "translations" / "en" / "LC_MESSAGES"
# %(name)s, %s, %d, %% ... and str.format's {0}, {name}.
PLACEHOLDER = re.compile(r"%(?:\(\w+\))?[-#0 +]*\d*(?:\.\d+)?[diouxXeEfFgGcrsa%]|\{\w*\}")


def _key(message: Message) -> str:
    return str(message.id[0] if isinstance(message.id, tuple) else message.id)


def _forms(value: str | tuple[str, ...] | list[str] | None) -> tuple[str, ...]:
    if value is None:
        return ()
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


@pytest.fixture(scope="module")
def fresh_template(tmp_path_factory: pytest.TempPathFactory) -> Catalog:
    """The msgids as the code and templates have them now (the same extraction as scripts/translations)."""
    pot = tmp_path_factory.mktemp("i18n") / "messages.pot"
    CommandLineInterface().run(
        ["pybabel", "-q", "extract", "-F", str(ROOT / "babel.cfg"), "-k", "_l", "-k", "lazy_gettext", "-k", "_t"]
        + ["--no-location", "-o", str(pot), str(ROOT)]
    )
    with pot.open("rb") as fh:
        template = read_po(fh)
    assert len(template) > 100, "the extraction found hardly any strings; is babel.cfg still at the repo root?"
    return template


@pytest.fixture(scope="module")
def english() -> Catalog:
    with (CATALOG_DIR / "messages.po").open("rb") as fh:
        return read_po(fh, locale="en")


def test_every_string_in_the_code_has_an_english_translation(fresh_template: Catalog, english: Catalog) -> None:
    untranslated = []
    for message in fresh_template:
        if not message.id:
            continue
        entry = english.get(message.id)
        if entry is None or entry.fuzzy or not all(_forms(entry.string) or ("",)):
            untranslated.append(_key(message))
    assert not untranslated, (
        f"{len(untranslated)} msgid(s) without an English translation; run ./scripts/translations "
        "and translate them in svea_web/translations/en/LC_MESSAGES/messages.po:\n" + "\n".join(untranslated)
    )


def test_plural_strings_have_both_english_forms(fresh_template: Catalog, english: Catalog) -> None:
    wrong = []
    for message in fresh_template:
        entry = english.get(message.id) if message.id else None
        if entry is not None and message.pluralizable and len(_forms(entry.string)) != 2:
            wrong.append(_key(message))
    assert not wrong, "plural entries need msgstr[0] and msgstr[1]:\n" + "\n".join(wrong)


def test_no_translation_is_the_norwegian_text_copied(english: Catalog) -> None:
    # Strings that read the same in both languages: names, codes, and words English borrowed.
    same_in_english = {
        *("KID", "Svea", "OCR giro", "camt.054"),
        *("Status", "Status:", "Type", "Person", "Import", "Filter", "Post", "Send"),
    }
    copied = [
        _key(m)
        for m in english
        if m.id and _forms(m.id) == _forms(m.string) and PLACEHOLDER.sub("", _key(m)).strip(" :,.()%")
    ]
    assert sorted(set(copied) - same_in_english) == []


def test_placeholders_match_between_norwegian_and_english(english: Catalog) -> None:
    mismatched = []
    for message in english:
        if not message.id:
            continue
        ids = _forms(message.id)
        for i, text in enumerate(_forms(message.string)):
            source = ids[min(i, len(ids) - 1)]
            if sorted(PLACEHOLDER.findall(source)) != sorted(PLACEHOLDER.findall(text)):
                mismatched.append(f"{source!r} -> {text!r}")
    assert not mismatched, "placeholders differ:\n" + "\n".join(mismatched)


def test_committed_mo_is_compiled_from_the_po(english: Catalog) -> None:
    with (CATALOG_DIR / "messages.mo").open("rb") as fh:
        compiled = read_mo(fh)
    stale = []
    for message in english:
        if not message.id or message.fuzzy:
            continue
        built = compiled.get(message.id)
        if built is None or _forms(built.string) != _forms(message.string):
            stale.append(_key(message))
    assert not stale, "messages.mo is older than messages.po; run ./scripts/translations:\n" + "\n".join(stale)


def _switch_to_english(client: FlaskClient) -> None:
    response = client.post("/language/en")
    assert response.status_code == 302


def test_bokmaal_is_the_default_and_english_is_one_click_away(logged_in: FlaskClient) -> None:
    html = logged_in.get("/ledger/posts").get_data(as_text=True)
    assert '<html lang="nb">' in html
    assert "Kundeposter" in html and "Customer posts" not in html
    assert ">Oversikt</a>" in html and ">Inkassosaker</a>" in html
    assert ">English</button>" in html

    _switch_to_english(logged_in)
    logged_in.post("/language/nb")
    html = logged_in.get("/ledger/posts").get_data(as_text=True)
    assert "Kundeposter" in html and "Customer posts" not in html


# (page, English text shown there, its bokmål msgid that must then be gone)
ENGLISH_PAGES = [
    ("/ledger/posts", "Customer posts", "Kundeposter"),
    ("/overview/", "Where is the overdue money?", "Hvor er de forfalte pengene?"),
    ("/collection/", "Choose a case under Open cases or Archived cases", "Velg en sak under"),
    ("/dunning/", "View and set reminder pauses", "Se og sett purrestopp"),
    ("/payments/", "Import file", "Importer fil"),
    # Also the setup problems written by setup.services' _t() helper, not only template text.
    ("/settings/svea", "Svea setup is missing", "Oppsett Svea"),
    ("/no-such-page", "Page not found", "Finner ikke siden"),
]


def test_pages_and_menu_show_in_english_after_switching(logged_in: FlaskClient) -> None:
    _switch_to_english(logged_in)
    html = logged_in.get("/ledger/posts").get_data(as_text=True)
    assert '<html lang="en">' in html
    for label in ("Overview", "Ledger", "Customers", "Reminders", "Collection cases", "Payments", "Settings"):
        assert f">{label}</a>" in html, label
    assert "Log out" in html and "Logg ut" not in html
    assert ">Norsk</button>" in html
    for path, english_text, norwegian_text in ENGLISH_PAGES:
        html = logged_in.get(path).get_data(as_text=True)
        assert english_text in html, path
        assert norwegian_text not in html, path


def test_login_page_speaks_english_before_logging_in(client: FlaskClient) -> None:
    _switch_to_english(client)
    html = client.get("/login").get_data(as_text=True)
    assert "Password" in html and "Passord" not in html
