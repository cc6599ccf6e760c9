from django.contrib import admin

from vigil.monitoring.models import AlarmSettings, Device, RuleVersion


@admin.register(Device)
class DeviceAdmin(admin.ModelAdmin):
    """Unknown devices that spoke are listed unbound: choose a place and save to bind them."""

    list_display = ["device_id", "label", "kind", "place", "last_seen_at", "clock_skew_seconds"]
    list_editable = ["place"]
    list_filter = [("place", admin.EmptyFieldListFilter), "kind", "simulated"]
    search_fields = ["device_id", "label"]
    readonly_fields = ["first_seen_at", "last_seen_at", "clock_skew_seconds"]


@admin.register(AlarmSettings)
class AlarmSettingsAdmin(admin.ModelAdmin):
    list_display = [
        "site",
        "ack_escalation_seconds",
        "claim_escalation_seconds",
        "resound_after_seconds",
    ]
    filter_horizontal = ["on_shift"]


@admin.register(RuleVersion)
class RuleVersionAdmin(admin.ModelAdmin):
    list_display = ["site", "version", "created_at", "created_by"]
    readonly_fields = ["created_at"]
