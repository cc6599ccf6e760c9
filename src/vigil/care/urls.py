from django.urls import include, path

app_name = "care"
urlpatterns = [
    path("", include("vigil.care.events_urls")),
    path("", include("vigil.care.engagement_urls")),
]
