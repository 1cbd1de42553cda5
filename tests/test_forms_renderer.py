"""The project's form renderer builds <select> in Python: the same HTML as Django's own templates."""

import pytest
from django import forms
from django.forms.renderers import DjangoTemplates
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy

from core.forms_renderer import FormRenderer

CHOICES = [
    ("", "---------"),
    ("a", 'Quote " and <tag> & ampersand'),
    (1, gettext_lazy("Funding")),
    ("Régions", [("NE001", "Agadez"), ("NE006", "Tillabéri")]),
    ("safe", mark_safe("<b>already safe</b>")),
]


class Sample(forms.Form):
    one = forms.ChoiceField(choices=CHOICES, required=False)
    many = forms.MultipleChoiceField(choices=CHOICES, required=False)
    typed = forms.TypedChoiceField(choices=[(True, "Yes"), (False, "No")], coerce=bool, required=False)
    plain = forms.ChoiceField(choices=CHOICES, widget=forms.Select(attrs={"class": "form-select", "disabled": True}))


class RadioForm(forms.Form):
    pick = forms.ChoiceField(choices=CHOICES[1:3], widget=forms.RadioSelect)


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"one": "a", "many": ["NE006", "1"], "typed": "False", "plain": "safe"},
        {"one": "NE001", "many": ["a"], "plain": "zzz"},
    ],
)
def test_every_select_is_the_same_html_as_djangos_templates(data):
    for name in Sample.base_fields:
        ours = Sample(data=data or None, renderer=FormRenderer())[name].as_widget()
        django = Sample(data=data or None, renderer=DjangoTemplates())[name].as_widget()
        assert ours == django, name


def test_widgets_with_their_own_option_template_keep_djangos_rendering():
    assert (
        RadioForm(renderer=FormRenderer())["pick"].as_widget()
        == RadioForm(renderer=DjangoTemplates())["pick"].as_widget()
    )


def test_the_project_uses_it(settings):
    from django.forms.renderers import get_default_renderer

    assert settings.FORM_RENDERER == "core.forms_renderer.FormRenderer"
    assert isinstance(get_default_renderer(), FormRenderer)
