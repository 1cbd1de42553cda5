"""URLs of administrative unit pages."""

from django.urls import path

from . import views

app_name = "regions"

urlpatterns = [
    path("", views.region_list, name="list"),
    path("<str:pcode>/", views.admin_unit_detail, name="detail"),
]
