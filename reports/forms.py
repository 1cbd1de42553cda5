"""The report request form; the programme filters come from programmes.filters.ProgrammeFilter."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _

from .models import ReportType


class ReportRequestForm(forms.Form):
    type = forms.ChoiceField(label=_("Report"), choices=ReportType.choices)
    language = forms.ChoiceField(label=_("Language of the report"), choices=settings.LANGUAGES)
    # A fresh token per displayed form: submitting the same form twice gives the same job.
    idempotency_key = forms.CharField(required=False, max_length=64, widget=forms.HiddenInput)
    programme = forms.CharField(
        label=_("Programme code (factsheet only)"),
        required=False,
        max_length=32,
        help_text=_("The factsheet covers one programme; the other reports use the filters below."),
    )

    def clean(self) -> dict:
        data = super().clean()
        if data.get("type") == ReportType.FACTSHEET_PDF and not data.get("programme"):
            self.add_error("programme", _("A factsheet is about one programme: give its code."))
        return data
