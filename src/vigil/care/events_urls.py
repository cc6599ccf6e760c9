"""Overdose and medical events, and the paper sheets for when the system is down."""

from django.urls import path

from vigil.care import event_views as views

urlpatterns = [
    path("sites/<int:site_id>/events/", views.event_list, name="event-list"),
    path("sites/<int:site_id>/events/new", views.event_new, name="event-new"),
    path("alarms/<int:pk>/event", views.event_from_alarm, name="event-from-alarm"),
    path("events/<int:pk>/", views.event_detail, name="event-detail"),
    path("events/<int:pk>/amend", views.event_amend, name="event-amend"),
    path("events/<int:pk>/print", views.event_print, name="event-print"),
    path("sites/<int:site_id>/downtime/floor", views.downtime_floor, name="downtime-floor"),
    path(
        "sites/<int:site_id>/downtime/overdose", views.downtime_overdose, name="downtime-overdose"
    ),
]
