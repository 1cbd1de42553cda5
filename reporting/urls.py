"""URLs of the reporting pages (programme codes are upper-case and report ids numbers: no clash)."""

from django.urls import path

from . import views

app_name = "reporting"

urlpatterns = [
    path("", views.report_list, name="list"),
    path("<int:pk>/", views.report_detail, name="detail"),
    path("<int:pk>/decision/", views.report_decide, name="decide"),
    path("programmes/<str:code>/new/", views.report_new, name="new"),
]
