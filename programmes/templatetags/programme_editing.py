"""Template helpers of the programme editing pages."""

from django import template
from django.forms import BaseFormSet, Form
from django.utils.translation import gettext_lazy as _

from programmes.models import Programme, StatusStep

register = template.Library()

# What one row of each formset is called, by the last part of its prefix ("indicators-0-values" → values):
# it names the row's group for screen readers ("Partner 2") and the row in the error summary.
ROW_NOUNS = {
    "participations": _("Partner"),
    "locations": _("Place"),
    "recipient_countries": _("Recipient country"),
    "recipient_regions": _("Recipient region"),
    "indicators": _("Indicator"),
    "values": _("Period value"),
}


@register.simple_tag
def status_actions(programme: Programme) -> list[StatusStep]:
    """The next statuses of the programme: the ones a status action takes now, and the others with why not."""
    return programme.status_steps()


@register.simple_tag
def row_noun(formset: BaseFormSet) -> str:
    """'Partner' for a row of the partners' formset; 'Row' for a formset without a name of its own."""
    return str(ROW_NOUNS.get(formset.prefix.rsplit("-", 1)[-1], _("Row")))


@register.simple_tag
def error_summary(form: Form, formsets: dict) -> list[dict]:
    """Every error of a refused edit page, in page order, each with the id of the field it links to."""
    items: list[dict] = []
    _form_errors(form, "", items)
    for formset in formsets.values():
        _formset_errors(formset, "", items)
    return items


def _formset_errors(formset: BaseFormSet, context: str, items: list[dict]) -> None:
    noun = row_noun(formset)
    for message in formset.non_form_errors():
        items.append({"target": f"{formset.prefix}-set", "label": context.rstrip(" ·"), "message": message})
    for number, row in enumerate(formset.forms, start=1):
        row_context = f"{context}{noun} {number} · "
        _form_errors(row, row_context, items)
        nested = getattr(row, "values", None)
        if isinstance(nested, BaseFormSet):
            _formset_errors(nested, row_context, items)


def _form_errors(form: Form, context: str, items: list[dict]) -> None:
    visible = form.visible_fields()
    for name, messages in form.errors.items():
        field = form[name] if name in form.fields and not form[name].is_hidden else None
        target = field or (visible[0] if visible else None)
        if target is None:
            continue
        if field is not None:
            label = f"{context}{field.label}"
        elif not context:
            continue  # the programme's own non-field and version errors are shown above the form already
        else:
            label = context.rstrip(" ·")
        for message in messages:
            items.append({"target": target.id_for_label, "label": label, "message": message})
