from django.urls import path

from vigil.accounts import views

urlpatterns = [
    path("login/", views.LoginView.as_view(), name="login"),
    path("logout/", views.LogoutView.as_view(), name="logout"),
    path("login/code", views.two_factor, name="two-factor"),
    path("login/enrol", views.two_factor_enrol, name="two-factor-enrol"),
    path("account/", views.account, name="account"),
    path("account/pin", views.account_pin, name="account-pin"),
    path("account/backup-codes", views.backup_codes, name="backup-codes"),
    path("account/confirm", views.reauth, name="reauth"),
    path("screens/", views.screens, name="screens"),
    path("screens/register", views.screen_register, name="screen-register"),
    path("screens/<int:pk>/revoke", views.screen_revoke, name="screen-revoke"),
    path("screen/unlock", views.screen_unlock, name="screen-unlock"),
    path("screen/lock", views.screen_lock, name="screen-lock"),
]
