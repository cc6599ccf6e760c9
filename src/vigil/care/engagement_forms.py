"""Forms for services and supplies, drug checks, referrals and a site's care lists.

Every form checks on the server and says what is wrong in words a floor worker uses; a form
that refuses changes nothing (the views call an action only with a valid form)."""

from datetime import date, timedelta

from django import forms
from django.utils.translation import gettext_lazy as _

from vigil.care.engagement_actions import (
    MAX_QUANTITY,
    MAX_RETURNED,
    RETURNED_ITEM,
    SUBSTANCES,
    TREATMENT_CHOICES,
    normalise_substances,
)
from vigil.care.lists import RETURNABLE
from vigil.care.models import CheckMethod, ReferralKind, ReferralStatus, ReferralWhere

NEGATIVE = _("A quantity cannot be negative.")
TOO_MANY = _("More than %(limit_value)s at once? Check the number.")


def quantity_field(label, limit: int) -> forms.IntegerField:
    return forms.IntegerField(
        label=label,
        required=False,
        min_value=0,
        max_value=limit,
        error_messages={
            "min_value": NEGATIVE,
            "max_value": TOO_MANY,
            "invalid": _("Enter a whole number."),
        },
        widget=forms.NumberInput(attrs={"min": 0, "max": limit, "inputmode": "numeric"}),
    )


class GiveForm(forms.Form):
    """The quick-add: services ticked, supplies by quantity, syringes returned."""

    services = forms.MultipleChoiceField(
        label=_("Services"), required=False, widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args, services=(), supplies=(), **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["services"]
        assert isinstance(field, forms.MultipleChoiceField)
        field.choices = list(services)
        self.supply_items = list(supplies)
        for code, label in self.supply_items:
            self.fields[f"supply_{code}"] = quantity_field(label, MAX_QUANTITY)
        self.takes_returns = any(code in RETURNABLE for code, _label in self.supply_items)
        if self.takes_returns:
            self.fields["returned"] = quantity_field(_("Syringes returned"), MAX_RETURNED)

    def supply_fields(self):
        return [self[f"supply_{code}"] for code, _label in self.supply_items]

    def clean(self):
        data = super().clean() or {}
        if self.errors:
            return data
        supplies = {
            code: data.get(f"supply_{code}") or 0
            for code, _label in self.supply_items
            if data.get(f"supply_{code}")
        }
        data["supplies"] = supplies
        data["returned"] = data.get("returned") or 0
        if not data.get("services") and not supplies and not data["returned"]:
            raise forms.ValidationError(
                _("Nothing to record: tick a service or enter a quantity."), code="empty"
            )
        return data


class SubstancesField(forms.MultipleChoiceField):
    widget = forms.CheckboxSelectMultiple

    def __init__(self, **kwargs):
        super().__init__(choices=SUBSTANCES, required=False, **kwargs)


def _other_substances(value: str) -> list[str]:
    return normalise_substances(v for v in value.replace(";", ",").split(",") if v.strip())


class DrugCheckForm(forms.Form):
    sample_code = forms.CharField(
        label=_("Sample code"),
        max_length=40,
        help_text=_("The code written on the sample bag. No names."),
        error_messages={"required": _("Give the sample a code.")},
    )
    visit = forms.ChoiceField(label=_("Linked to a visit"), required=False)
    method = forms.ChoiceField(
        label=_("Method"),
        choices=CheckMethod.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose how the sample was checked.")},
    )
    expected = SubstancesField(label=_("Sold or expected as"))
    expected_other = forms.CharField(
        label=_("Other (expected)"), required=False, max_length=200, help_text=_("Comma between")
    )
    result_pending = forms.BooleanField(label=_("Result pending (sent to a lab)"), required=False)
    found = SubstancesField(label=_("Found"))
    found_other = forms.CharField(
        label=_("Other (found)"), required=False, max_length=200, help_text=_("Comma between")
    )
    nothing_found = forms.BooleanField(label=_("Nothing detected"), required=False)

    def __init__(self, *args, visits=(), **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["visit"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [("", _("Not linked (walk-in sample)"))] + [
            (str(v.pk), v.participant.alias) for v in visits
        ]

    def clean(self):
        data = super().clean() or {}
        if self.errors:
            return data
        data["expected_codes"] = normalise_substances(
            list(data.get("expected") or []) + _other_substances(data.get("expected_other", ""))
        )
        found = normalise_substances(
            list(data.get("found") or []) + _other_substances(data.get("found_other", ""))
        )
        data["found_codes"] = found
        if data.get("result_pending"):
            if found or data.get("nothing_found"):
                raise forms.ValidationError(
                    _("A pending result has nothing found yet: untick “result pending”.")
                )
        elif data.get("nothing_found") and found:
            raise forms.ValidationError(_("Tick “nothing detected” or substances, not both."))
        elif not found and not data.get("nothing_found"):
            raise forms.ValidationError(
                _("Say what was found, tick “nothing detected”, or mark the result pending.")
            )
        return data


class DrugCheckResultForm(forms.Form):
    found = SubstancesField(label=_("Found"))
    found_other = forms.CharField(
        label=_("Other (found)"), required=False, max_length=200, help_text=_("Comma between")
    )
    nothing_found = forms.BooleanField(label=_("Nothing detected"), required=False)

    def clean(self):
        data = super().clean() or {}
        if self.errors:
            return data
        found = normalise_substances(
            list(data.get("found") or []) + _other_substances(data.get("found_other", ""))
        )
        if data.get("nothing_found") and found:
            raise forms.ValidationError(_("Tick “nothing detected” or substances, not both."))
        if not found and not data.get("nothing_found"):
            raise forms.ValidationError(_("Say what the lab found, or tick “nothing detected”."))
        data["found_codes"] = found
        return data


def _list_lines(value: str) -> list[tuple[str, str]]:
    entries = []
    for number, line in enumerate(value.splitlines(), start=1):
        line = line.strip()
        if not line:
            continue
        code, sep, label = line.partition(":")
        if not sep:
            raise forms.ValidationError(
                _("Line %(n)d: write “code: Label”, e.g. “wound_care: Wound care”."),
                params={"n": number},
            )
        entries.append((code.strip(), label.strip()))
    return entries


def list_text(pairs) -> str:
    return "\n".join(f"{code}: {label}" for code, label in pairs)


class CareSettingsForm(forms.Form):
    services = forms.CharField(
        label=_("Services offered"),
        widget=forms.Textarea(attrs={"rows": 10, "wrap": "off"}),
        help_text=_(
            "One a line: code: Label. Keep a code once it is in use; change only its label."
        ),
    )
    supplies = forms.CharField(
        label=_("Supplies given out"),
        widget=forms.Textarea(attrs={"rows": 13, "wrap": "off"}),
        help_text=_(
            "One a line: code: Label. Syringe codes syringe_05ml, syringe_1ml, syringe_3ml "
            "make the quick-add ask for syringes returned."
        ),
    )
    potent = forms.CharField(
        label=_("Unexpected potent substances"),
        widget=forms.Textarea(attrs={"rows": 5}),
        required=False,
        help_text=_("One a line. Empty: the defaults (fentanyl, carfentanil, nitazene, ...)."),
    )
    notify = forms.BooleanField(
        label=_("Post a floor notice when a drug check finds one of these unexpectedly"),
        required=False,
    )

    def clean_services(self):
        return _list_lines(self.cleaned_data["services"])

    def clean_supplies(self):
        entries = _list_lines(self.cleaned_data["supplies"])
        if any(code == RETURNED_ITEM for code, _label in entries):
            raise forms.ValidationError(
                _("“%(code)s” is kept for syringes returned; choose another code."),
                params={"code": RETURNED_ITEM},
            )
        return entries

    def clean_potent(self):
        return [line.strip() for line in self.cleaned_data["potent"].splitlines() if line.strip()]


class _FollowUpForm(forms.Form):
    """A referral step's follow-up date (never in the past) and a short note."""

    follow_up_due = forms.DateField(
        label=_("Follow up by"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        error_messages={"invalid": _("Enter a date.")},
    )
    note = forms.CharField(
        label=_("Note"),
        required=False,
        max_length=200,
        help_text=_("No names or identifying details."),
    )

    def __init__(self, *args, today: date | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today or date.today()

    def clean_follow_up_due(self):
        due = self.cleaned_data.get("follow_up_due")
        if due is not None and due < self.today:
            raise forms.ValidationError(_("The follow-up date is in the past."))
        return due


class ReferralForm(_FollowUpForm):
    site = forms.ChoiceField(label=_("Site"))
    kind = forms.ChoiceField(
        label=_("Referral to"),
        choices=ReferralKind.choices,
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose what the referral is to.")},
    )
    where = forms.ChoiceField(
        label=_("Where"),
        choices=ReferralWhere.choices,
        widget=forms.RadioSelect,
        initial=ReferralWhere.OFF_SITE,
        error_messages={"required": _("Choose where the service is.")},
    )
    partner = forms.CharField(
        label=_("Partner or service"),
        required=False,
        max_length=120,
        help_text=_("e.g. the clinic's name. Nothing about the participant."),
    )

    def __init__(self, *args, sites=(), today: date | None = None, **kwargs):
        super().__init__(*args, today=today, **kwargs)
        field = self.fields["site"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = [(str(s.pk), s.name) for s in sites]
        if not self.is_bound:
            self.fields["follow_up_due"].initial = self.today + timedelta(days=7)


class AdvanceForm(_FollowUpForm):
    to = forms.ChoiceField(
        label=_("Next step"),
        widget=forms.RadioSelect,
        error_messages={"required": _("Choose the next step.")},
    )
    at = forms.DateTimeField(
        label=_("When"),
        required=False,
        widget=forms.DateTimeInput(attrs={"type": "datetime-local"}),
        help_text=_("Leave as it is for now."),
        error_messages={"invalid": _("Enter a date and time.")},
    )

    def __init__(self, *args, allowed=(), today: date | None = None, **kwargs):
        super().__init__(*args, today=today, **kwargs)
        self.fields["follow_up_due"].label = _("Next follow-up by")
        field = self.fields["to"]
        assert isinstance(field, forms.ChoiceField)
        order = list(ReferralStatus.values)
        field.choices = [
            (value, ReferralStatus(value).label) for value in sorted(allowed, key=order.index)
        ]


class DirectToTreatmentForm(forms.Form):
    site = forms.IntegerField(widget=forms.HiddenInput)
    visit = forms.IntegerField(required=False, widget=forms.HiddenInput)
    kind = forms.ChoiceField(
        choices=TREATMENT_CHOICES,
        error_messages={
            "required": _("Choose the treatment."),
            "invalid_choice": _(
                "Choose a treatment: buprenorphine, methadone, detox or residential."
            ),
        },
    )
    where = forms.ChoiceField(
        label=_("Where"), choices=ReferralWhere.choices, initial=ReferralWhere.PARTNER_ON_SITE
    )
