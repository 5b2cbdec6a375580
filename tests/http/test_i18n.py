"""Every user-facing message is Chinese at the source and has an English translation."""

from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from tests.support.paths import ROOT

KEYWORDS = {"_": None, "gettext": None, "_l": None, "lazy_gettext": None}
METHODS = [("service/**.py", "python"), ("service/**/templates/**.html", "jinja2")]


def _source_messages() -> set[str]:
    return {msg for _f, _l, msg, _c, _ctx in extract_from_dir(str(ROOT), METHODS, keywords=KEYWORDS)}


def test_every_message_is_chinese_and_translated_to_english():
    with open(ROOT / "service/translations/en/LC_MESSAGES/messages.po", "rb") as f:
        catalog = read_po(f)
    translated = {m.id: m.string for m in catalog if m.id and m.string and not m.fuzzy}
    source = _source_messages()
    assert len(source) > 50
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in m) for m in source)
    untranslated = sorted(source - set(translated))
    assert untranslated == [], "run `make messages` and translate these"


def test_language_switch_is_remembered(client):
    page = client.get("/report?lang=en")
    assert b"Send report" in page.data and 'lang="en"' in page.text
    assert "Send report" in client.get("/report").text  # the cookie remembers the choice
    fresh = client.application.test_client()
    assert "提交上报" in fresh.get("/report").text
