"""Root URLs: HTML pages under /fr/ and /en/, the admin, the API and the health check."""

from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from . import views

admin.site.site_header = "OIM Niger — administration / IOM Niger administration"
admin.site.site_title = "OIM Niger"
admin.site.index_title = "Portail des programmes / Programme portal"

urlpatterns = [
    path("", views.root_redirect, name="root"),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

urlpatterns += i18n_patterns(
    path("", views.dashboard, name="dashboard"),
    path("accounts/", include("django.contrib.auth.urls")),
    path("programmes/", include("programmes.urls")),
    path("partners/", include("partners.urls")),
    path("regions/", include("regions.urls")),
    path("reports/", include("reports.urls")),
    prefix_default_language=True,
)
