"""URLs of partner organisation pages, included by iom_portal/urls.py under the namespace "partners"."""

from django.urls import path

from . import organisation_views as views

urlpatterns = [
    path("", views.organisation_list, name="list"),
    path("<slug:code>/", views.organisation_detail, name="detail"),
]
