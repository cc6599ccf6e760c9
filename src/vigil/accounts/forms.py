from django.contrib.auth.forms import AuthenticationForm


class LoginForm(AuthenticationForm):
    """Django's form; django-axes needs the request, which AuthenticationForm passes on."""
