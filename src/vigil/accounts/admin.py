from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from vigil.accounts.models import FloorScreen, Staff


@admin.register(Staff)
class StaffAdmin(UserAdmin):
    list_display = ["username", "first_name", "last_name", "role", "is_active"]
    list_filter = ["role", "is_active", "sites"]
    filter_horizontal = ["sites", "groups", "user_permissions"]
    fieldsets = [
        *(UserAdmin.fieldsets or ()),
        ("Vigil", {"fields": ["role", "sites"]}),
    ]
    add_fieldsets = [
        *(UserAdmin.add_fieldsets or ()),
        ("Vigil", {"fields": ["role", "sites"]}),
    ]

    def has_delete_permission(self, request, obj=None):
        """People who leave are made inactive, never deleted: their name stays on what they
        recorded, and Django's delete page would list those records (visits by alias)."""
        return False


# Authenticator secrets are not for anyone to see or set, administrators included: django-otp's
# own admin would show a device's key and QR code. A lost phone is `vigil staff
# reset-two-factor USER`; the person enrols again at their next sign-in.
from django_otp.plugins.otp_totp import admin as _otp_totp_admin  # noqa: E402,F401 - registers
from django_otp.plugins.otp_totp.models import TOTPDevice  # noqa: E402

if admin.site.is_registered(TOTPDevice):
    admin.site.unregister(TOTPDevice)


@admin.register(FloorScreen)
class FloorScreenAdmin(admin.ModelAdmin):
    """Seen here; registered from the device itself and revoked on Vigil's Floor screens page."""

    list_display = ["name", "site", "registered_by", "created_at", "last_seen_at", "revoked_at"]
    list_filter = ["site"]
    fields = ("name", "site", "registered_by", "created_at", "last_seen_at", "revoked_at")
    readonly_fields = fields

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False
