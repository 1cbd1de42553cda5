"""URLs of the map layers that need no programme knowledge; iom_portal/urls.py includes them with
programmes/place_urls.py under the namespace "regions"."""

from django.urls import path

from . import views

urlpatterns = [
    path("map/units.geojson", views.map_units, name="map_units"),
    path("map/offices.geojson", views.map_offices, name="map_offices"),
]
