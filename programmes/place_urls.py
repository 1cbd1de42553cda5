"""URLs of the place pages and of the map layers with counts, included by iom_portal/urls.py with
regions/urls.py under the namespace "regions"."""

from django.urls import path

from . import place_views as views

urlpatterns = [
    path("", views.region_list, name="list"),
    path("map/regions.geojson", views.map_regions, name="map_regions"),
    path("map/<str:pcode>/children.geojson", views.map_children, name="map_children"),
    path("<str:pcode>/", views.admin_unit_detail, name="detail"),
]
