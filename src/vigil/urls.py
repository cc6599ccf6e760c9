from django.contrib import admin
from django.urls import include, path

from vigil import views
from vigil.api.api import api

admin.site.site_header = "Vigil administration"
admin.site.site_title = "Vigil"

urlpatterns = [
    path("", views.home, name="home"),
    path("healthz", views.healthz, name="healthz"),
    path("", include("vigil.accounts.urls")),
    path("", include("vigil.floor.urls")),
    path("", include("vigil.participants.urls")),
    path("", include("vigil.monitoring.urls")),
    path("", include("vigil.care.urls")),
    path("", include("vigil.reports.urls")),
    path("", include("vigil.audit.urls")),
    path("", include("vigil.research.urls")),
    path("api/", api.urls),
    path("admin/", admin.site.urls),
]
