"""URLs of the review pages (programme codes are upper-case, so `tasks/` cannot clash)."""

from django.urls import path

from . import views

app_name = "reviews"

urlpatterns = [
    path("tasks/", views.my_tasks, name="tasks"),
    path("assignments/<int:pk>/declaration/", views.declare, name="declare"),
    path("assignments/<int:pk>/review/", views.review, name="review"),
    path("<str:code>/", views.proposal_detail, name="proposal"),
    path("<str:code>/submit/", views.proposal_submit, name="submit"),
    path("<str:code>/resubmit/", views.proposal_resubmit, name="resubmit"),
    path("<str:code>/budget/", views.budget_lines, name="budget"),
    path("<str:code>/reviewers/", views.assign_reviewers, name="assign"),
    path("<str:code>/decision/", views.decide, name="decide"),
]
