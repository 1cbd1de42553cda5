"""URLs of the reports pages."""

from django.urls import path

from . import views

app_name = "reports"

urlpatterns = [
    path("", views.report_list, name="list"),
    path("<uuid:uuid>/", views.report_detail, name="detail"),
    path("<uuid:uuid>/status/", views.report_status, name="status"),
    path("<uuid:uuid>/download/", views.report_download, name="download"),
    path("<uuid:uuid>/retry/", views.report_retry, name="retry"),
]

# Served under /programmes/ in the "programmes" namespace (see iom_portal/urls.py).
programme_list_urls = [path("export.csv", views.programme_csv, name="csv")]
