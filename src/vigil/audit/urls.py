from django.urls import path

from vigil.audit import views

app_name = "audit"
urlpatterns = [
    path("participants/<int:pk>/access-log", views.participant_log, name="participant"),
]
