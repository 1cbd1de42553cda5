"""Helpers for tests that use the Django admin the way an administrator does."""

from __future__ import annotations

from django.forms import MultiWidget


def posted_form_data(form) -> dict:
    """What the browser posts back for an admin form left as rendered (its initial values)."""
    data = {}
    for name, field in form.fields.items():
        if field.disabled:
            continue
        value = form[name].value()
        if isinstance(field.widget, MultiWidget):
            for index, part in enumerate(field.widget.decompress(value)):
                data[f"{name}_{index}"] = "" if part is None else str(part)
        elif isinstance(value, bool):
            if value:
                data[name] = "on"
        elif isinstance(value, list | tuple):
            data[name] = [str(getattr(v, "pk", v)) for v in value]
        elif value is not None:
            data[name] = str(value)
    return data
