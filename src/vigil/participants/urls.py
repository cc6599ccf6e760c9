from django.urls import path

from vigil.participants import views

app_name = "participants"
urlpatterns = [
    path("participants/<int:pk>/", views.detail, name="detail"),
    path("participants/<int:pk>/restrict", views.restrict, name="restrict"),
    path("participants/<int:pk>/restrictions/<int:restriction_id>/lift", views.lift, name="lift"),
    path("participants/<int:pk>/merge", views.merge, name="merge"),
]
