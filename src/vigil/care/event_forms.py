"""The event record as forms: the record itself, one small form per intervention, and blank rows
for typed (late or amended) interventions.

Every field a person may change also carries what it showed when the page was loaded (Django's
`show_hidden_initial`), so a save writes only what this person changed and can tell when
someone else changed the same field meanwhile (see event_actions).
"""

from __future__ import annotations

from decimal import Decimal

from django import forms
from django.db.models import Q
from django.utils.html import format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from vigil.accounts.models import Staff
from vigil.accounts.roles import FLOOR_STAFF
from vigil.care.event_actions import RowEdit
from vigil.care.events import Problems, amount
from vigil.care.models import (
    EventKind,
    EventOutcome,
    Intervention,
    InterventionKind,
    NaloxoneRoute,
    Sign,
)
from vigil.participants.models import Participant
from vigil.sites.models import Place

TIME_FORMAT = "%Y-%m-%dT%H:%M"
MAX_NEW_ROWS = 20


class TimeInput(forms.DateTimeInput):
    input_type = "datetime-local"

    def __init__(self, attrs=None):
        super().__init__(attrs={"step": "60", **(attrs or {})}, format=TIME_FORMAT)


def _time(label, required: bool = False) -> forms.DateTimeField:
    return forms.DateTimeField(
        label=label,
        required=required,
        widget=TimeInput(),
        error_messages={
            "invalid": gettext_lazy("Enter a date and time."),
            "required": gettext_lazy("Say when."),
        },
    )


class ParticipantByAlias(forms.CharField):
    """A participant typed by alias (late entries, records without a visit)."""

    def __init__(self, *, jurisdiction=None, **kwargs):
        self.jurisdiction = jurisdiction
        super().__init__(**kwargs)

    def find(self, alias: str) -> Participant | None:
        alias = (alias or "").strip()
        if not alias:
            return None
        person = (
            Participant.objects.filter(jurisdiction=self.jurisdiction, alias__iexact=alias)
            .select_related("merged_into")
            .first()
        )
        if person is None:
            raise forms.ValidationError(
                _(
                    "No participant has the alias “%(alias)s”. Check the spelling, or leave it "
                    "empty if the person is not registered."
                )
                % {"alias": alias}
            )
        return person.merged_into or person


class PlaceField(forms.ModelChoiceField):
    def label_from_instance(self, obj) -> str:
        return obj.label  # the tile's name: this form is always about one site


def _seen(form: forms.Form, name: str):
    """What field `name` showed when the page was loaded (its hidden initial copy)."""
    field = form.fields[name]
    raw = field.hidden_widget().value_from_datadict(
        form.data, form.files, form.add_initial_prefix(name)
    )
    try:
        return field.to_python(raw)
    except forms.ValidationError:
        return None


class EventForm(forms.Form):
    kind = forms.ChoiceField(
        label=gettext_lazy("Kind"),
        choices=EventKind.choices,
        widget=forms.RadioSelect,
        initial=EventKind.OVERDOSE,
    )
    started_at = _time(gettext_lazy("Started"), required=True)
    place = PlaceField(
        label=gettext_lazy("Place"),
        queryset=Place.objects.none(),
        required=False,
        empty_label=gettext_lazy("Not in a place (e.g. the lobby)"),
    )
    alias = ParticipantByAlias(
        label=gettext_lazy("Participant (alias)"),
        required=False,
        max_length=40,
        help_text=gettext_lazy("Leave empty if the person is not registered."),
    )
    signs = forms.MultipleChoiceField(
        label=gettext_lazy("Signs"),
        choices=Sign.choices,
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    ems_called_at = _time(gettext_lazy("EMS called"))
    ems_arrived_at = _time(gettext_lazy("EMS arrived"))
    transported_at = _time(gettext_lazy("Transported"))
    outcome = forms.ChoiceField(
        label=gettext_lazy("Outcome"),
        choices=[("", gettext_lazy("Not known yet")), *EventOutcome.choices],
        widget=forms.RadioSelect,
        required=False,
    )
    minutes_to_recovery = forms.IntegerField(
        label=gettext_lazy("Minutes to recovery"),
        required=False,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    death_confirmed = forms.BooleanField(
        label=gettext_lazy("I confirm that this person died."), required=False
    )
    staff_involved = forms.ModelMultipleChoiceField(
        label=gettext_lazy("Staff involved"),
        queryset=Staff.objects.none(),
        widget=forms.CheckboxSelectMultiple,
        required=False,
    )
    notes = forms.CharField(
        label=gettext_lazy("Notes"),
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy("No names or identifying details."),
    )
    reason = forms.CharField(
        label=gettext_lazy("Reason for the change"),
        required=False,
        max_length=200,
        help_text=gettext_lazy("Kept with the earlier version, with your name and the time."),
    )

    TRACKED = [
        "kind",
        "started_at",
        "place",
        "alias",
        "signs",
        "ems_called_at",
        "ems_arrived_at",
        "transported_at",
        "outcome",
        "minutes_to_recovery",
        "staff_involved",
        "notes",
    ]
    CHOICES = ["kind", "signs", "outcome", "staff_involved"]

    def __init__(self, *args, site, fixed_participant: bool = False, **kwargs):
        super().__init__(*args, **kwargs)
        self.site = site
        place = self.fields["place"]
        assert isinstance(place, forms.ModelChoiceField)
        place.queryset = Place.objects.filter(site=site).order_by("position", "label")
        staff = self.fields["staff_involved"]
        assert isinstance(staff, forms.ModelMultipleChoiceField)
        # Everyone on the site's floor, and whoever the record already names (even if they
        # have since left), so a save never drops them silently.
        named = (self.initial or {}).get("staff_involved") or []
        staff.queryset = (
            Staff.objects.filter(
                Q(sites=site, role__in=sorted(FLOOR_STAFF), is_active=True) | Q(pk__in=named)
            )
            .distinct()
            .order_by("first_name", "username")
        )
        alias = self.fields["alias"]
        assert isinstance(alias, ParticipantByAlias)
        alias.jurisdiction = site.jurisdiction
        alias.disabled = fixed_participant
        for name in self.TRACKED:
            self.fields[name].show_hidden_initial = True

    def clean_alias(self):
        alias = (self.cleaned_data.get("alias") or "").strip()
        if not self.fields["alias"].disabled:
            field = self.fields["alias"]
            assert isinstance(field, ParticipantByAlias)
            field.find(alias)  # refuses an alias nobody has
        return alias

    def participant(self) -> Participant | None:
        alias = self.fields["alias"]
        assert isinstance(alias, ParticipantByAlias)
        return alias.find(self.cleaned_data.get("alias", ""))

    def hidden_initials(self) -> SafeString:
        """What the choice fields showed when loaded; they are drawn choice by choice, which
        leaves out Django's own hidden copy."""
        html = []
        for name in self.CHOICES:
            html.append(self[name].as_hidden(only_initial=True))
        return format_html_join("", "{}", ((h,) for h in html))

    def values(self) -> dict:
        """The header values for opening a record."""
        data = self.cleaned_data
        return {
            "kind": data["kind"],
            "started_at": data.get("started_at"),
            "place": data.get("place"),
            "participant": None if self.fields["alias"].disabled else self.participant(),
            "signs": data.get("signs") or [],
            "ems_called_at": data.get("ems_called_at"),
            "ems_arrived_at": data.get("ems_arrived_at"),
            "transported_at": data.get("transported_at"),
            "outcome": data.get("outcome") or "",
            "minutes_to_recovery": data.get("minutes_to_recovery"),
            "staff_involved": list(data.get("staff_involved") or []),
            "notes": data.get("notes") or "",
        }

    def seen(self, name: str):
        """What field `name` showed when the page was loaded."""
        value = _seen(self, name)
        if name == "alias":
            alias = self.fields["alias"]
            assert isinstance(alias, ParticipantByAlias)
            try:
                return alias.find(value or "")
            except forms.ValidationError:
                return None
        return value

    def changes(self) -> tuple[dict, dict]:
        """(what this person changed, what those fields showed before), by event field."""
        values = self.values()
        changes, expected = {}, {}
        for name in self.changed_data:
            if name not in self.TRACKED or self.fields[name].disabled:
                continue
            target = "participant" if name == "alias" else name
            changes[target] = values[target]
            expected[target] = self.seen(name)
        return changes, expected


def _plain(value: Decimal | None) -> Decimal | None:
    """0.4 rather than 0.40 in the field, as staff write it."""
    return None if value is None else Decimal(amount(value))


class InterventionForm(forms.Form):
    """One intervention already on the record: its time and amounts can be corrected, or it
    can be struck out; what was done (its kind) is not edited."""

    at = _time(gettext_lazy("Time"))
    dose_mg = forms.DecimalField(
        label=gettext_lazy("mg"),
        required=False,
        max_digits=5,
        decimal_places=2,
        widget=forms.NumberInput(attrs={"step": "0.1", "inputmode": "decimal"}),
    )
    route = forms.ChoiceField(
        label=gettext_lazy("Route"),
        choices=[("", "—"), *[(v, v) for v in NaloxoneRoute.values]],
        required=False,
    )
    litres_per_minute = forms.DecimalField(
        label=gettext_lazy("L/min"),
        required=False,
        max_digits=4,
        decimal_places=1,
        widget=forms.NumberInput(attrs={"step": "1", "inputmode": "decimal"}),
    )
    remove = forms.BooleanField(label=gettext_lazy("Strike out"), required=False)

    TRACKED = ["at", "dose_mg", "route", "litres_per_minute"]

    def __init__(self, *args, intervention: Intervention, **kwargs):
        kwargs.setdefault("prefix", f"i{intervention.pk}")
        kwargs.setdefault(
            "initial",
            {
                "at": intervention.at,
                "dose_mg": _plain(intervention.dose_mg),
                "route": intervention.route,
                "litres_per_minute": _plain(intervention.litres_per_minute),
            },
        )
        super().__init__(*args, **kwargs)
        self.intervention = intervention
        self.dose_number = 0
        for name in self.TRACKED:
            self.fields[name].show_hidden_initial = True

    def seen(self, name: str):
        return _seen(self, name)

    def edit(self) -> RowEdit:
        row = RowEdit(key=self.prefix or "", pk=self.intervention.pk)
        row.remove = bool(self.cleaned_data.get("remove"))
        for name in self.changed_data:
            if name in self.TRACKED:
                row.changes[name] = self.cleaned_data.get(name)
                row.expected[name] = self.seen(name)
        return row


class NewInterventionForm(forms.Form):
    """A blank row for an intervention typed with its time (late entries, amendments)."""

    kind = forms.ChoiceField(
        label=gettext_lazy("Intervention"),
        choices=[("", "—"), *InterventionKind.choices],
        required=False,
    )
    at = _time(gettext_lazy("Time"))
    dose_mg = InterventionForm.base_fields["dose_mg"]
    route = InterventionForm.base_fields["route"]
    litres_per_minute = InterventionForm.base_fields["litres_per_minute"]

    def is_blank(self) -> bool:
        data = self.cleaned_data
        return (
            not any(data.get(n) not in (None, "") for n in ("kind", "at", "dose_mg", "route"))
            and data.get("litres_per_minute") is None
        )

    def edit(self) -> RowEdit:
        data = self.cleaned_data
        return RowEdit(
            key=self.prefix or "",
            changes={
                "kind": data.get("kind") or "",
                "at": data.get("at"),
                "dose_mg": data.get("dose_mg"),
                "route": data.get("route") or "",
                "litres_per_minute": data.get("litres_per_minute"),
            },
        )


class RecordForms:
    """The record form, its interventions and its blank rows, handled as one."""

    def __init__(
        self,
        *,
        site,
        data=None,
        initial: dict | None = None,
        interventions=(),
        new_rows: int = 0,
        fixed_participant: bool = False,
    ):
        self.event = EventForm(
            data, site=site, initial=initial, fixed_participant=fixed_participant
        )
        # An intervention a colleague added after this page was loaded is not in the posted
        # data: it is shown as it is, not as blank fields.
        self.rows = [
            InterventionForm(
                data if data is not None and f"initial-i{i.pk}-at" in data else None,
                intervention=i,
                prefix=f"i{i.pk}",
            )
            for i in interventions
            if i.removed_at is None
        ]
        self.struck = [i for i in interventions if i.removed_at is not None]
        doses = 0
        for row in self.rows:
            if row.intervention.kind == InterventionKind.NALOXONE:
                doses += 1
                row.dose_number = doses
        if data is not None:
            try:
                new_rows = int(data.get("new_rows", new_rows))
            except (TypeError, ValueError):
                new_rows = 0
        self.new_rows = max(0, min(new_rows, MAX_NEW_ROWS))
        self.new = [NewInterventionForm(data, prefix=f"n{k}") for k in range(self.new_rows)]

    def is_valid(self) -> bool:
        results = [self.event.is_valid(), *(f.is_valid() for f in self.rows if f.is_bound)]
        results += [f.is_valid() for f in self.new]
        return all(results)

    def edits(self) -> list[RowEdit]:
        edits = [f.edit() for f in self.rows if f.is_bound]
        edits += [f.edit() for f in self.new if not f.is_blank()]
        return edits

    def add_problems(self, problems: Problems) -> None:
        """Put each refusal beside the field it is about."""
        forms_by_prefix = {f.prefix: f for f in [*self.rows, *self.new]}
        for key, messages in problems.items():
            prefix, _sep, name = key.partition("-")
            target = forms_by_prefix.get(prefix)
            for message in messages:
                if target is not None and name in target.fields:
                    target.add_error(name, message)
                elif key == "participant":
                    self.event.add_error("alias", message)
                elif key in self.event.fields:
                    self.event.add_error(key, message)
                else:
                    self.event.add_error(None, message)

    def all_errors(self) -> list[str]:
        found: list[str] = []
        for form in [self.event, *self.rows, *self.new]:
            for messages in form.errors.values():
                found.extend(str(m) for m in messages)
        return found


def preset_row(data, index: int, kind: str, dose: Decimal | None, route: str, lpm) -> None:
    """Fill blank row `index` of a posted form (a copy) with what an add button stands for."""
    data[f"n{index}-kind"] = kind
    data[f"n{index}-dose_mg"] = "" if dose is None else f"{dose.normalize():f}"
    data[f"n{index}-route"] = route
    data[f"n{index}-litres_per_minute"] = "" if lpm is None else f"{Decimal(lpm).normalize():f}"
