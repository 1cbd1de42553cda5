"""The French catalogue is complete: no untranslated or fuzzy message, and the compiled file is current."""

from pathlib import Path

import polib

LOCALE = Path(__file__).resolve().parent.parent / "locale"
FRENCH = LOCALE / "fr" / "LC_MESSAGES" / "django.po"


def untranslated(po: polib.POFile) -> list[str]:
    missing = []
    for entry in po:
        if entry.obsolete:
            continue
        if entry.fuzzy:
            missing.append(f"fuzzy: {entry.msgid!r}")
        elif entry.msgid_plural:
            if not entry.msgstr_plural or not all(entry.msgstr_plural.values()):
                missing.append(f"plural: {entry.msgid!r}")
        elif not entry.msgstr:
            missing.append(entry.msgid)
    return missing


def test_every_french_message_is_translated_and_none_is_fuzzy():
    assert untranslated(polib.pofile(str(FRENCH))) == []


def test_the_check_catches_an_untranslated_and_a_fuzzy_message():
    po = polib.POFile()
    po.append(polib.POEntry(msgid="Hello", msgstr=""))
    po.append(polib.POEntry(msgid="Bye", msgstr="Au revoir", flags=["fuzzy"]))
    po.append(polib.POEntry(msgid="One", msgid_plural="Many", msgstr_plural={0: "Un", 1: ""}))
    assert len(untranslated(po)) == 3


def test_the_compiled_french_catalogue_matches_the_sources():
    compiled = polib.mofile(str(FRENCH.with_suffix(".mo")))
    translations = {entry.msgid: entry.msgstr for entry in compiled}
    for entry in polib.pofile(str(FRENCH)).translated_entries():
        if not entry.msgid_plural and not entry.msgctxt:
            assert translations.get(entry.msgid) == entry.msgstr, entry.msgid
