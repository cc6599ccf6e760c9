from django.contrib.auth import views as auth_views

from vigil.accounts.forms import LoginForm
from vigil.accounts.middleware import public


@public
class LoginView(auth_views.LoginView):
    template_name = "accounts/login.html"
    authentication_form = LoginForm
    redirect_authenticated_user = True


@public
class LogoutView(auth_views.LogoutView):
    pass
