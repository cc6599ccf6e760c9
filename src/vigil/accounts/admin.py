from django.contrib import admin
from django.contrib.auth.admin import UserAdmin

from vigil.accounts.models import Staff


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
