"""URLs of administrative unit pages and of the map layers."""

from django.urls import path

from . import views

app_name = "regions"

urlpatterns = [
    path("", views.region_list, name="list"),
    path("map/regions.geojson", views.map_regions, name="map_regions"),
    path("map/units.geojson", views.map_units, name="map_units"),
    path("map/offices.geojson", views.map_offices, name="map_offices"),
    path("map/<str:pcode>/children.geojson", views.map_children, name="map_children"),
    path("<str:pcode>/", views.admin_unit_detail, name="detail"),
]
