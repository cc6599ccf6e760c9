from django.contrib import admin

from vigil.sites.models import Jurisdiction, Place, Site


class PlaceInline(admin.TabularInline):
    model = Place
    extra = 0
    fields = ["label", "kind", "position", "in_service"]


@admin.register(Jurisdiction)
class JurisdictionAdmin(admin.ModelAdmin):
    list_display = ["name"]


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    list_display = [
        "name",
        "jurisdiction",
        "time_zone",
        "opens_at",
        "closes_at",
        "occupancy_limit_minutes",
    ]
    list_filter = ["jurisdiction"]
    inlines = [PlaceInline]
    fieldsets = [
        (None, {"fields": ["jurisdiction", "name", "time_zone", "opens_at", "closes_at"]}),
        (
            "Supervision",
            {
                "fields": [
                    "check_interval_place_minutes",
                    "check_interval_aftercare_minutes",
                    "check_grace_minutes",
                    "occupancy_limit_minutes",
                ]
            },
        ),
    ]
