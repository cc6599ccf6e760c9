from django.contrib import admin

from vigil.sites.models import Jurisdiction, Place, Site

# The admin shows no participant-level data (docs/threat-model.md). Deleting a site, a
# jurisdiction or a place is refused here: Django would answer with the list of protected
# records in the way (visits, occupancies: "Wren at Site 1"), which names participants. A place
# is taken out of service instead; sites are never deleted, their records are kept.


class PlaceInline(admin.TabularInline):
    model = Place
    extra = 0
    fields = ["label", "kind", "position", "in_service"]
    can_delete = False


@admin.register(Jurisdiction)
class JurisdictionAdmin(admin.ModelAdmin):
    list_display = ["name"]

    def has_delete_permission(self, request, obj=None):
        return False


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

    def has_delete_permission(self, request, obj=None):
        return False

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
        ("Retention", {"fields": ["deidentify_after_months"]}),
    ]
