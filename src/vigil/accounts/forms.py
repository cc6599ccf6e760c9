from django import forms
from django.contrib.auth.forms import AuthenticationForm
from django.utils.translation import gettext_lazy as _

from vigil.accounts.actions import pin_problem


class LoginForm(AuthenticationForm):
    """Django's form; django-axes needs the request, which AuthenticationForm passes on."""


class CodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code"),
        max_length=20,
        help_text=_("The 6 digits your authenticator app shows, or one of your backup codes."),
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "autocapitalize": "none", "autofocus": True}
        ),
    )


class ConfirmCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the app"),
        max_length=8,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )

    def clean_code(self):
        code = self.cleaned_data["code"].replace(" ", "")
        if not (code.isdigit() and len(code) == 6):
            raise forms.ValidationError(_("The app shows 6 digits."))
        return code


class ReauthForm(CodeForm):
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password", "autofocus": True}),
    )
    field_order = ["password", "code"]

    def __init__(self, *args, with_code: bool = True, **kwargs):
        super().__init__(*args, **kwargs)
        if not with_code:
            del self.fields["code"]


class PinForm(forms.Form):
    pin = forms.CharField(
        label=_("New PIN (4 to 6 digits)"),
        max_length=6,
        widget=forms.PasswordInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    again = forms.CharField(
        label=_("The same PIN again"),
        max_length=6,
        widget=forms.PasswordInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )

    def clean(self):
        data = super().clean() or {}
        pin, again = data.get("pin", ""), data.get("again", "")
        if pin and again and pin != again:
            raise forms.ValidationError(_("The two PINs differ."))
        problem = pin_problem(pin) if pin else ""
        if problem:
            raise forms.ValidationError(problem)
        return data


class UnlockForm(forms.Form):
    staff = forms.TypedChoiceField(label=_("Who are you?"), coerce=int)
    pin = forms.CharField(
        label=_("PIN"),
        max_length=6,
        widget=forms.PasswordInput(
            attrs={"inputmode": "numeric", "autocomplete": "off", "autofocus": True}
        ),
    )

    def __init__(self, *args, people=(), **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["staff"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(p.pk, p.display_name) for p in people]


class ScreenForm(forms.Form):
    site = forms.TypedChoiceField(label=_("Site"), coerce=int)
    name = forms.CharField(
        label=_("Name of this screen"),
        max_length=60,
        help_text=_("Where it is, e.g. “Nurse station” or “Wall by B1–B5”."),
    )

    def __init__(self, *args, sites=(), **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["site"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(s.pk, s.name) for s in sites]
