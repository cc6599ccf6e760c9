"""The evaluator pages' forms: a study over the records one may see, a study of one's own
deaths CSV, and the export."""

from __future__ import annotations

from pathlib import PurePath

from django import forms
from django.utils.translation import gettext_lazy as _

from vigil.lib.http import validate_upload_size
from vigil.research.export import FORMATS
from vigil.research.records import RECORD_METHODS
from vigil.research.study import Upload
from vigil.sites.access import sites_for


def scope_choices(user) -> list[tuple[str, str]]:
    """The sites one works at, and each jurisdiction all of whose sites one works at."""
    sites = list(sites_for(user).order_by("jurisdiction__name", "name"))
    mine = {s.pk for s in sites}
    choices: list[tuple[str, str]] = []
    seen = set()
    for site in sites:
        j = site.jurisdiction
        if j.pk not in seen:
            seen.add(j.pk)
            all_sites = set(j.sites.values_list("pk", flat=True))
            if len(all_sites) > 1 and all_sites <= mine:
                choices.append(
                    (f"jurisdiction:{j.pk}", _("%(name)s (all sites)") % {"name": j.name})
                )
        choices.append((f"site:{site.pk}", str(site.name)))
    return choices


class _Scoped(forms.Form):
    scope = forms.ChoiceField(label=_("Records of"))
    first_day = forms.DateField(
        label=_("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Empty: from the first visit."),
    )
    last_day = forms.DateField(
        label=_("To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
        help_text=_("Empty: until today."),
    )

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        field = self.fields["scope"]
        assert isinstance(field, forms.ChoiceField)
        field.choices = scope_choices(user)

    def clean(self):
        data = super().clean() or {}
        first, last = data.get("first_day"), data.get("last_day")
        if first and last and first > last:
            raise forms.ValidationError(_("“From” is after “To”."))
        return data

    def scope_parts(self) -> tuple[str, int]:
        kind, _sep, pk = self.cleaned_data["scope"].partition(":")
        return kind, int(pk)


class RecordsStudyForm(_Scoped):
    title = forms.CharField(label=_("Title"), max_length=200, required=False)
    methods = forms.MultipleChoiceField(
        label=_("Analyses"),
        choices=[(name, spec.label) for name, spec in RECORD_METHODS.items()],
        widget=forms.CheckboxSelectMultiple,
        initial=list(RECORD_METHODS),
    )


class ExportForm(_Scoped):
    format = forms.ChoiceField(label=_("Format"), choices=[(f, f.upper()) for f in FORMATS])
    k = forms.IntegerField(
        label=_("k (smallest group of people alike)"), min_value=2, max_value=100, initial=5
    )


# The name a study typed into the page goes by in messages and the report.
TYPED_STUDY = "study.toml"
# A study file is a page of text; anything longer is not one.
MAX_STUDY_CHARS = 100_000


def _upload(upload, fallback: str) -> Upload:
    """The uploaded file's bytes, under its own name without any folder (browsers send none;
    a name that is only dots or empty becomes `fallback`)."""
    name = PurePath(upload.name.replace("\\", "/")).name.strip() or fallback
    if not name.strip("."):
        name = fallback
    upload.seek(0)
    return Upload(name=name[:100], content=upload.read())


class UploadStudyForm(forms.Form):
    """A community-mortality study of one's own data: the deaths CSV and the study file (sent
    as a file or typed in); `[data] file` in the study is replaced by the uploaded CSV."""

    deaths = forms.FileField(
        label=_("Deaths (CSV file, UTF-8)"),
        validators=[validate_upload_size],
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,text/csv"}),
        help_text=_("One row per area and period, as read by vigil evaluate."),
    )
    study_file = forms.FileField(
        label=_("Study file (study.toml)"),
        required=False,
        validators=[validate_upload_size],
        widget=forms.ClearableFileInput(attrs={"accept": ".toml,text/plain"}),
    )
    study_text = forms.CharField(
        label=_("…or the study file's text"),
        required=False,
        strip=False,
        max_length=MAX_STUDY_CHARS,
        widget=forms.Textarea(attrs={"rows": 12, "spellcheck": "false", "class": "code"}),
        help_text=_("Its [data] file is not needed: the uploaded CSV file takes its place."),
    )

    def clean(self):
        data = super().clean() or {}
        typed = (data.get("study_text") or "").strip()
        sent = data.get("study_file")
        if "study_file" in self.errors:
            return data
        if sent and typed:
            raise forms.ValidationError(
                _("Give the study either as a file or as text, not both."), code="both"
            )
        if not sent and not typed:
            raise forms.ValidationError(
                _("The study file is missing: choose it or type it in."), code="no_study"
            )
        return data

    def uploaded_study(self) -> Upload:
        sent = self.cleaned_data.get("study_file")
        if sent:
            return _upload(sent, TYPED_STUDY)
        return Upload(name=TYPED_STUDY, content=self.cleaned_data["study_text"].encode("utf-8"))

    def uploaded_deaths(self) -> Upload:
        return _upload(self.cleaned_data["deaths"], "deaths.csv")
