"""A sector's guidance and standards: staff with edit rights add, replace (a new version) and retire them."""

from __future__ import annotations

from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_POST

from .documents import validate_document_file
from .editing import edit_rights_required
from .models import Document, DocumentCategory, Sector
from .services import sector_document_add, sector_document_retire

SECTOR_CATEGORIES = [DocumentCategory.GUIDANCE, DocumentCategory.STANDARD, DocumentCategory.OTHER]


class SectorDocumentForm(forms.ModelForm):
    link = forms.URLField(
        label=gettext_lazy("Link"),
        max_length=500,
        required=False,
        assume_scheme="https",
        help_text=gettext_lazy("The address of a public document, instead of a file."),
    )

    class Meta:
        model = Document
        fields = ["title", "category", "language", "visibility", "link", "file"]
        help_texts = {"file": gettext_lazy("Or a file: PDF, Word, Excel, PowerPoint, OpenDocument, PNG or JPEG.")}

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["category"].choices = [(c.value, c.label) for c in SECTOR_CATEGORIES]
        self.fields["language"].required = True
        self.sniffed_type = ""

    def clean_file(self):
        upload = self.cleaned_data.get("file")
        if upload:
            self.sniffed_type = validate_document_file(upload)
        return upload


def _sector_document(request: HttpRequest, code: str, *, replaces: Document | None) -> HttpResponse:
    sector = get_object_or_404(Sector, code=code)
    initial = {}
    if replaces is not None:
        initial = {f: getattr(replaces, f) for f in ("title", "category", "language", "visibility")}
    form = SectorDocumentForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        document = form.save(commit=False)
        upload = request.FILES.get("file")
        if upload is not None:
            document.original_filename = upload.name[:255]
            document.content_type = form.sniffed_type
            document.size = upload.size
        try:
            sector_document_add(sector=sector, user=request.user, document=document, replaces=replaces)
        except ValidationError as refused:
            form.add_error(None, refused)
        else:
            messages.success(request, _("Document “%(title)s” saved.") % {"title": document.title})
            return redirect(sector)
    status = 400 if request.method == "POST" else 200
    context = {"form": form, "sector": sector, "replaces": replaces}
    return render(request, "programmes/sector_document_form.html", context, status=status)


@edit_rights_required
@require_http_methods(["GET", "HEAD", "POST"])
def sector_document_new(request: HttpRequest, code: str) -> HttpResponse:
    return _sector_document(request, code, replaces=None)


@edit_rights_required
@require_http_methods(["GET", "HEAD", "POST"])
def sector_document_replace(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    current = get_object_or_404(Document.objects.current(), pk=pk, sector__code=code)
    return _sector_document(request, code, replaces=current)


@edit_rights_required
@require_POST
def sector_document_retire_view(request: HttpRequest, code: str, pk: int) -> HttpResponse:
    document = get_object_or_404(Document.objects.current(), pk=pk, sector__code=code)
    sector_document_retire(document=document, user=request.user)
    messages.success(request, _("Document “%(title)s” retired.") % {"title": document.title})
    return redirect(document.sector)
