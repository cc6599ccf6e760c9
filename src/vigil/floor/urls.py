from django.urls import path

from vigil.floor import views

app_name = "floor"
urlpatterns = [
    path("sites/<int:site_id>/floor/", views.board_page, name="board"),
    path("sites/<int:site_id>/floor/board", views.board_fragment, name="board-fragment"),
    path("sites/<int:site_id>/floor/events", views.board_events, name="events"),
    path("sites/<int:site_id>/floor/assign", views.assign, name="assign"),
    path("sites/<int:site_id>/floor/check", views.check, name="check"),
    path("sites/<int:site_id>/floor/aftercare", views.aftercare, name="aftercare"),
    path("sites/<int:site_id>/floor/end", views.end, name="end"),
    path("sites/<int:site_id>/desk/", views.desk, name="desk"),
    path("sites/<int:site_id>/desk/register", views.register, name="register"),
    path("sites/<int:site_id>/desk/<int:participant_id>/", views.intake, name="intake"),
]
