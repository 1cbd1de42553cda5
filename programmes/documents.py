"""Programme and sector documents: checked uploads and permission-checked downloads."""

from __future__ import annotations

import zipfile

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods, require_safe

from partners.models import Organisation

from .editing import edit_rights_required
from .models import Document
from .services import ProgrammeLocked
from .services import document_add as add_document
from .views import get_programme_for_user

PDF = "application/pdf"
PNG = "image/png"
JPEG = "image/jpeg"
OOXML = {
    "word/": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xl/": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "ppt/": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
}
ODF = {
    "application/vnd.oasis.opendocument.text",
    "application/vnd.oasis.opendocument.spreadsheet",
}
EXTENSIONS = {
    PDF: ".pdf",
    PNG: ".png",
    JPEG: ".jpg",
    OOXML["word/"]: ".docx",
    OOXML["xl/"]: ".xlsx",
    OOXML["ppt/"]: ".pptx",
    "application/vnd.oasis.opendocument.text": ".odt",
    "application/vnd.oasis.opendocument.spreadsheet": ".ods",
}


def sniff_content_type(upload: UploadedFile) -> str | None:
    """The file's real type from its first bytes and structure, whatever its name says."""
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if head.startswith(b"%PDF-"):
        return PDF
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head.startswith(b"PK\x03\x04"):
        try:
            with zipfile.ZipFile(upload) as archive:
                names = archive.namelist()
                if "mimetype" in names:
                    declared = archive.read("mimetype").decode("ascii", "replace").strip()
                    return declared if declared in ODF else None
                if "[Content_Types].xml" in names:
                    for prefix, content_type in OOXML.items():
                        if any(name.startswith(prefix) for name in names):
                            return content_type
        except (zipfile.BadZipFile, OSError, ValueError):
            return None
        finally:
            upload.seek(0)
    return None


def validate_document_file(upload: UploadedFile) -> str:
    """Return the sniffed content type, or raise a translated ValidationError."""
    if upload.size > settings.DOCUMENT_MAX_UPLOAD_BYTES:
        raise ValidationError(
            _("The file is too large (%(size)s); the limit is %(limit)s.")
            % {"size": filesizeformat(upload.size), "limit": filesizeformat(settings.DOCUMENT_MAX_UPLOAD_BYTES)},
            code="too_large",
        )
    content_type = sniff_content_type(upload)
    if content_type is None:
        raise ValidationError(
            _(
                "This type of file is not accepted. Upload a PDF, a Word, Excel, PowerPoint or OpenDocument file, or a PNG or JPEG image."
            ),
            code="file_type",
        )
    return content_type


class DocumentForm(forms.ModelForm):
    class Meta:
        model = Document
        fields = ["title", "category", "visibility", "issuing_organisation", "file"]
        help_texts = {"file": gettext_lazy("PDF, Word, Excel, PowerPoint, OpenDocument, PNG or JPEG.")}

    def __init__(self, *args, user, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.fields["issuing_organisation"].queryset = Organisation.objects.visible_to(user)
        self.fields["file"].required = True  # a programme's document is a file; links are for sector references

    def clean_file(self):
        upload = self.cleaned_data["file"]
        self.sniffed_type = validate_document_file(upload)
        return upload


@edit_rights_required
@require_http_methods(["GET", "HEAD", "POST"])
def document_upload(request: HttpRequest, code: str) -> HttpResponse:
    programme = get_programme_for_user(request.user, code)
    if programme.is_locked_for_review:
        messages.error(request, ProgrammeLocked().message)
        return redirect(programme)
    form = DocumentForm(request.POST or None, request.FILES or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        document = form.save(commit=False)
        document.original_filename = request.FILES["file"].name[:255]
        document.content_type = form.sniffed_type
        document.size = request.FILES["file"].size
        try:
            add_document(programme=programme, user=request.user, document=document)
        except ProgrammeLocked as locked:  # put under review while the page was open
            messages.error(request, locked.message)
            return redirect(programme)
        except ValidationError as refused:
            form.add_error(None, refused)
        else:
            messages.success(request, _("Document “%(title)s” added.") % {"title": document.title})
            return redirect(programme)
    status = 400 if request.method == "POST" else 200
    return render(request, "programmes/document_form.html", {"form": form, "programme": programme}, status=status)


@login_required
@require_safe
def document_download(request: HttpRequest, pk: int) -> FileResponse:
    """Serve a document as an attachment, only to users who may see it (404 otherwise)."""
    document = get_object_or_404(
        Document.objects.visible_to(request.user).filter(Q(programme__isnull=False) | Q(sector__isnull=False)), pk=pk
    )
    try:
        handle = document.file.open("rb")
    except (FileNotFoundError, ValueError) as missing:
        raise Http404 from missing
    filename = document.original_filename or f"document-{document.pk}{EXTENSIONS.get(document.content_type, '')}"
    return FileResponse(
        handle, as_attachment=True, filename=filename, content_type=document.content_type or "application/octet-stream"
    )
