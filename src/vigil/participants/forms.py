from django import forms
from django.utils.translation import gettext_lazy as _

from vigil.lib.codes import CodeError, CodeItems
from vigil.participants.models import AgeBand, Gender, Housing, RestrictionReason


class CodeItemsForm(forms.Form):
    """The self-reported items that make up the participant code. Nothing here is stored."""

    mother_first_name = forms.CharField(
        label=_("First two letters of mother's first name"),
        max_length=40,
        required=False,
        help_text=_("Leave empty if unknown."),
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )
    birth_day = forms.IntegerField(
        label=_("Day of the month of birth"),
        min_value=1,
        max_value=31,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    birth_year = forms.IntegerField(
        label=_("Year of birth"),
        min_value=1900,
        max_value=2100,
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric", "autocomplete": "off"}),
    )
    code_gender = forms.ChoiceField(
        label=_("Gender (for the code)"),
        choices=[("W", _("Woman")), ("M", _("Man")), ("X", _("Another / not said"))],
        widget=forms.RadioSelect,
    )
    birthplace = forms.CharField(
        label=_("First letter of town or country of birth"),
        max_length=40,
        required=False,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters"}),
    )

    def clean(self):
        data = super().clean() or {}
        if self.errors:
            return data
        items = CodeItems(
            mother_first_name=data.get("mother_first_name") or "",
            birth_day=data.get("birth_day"),
            birth_year=data.get("birth_year"),
            gender=data.get("code_gender") or "X",
            birthplace=data.get("birthplace") or "",
        )
        try:
            items.code()
        except CodeError as exc:
            raise forms.ValidationError(str(exc)) from exc
        if items.code().count("9") >= 6:
            raise forms.ValidationError(
                _(
                    "Too few items are known to make a code that finds this person again. "
                    "Ask at least the day and year of birth or the mother's first name."
                )
            )
        data["items"] = items
        return data


class RegisterForm(CodeItemsForm):
    alias = forms.CharField(
        label=_("Alias"),
        max_length=40,
        required=False,
        help_text=_(
            "A nickname the person chooses. Leave empty to generate one. Never a legal name."
        ),
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
    age_band = forms.ChoiceField(
        label=_("Age band"), choices=[("", "—"), *AgeBand.choices], required=False
    )
    gender = forms.ChoiceField(
        label=_("Gender"), choices=[("", "—"), *Gender.choices], required=False
    )
    housing = forms.ChoiceField(
        label=_("Housing"), choices=[("", "—"), *Housing.choices], required=False
    )
    language = forms.CharField(label=_("Preferred language"), max_length=40, required=False)
    oriented = forms.BooleanField(
        label=_("Orientation given and consent to records recorded"),
        required=False,
    )
    CODE_FIELDS = ["mother_first_name", "birth_day", "birth_year", "code_gender", "birthplace"]
    PROFILE_FIELDS = ["alias", "age_band", "gender", "housing", "language", "oriented"]

    def code_fields(self):
        return [self[name] for name in self.CODE_FIELDS]

    def profile_fields(self):
        return [self[name] for name in self.PROFILE_FIELDS]

    different_person = forms.BooleanField(
        label=_("This is a different person from the one(s) with the same code"),
        required=False,
        widget=forms.HiddenInput,
    )


class RestrictionForm(forms.Form):
    reason = forms.ChoiceField(label=_("Reason"), choices=RestrictionReason.choices)
    hours = forms.IntegerField(label=_("Hours"), min_value=1, max_value=24 * 365, initial=24)
    all_sites = forms.BooleanField(label=_("At every site of the jurisdiction"), required=False)


class MergeForm(forms.Form):
    other = forms.CharField(
        label=_("Alias of the other record of the same person"),
        max_length=40,
        widget=forms.TextInput(attrs={"autocomplete": "off"}),
    )
