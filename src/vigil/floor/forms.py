from django import forms
from django.utils.translation import gettext_lazy as _

from vigil.floor.models import EndReason, OtherwiseLocation, Route, Substance

YES_NO_UNKNOWN = [("", _("Not asked")), ("yes", _("Yes")), ("no", _("No"))]


class IntakeForm(forms.Form):
    substances = forms.MultipleChoiceField(
        label=_("Substances planned"),
        choices=Substance.choices,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": _("Choose at least one substance.")},
    )
    route = forms.ChoiceField(label=_("Route"), choices=Route.choices, widget=forms.RadioSelect)
    otherwise_location = forms.ChoiceField(
        label=_("Where would you otherwise have used?"),
        choices=OtherwiseLocation.choices,
        widget=forms.RadioSelect,
        initial=OtherwiseLocation.NOT_SAID,
    )
    otherwise_alone = forms.TypedChoiceField(
        label=_("Would you otherwise have used alone?"),
        choices=YES_NO_UNKNOWN,
        required=False,
        coerce=lambda v: {"yes": True, "no": False}.get(v),
        empty_value=None,
        widget=forms.RadioSelect,
    )
    drug_checked = forms.BooleanField(label=_("Drug checked before use"), required=False)
    place = forms.ChoiceField(label=_("Place"), required=False)

    def __init__(self, *args, free_places=(), waiting: int = 0, **kwargs):
        super().__init__(*args, **kwargs)
        choices = [("", _("Wait list"))] + [(str(p.pk), p.label) for p in free_places]
        place_field = self.fields["place"]
        assert isinstance(place_field, forms.ChoiceField)
        place_field.choices = choices
        # First come, first served: a free place is offered only when nobody is waiting.
        if free_places and not waiting:
            self.fields["place"].initial = str(free_places[0].pk)


class EndVisitForm(forms.Form):
    reason = forms.ChoiceField(choices=EndReason.choices)
