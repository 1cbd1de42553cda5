"""URLs of programme and sector pages."""

from django.urls import path

from . import documents, views

app_name = "programmes"

urlpatterns = [
    path("", views.programme_list, name="list"),
    path("sectors/", views.sector_list, name="sector_list"),
    path("sectors/<str:code>/", views.sector_detail, name="sector_detail"),
    path("documents/<int:pk>/download/", documents.document_download, name="document_download"),
    path("<str:code>/documents/new/", documents.document_upload, name="document_upload"),
    path("<str:code>/", views.programme_detail, name="detail"),
]
