"""URLs of the obligation pages."""

from django.urls import path

from . import views

app_name = "obligations"

urlpatterns = [
    path("", views.staff_calendar, name="calendar"),
    path("overdue/", views.overdue_board, name="overdue"),
    path("programmes/<str:code>/", views.programme_calendar, name="programme"),
    path("<int:pk>/waive/", views.waive, name="waive"),
    path("feed/<int:uid>/<str:token>.ics", views.feed, name="feed"),
]
