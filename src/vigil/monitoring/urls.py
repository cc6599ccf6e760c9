from django.urls import path

from vigil.monitoring import views

app_name = "monitoring"
urlpatterns = [
    path("sites/<int:site_id>/alarms/", views.panel, name="panel"),
    path("alarms/<int:pk>/acknowledge", views.acknowledge, name="acknowledge"),
    path("alarms/<int:pk>/claim", views.claim, name="claim"),
    path("alarms/<int:pk>/resolve", views.resolve, name="resolve"),
]
