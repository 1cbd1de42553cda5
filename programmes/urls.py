"""URLs of programme and sector pages."""

from django.urls import path

from . import documents, editing, sector_documents, views

app_name = "programmes"

urlpatterns = [
    path("", views.programme_list, name="list"),
    path("new/", editing.programme_create, name="create"),
    path("places/", editing.place_search, name="places"),
    path("sectors/", views.sector_list, name="sector_list"),
    path("sectors/<str:code>/", views.sector_detail, name="sector_detail"),
    path("sectors/<str:code>/documents/new/", sector_documents.sector_document_new, name="sector_document_new"),
    path(
        "sectors/<str:code>/documents/<int:pk>/replace/",
        sector_documents.sector_document_replace,
        name="sector_document_replace",
    ),
    path(
        "sectors/<str:code>/documents/<int:pk>/retire/",
        sector_documents.sector_document_retire_view,
        name="sector_document_retire",
    ),
    path("documents/<int:pk>/download/", documents.document_download, name="document_download"),
    path("<str:code>/documents/new/", documents.document_upload, name="document_upload"),
    path("<str:code>/edit/", editing.programme_edit, name="edit"),
    path("<str:code>/status/", editing.programme_status, name="status"),
    path("<str:code>/agreement/", editing.programme_agreement, name="agreement"),
    path("<str:code>/", views.programme_detail, name="detail"),
]
