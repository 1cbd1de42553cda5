"""Root URLs: HTML pages under /fr/ and /en/, the admin, the API and the health check."""

from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from programmes import place_urls
from programmes import urls as programme_urls
from regions import urls as region_urls
from reports import urls as report_urls

from . import admin_i18n, api, views

admin.site.site_header = "OIM Niger — administration / IOM Niger administration"
admin.site.site_title = "OIM Niger"
admin.site.index_title = "Portail des programmes / Programme portal"
# The app list stays on the admin index; without the side bar, lists and forms fit a 1,366 px screen.
admin.site.enable_nav_sidebar = False
admin_i18n.register()

urlpatterns = [
    path("", views.root_redirect, name="root"),
    path("healthz", views.healthz, name="healthz"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
    path("api/v1/", include(api.api_urls())),
    *api.docs_urls(),
]
if settings.BENCH_FLOOR:  # the benchmark harness's minimal views, see bench/web.py and bench/api.py
    urlpatterns.append(path("bench/floor.json", api.bench_floor, name="bench-floor-json"))
    urlpatterns.append(path("bench/floor", views.bench_floor, name="bench_floor"))

urlpatterns += i18n_patterns(
    path("", views.dashboard, name="dashboard"),
    path("accounts/tokens/", include("partners.tokens")),
    path("accounts/", include("django.contrib.auth.urls")),
    # The programme list's CSV is written from the report builders' records (reports/views.py).
    path("programmes/", include(([*report_urls.programme_list_urls, *programme_urls.urlpatterns], "programmes"))),
    # The namespaces "partners" and "regions" are served by the pages that list programmes, in programmes/.
    path("partners/", include(("programmes.organisation_urls", "partners"))),
    path("regions/", include(([*region_urls.urlpatterns, *place_urls.urlpatterns], "regions"))),
    path("reviews/", include("reviews.urls")),
    path("reports/", include("reports.urls")),
    path("imports/", include("imports.urls")),
    path("obligations/", include("obligations.urls")),
    path("reporting/", include("reporting.urls")),
    prefix_default_language=True,
)

handler400 = "iom_portal.errors.bad_request"
handler403 = "iom_portal.errors.permission_denied"
handler404 = "iom_portal.errors.page_not_found"
handler500 = "iom_portal.errors.server_error"
