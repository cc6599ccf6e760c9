from django.urls import path, re_path

from vigil.reports import views

app_name = "reports"
MONTHLY = r"monthly/(?P<month>[^/.]+)\.(?P<fmt>[a-z]+)$"
urlpatterns = [
    path("reports/", views.index, name="index"),
    path("reports/site/<int:site_id>/", views.site_dashboard, name="site"),
    path(
        "reports/jurisdiction/<int:jurisdiction_id>/",
        views.jurisdiction_dashboard,
        name="jurisdiction",
    ),
    re_path(
        r"^reports/site/(?P<site_id>[0-9]+)/" + MONTHLY, views.site_monthly, name="site-monthly"
    ),
    re_path(
        r"^reports/jurisdiction/(?P<jurisdiction_id>[0-9]+)/" + MONTHLY,
        views.jurisdiction_monthly,
        name="jurisdiction-monthly",
    ),
]
