from django import forms
from django.contrib import admin
from django.db import transaction
from django.db.models import Max

from vigil.lib.hub import hub
from vigil.monitoring.actions import devices_topic
from vigil.monitoring.models import AlarmSettings, Device, RuleVersion
from vigil.monitoring.notifiers import NOTIFIERS
from vigil.monitoring.rules import RuleSettings


def _reload_engine() -> None:
    """The engine re-reads devices and rule versions when told (same process)."""
    transaction.on_commit(lambda: hub.publish(devices_topic(), {"type": "config"}))


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    """Unknown devices that spoke are listed unbound: choose a place and save to bind them."""

    list_display = ["device_id", "label", "kind", "place", "last_seen_at", "clock_skew_seconds"]
    list_editable = ["place"]
    list_filter = [("place", admin.EmptyFieldListFilter), "kind", "simulated"]
    search_fields = ["device_id", "label"]
    readonly_fields = ["first_seen_at", "last_seen_at", "clock_skew_seconds"]

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        _reload_engine()


class AlarmSettingsForm(forms.ModelForm):
    class Meta:
        model = AlarmSettings
        fields = [
            "site",
            "ack_escalation_seconds",
            "claim_escalation_seconds",
            "resound_after_seconds",
            "fallback_contacts",
            "on_shift",
        ]

    def clean_fallback_contacts(self):
        contacts = self.cleaned_data["fallback_contacts"] or []
        if not isinstance(contacts, list):
            raise forms.ValidationError("Give a list of contacts.")
        for n, contact in enumerate(contacts, start=1):
            if not isinstance(contact, dict) or not contact.get("name"):
                raise forms.ValidationError(f"Contact {n} needs a name.")
            notifier = contact.get("notifier", "log")
            if notifier not in NOTIFIERS:
                raise forms.ValidationError(
                    f"Contact {n}: notifier must be one of {', '.join(NOTIFIERS)}."
                )
            if notifier == "webhook" and not str(contact.get("target", "")).startswith(
                ("http://", "https://")
            ):
                raise forms.ValidationError(
                    f"Contact {n}: a webhook needs an http(s) target address."
                )
        return contacts


@admin.register(AlarmSettings)
class AlarmSettingsAdmin(admin.ModelAdmin):
    form = AlarmSettingsForm
    list_display = [
        "site",
        "ack_escalation_seconds",
        "claim_escalation_seconds",
        "resound_after_seconds",
    ]
    filter_horizontal = ["on_shift"]


class RuleVersionForm(forms.ModelForm):
    class Meta:
        model = RuleVersion
        fields = ["site", "rules"]
        help_texts = {
            "rules": 'Only the settings that differ from the defaults (docs/detection-rules.md), e.g. {"spo2_low": 88}.'
        }

    def clean_rules(self):
        try:
            RuleSettings.from_dict(self.cleaned_data["rules"] or {})
        except (ValueError, TypeError) as exc:
            raise forms.ValidationError(str(exc)) from exc
        return self.cleaned_data["rules"] or {}


@admin.register(RuleVersion)
class RuleVersionAdmin(admin.ModelAdmin):
    """Rule settings are never edited in place: each save is a new version, and every alarm
    records the version that raised it."""

    form = RuleVersionForm
    list_display = ["site", "version", "created_at", "created_by"]
    readonly_fields = ["version", "created_at", "created_by"]

    def has_change_permission(self, request, obj=None):
        return obj is None and super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False

    def save_model(self, request, obj, form, change):
        latest = RuleVersion.objects.filter(site=obj.site).aggregate(v=Max("version"))["v"] or 0
        obj.version = latest + 1
        obj.created_by = request.user
        super().save_model(request, obj, form, change)
        _reload_engine()
