"""URLs of programme and sector pages."""

from django.urls import path

from . import views

app_name = "programmes"

urlpatterns = [
    path("", views.programme_list, name="list"),
    path("export.csv", views.programme_csv, name="csv"),
    path("sectors/", views.sector_list, name="sector_list"),
    path("sectors/<str:code>/", views.sector_detail, name="sector_detail"),
    path("<str:code>/", views.programme_detail, name="detail"),
]
