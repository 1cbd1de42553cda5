"""Both languages, data included: no English words on the French main pages, no French words on the English ones."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import pytest

from programmes.demo import seed_demo
from programmes.models import Programme, Sector

# Words that only one of the two languages uses (function words and the portal's own vocabulary).
ENGLISH_ONLY = {
    "the",
    "and",
    "with",
    "from",
    "for",
    "of",
    "by",
    "this",
    "your",
    "are",
    "is",
    "has",
    "persons",
    "sub-office",
    "country",
    "active",
    "partners",
}
FRENCH_ONLY = {
    "le",
    "la",
    "les",
    "des",
    "du",
    "et",
    "avec",
    "pour",
    "sur",
    "dans",
    "une",
    "sont",
    "aux",
    "au",
    "personnes",
    "oim",
    "sous-bureau",
    "actifs",
    "partenaires",
    "ue",
    "hcr",
    "onudc",
}
# Proper names and codes that are the same in both languages (lowercase, whole phrases).
ALLOWED = [
    "plan international niger",
    "programme",  # the same word in both languages
]


class _Text(HTMLParser):
    """The words a reader sees: text outside <script>/<style>, plus the labels of controls."""

    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0
        self._marked: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style"):
            self._skip += 1
        if dict(attrs).get("lang"):  # a part marked as written in its own language (a document's title)
            self._marked.append(tag)
            self._skip += 1
        for name, value in attrs:
            if name in ("aria-label", "title", "placeholder", "alt") and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style") and self._skip:
            self._skip -= 1
        if self._marked and self._marked[-1] == tag:
            self._marked.pop()
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


def words_of(html: str) -> set[str]:
    parser = _Text()
    parser.feed(html)
    text = " ".join(parser.parts).lower()
    for phrase in ALLOWED:
        text = text.replace(phrase, " ")
    # The language switch names the other language in its own words.
    text = text.replace("english", " ").replace("français", " ")
    return set(re.findall(r"[a-zà-ÿ][a-zà-ÿ'-]*", text))


@pytest.fixture
def demo(transactional_db):
    from programmes.reference import load_reference_data

    load_reference_data()
    return seed_demo(programmes=12, seed=2026)


def main_pages() -> list[str]:
    programme = Programme.objects.order_by("code").first()
    sector = Sector.objects.get(code="CT")
    return [
        "",
        "programmes/",
        f"programmes/{programme.code}/",
        "partners/",
        "partners/ue/",
        "partners/hcr/",
        "regions/",
        "regions/NE001/",
        "programmes/sectors/",
        f"programmes/sectors/{sector.code}/",
        "reports/",
    ]


@pytest.mark.parametrize(("language", "foreign"), [("fr", ENGLISH_ONLY), ("en", FRENCH_ONLY)])
def test_main_pages_speak_only_their_language(client, demo, language, foreign):
    from partners.models import User

    client.force_login(User.objects.get(username="staff"))
    found = {}
    for path in main_pages():
        response = client.get(f"/{language}/{path}")
        assert response.status_code == 200, path
        words = words_of(response.content.decode()) & foreign
        if words:
            found[path] = sorted(words)
    assert found == {}


def test_the_admin_is_french_through_and_through_audit_log_included(client, admin_user, programme_a):
    from django.conf import settings

    client.force_login(admin_user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "fr"
    index = client.get("/admin/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    assert "Journal d&#x27;audit" in index or "Journal d'audit" in index
    assert "Audit log" not in index and "Tâches périodiques" in index
    log = client.get("/admin/auditlog/logentry/", HTTP_ACCEPT_LANGUAGE="fr").content.decode()
    for english in ("Resource", "Correlation ID", " changes: ", " change: ", ">create<"):
        assert english not in log, english
    assert "modifications :" in log or "modification :" in log
