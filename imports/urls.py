"""URLs of the import pages."""

from django.urls import path

from . import views

app_name = "imports"

urlpatterns = [
    path("", views.import_list, name="list"),
    path("template.xlsx", views.import_template, name="template"),
    path("<uuid:uuid>/", views.import_detail, name="detail"),
    path("<uuid:uuid>/status/", views.import_status, name="status"),
    path("<uuid:uuid>/confirm/", views.import_confirm, name="confirm"),
    path("<uuid:uuid>/reject/", views.import_reject, name="reject"),
]
