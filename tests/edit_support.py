"""Helpers of the editing tests: read a form the way a browser submits it, find a field's error."""

from __future__ import annotations

import html
import re
from html.parser import HTMLParser


class _FormReader(HTMLParser):
    """Collects the name/value pairs a browser would post for the page's main form (no <template>s)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.pairs: list[tuple[str, str]] = []
        self.in_template = 0
        self.in_form = False
        self.select: str | None = None
        self.select_multiple = False
        self.select_has_selected = False
        self.first_option: str | None = None
        self.textarea: str | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "template":
            self.in_template += 1
        if self.in_template:
            return
        if tag == "form" and a.get("id") == "programme-form":
            self.in_form = True
        if not self.in_form:
            return
        if tag == "input" and a.get("name") and "disabled" not in a:
            kind = a.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in a:
                    self.pairs.append((a["name"], a.get("value", "on")))
            elif kind not in ("submit", "button"):
                self.pairs.append((a["name"], a.get("value", "")))
        elif tag == "select" and "disabled" not in a:
            self.select, self.select_has_selected, self.first_option = a.get("name"), False, None
            self.select_multiple = "multiple" in a
        elif tag == "option" and self.select:
            value = a.get("value", "")
            if self.first_option is None:
                self.first_option = value
            if "selected" in a:
                self.pairs.append((self.select, value))
                self.select_has_selected = True
        elif tag == "textarea":
            self.textarea, self.text = a.get("name"), []

    def handle_endtag(self, tag):
        if tag == "template":
            self.in_template -= 1
        if self.in_template or not self.in_form:
            return
        if tag == "form":
            self.in_form = False
        elif tag == "select" and self.select:
            if not self.select_has_selected and self.first_option is not None and not self.select_multiple:
                self.pairs.append((self.select, self.first_option))
            self.select = None
        elif tag == "textarea" and self.textarea:
            self.pairs.append((self.textarea, "".join(self.text).removeprefix("\n")))
            self.textarea = None

    def handle_data(self, data):
        if self.textarea:
            self.text.append(data)


def form_data(page: str) -> dict[str, list[str] | str]:
    """The programme form's current values, ready for `client.post` (multi-valued names as lists)."""
    reader = _FormReader()
    reader.feed(page)
    data: dict[str, list[str]] = {}
    for name, value in reader.pairs:
        data.setdefault(name, []).append(value)
    data.pop("csrfmiddlewaretoken", None)
    return {k: v if len(v) > 1 or k == "secondary_sectors" else v[0] for k, v in data.items()}


def field_errors(page: str, auto_id: str) -> list[str]:
    """The error texts crispy-forms shows right under the field with this id."""
    found = re.findall(rf'id="error_\d+_{re.escape(auto_id)}"[^>]*>\s*<strong>(.*?)</strong>', page, re.S)
    return [html.unescape(e).strip() for e in found]


def set_management(data: dict, prefix: str, total: int) -> None:
    data[f"{prefix}-TOTAL_FORMS"] = str(total)
