"""Forms of the import pages: they only parse; the checks on the file live in services.py."""

from __future__ import annotations

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("File"),
        help_text=_("An IATI 2.03 activity file (XML), or a spreadsheet (XLSX or CSV) with an HXL hashtag row."),
    )
    language = forms.ChoiceField(
        label=_("Language of the messages"), choices=settings.LANGUAGES, initial="fr", required=False
    )


class ImportConfirmForm(forms.Form):
    create_organisations = forms.BooleanField(
        label=_("Create the organisations the portal does not know yet"),
        required=False,
        help_text=_("Without this, activities naming an unknown organisation are skipped and listed."),
    )


class ImportRejectForm(forms.Form):
    reason = forms.CharField(label=_("Reason"), widget=forms.Textarea(attrs={"rows": 3}), max_length=2000)
