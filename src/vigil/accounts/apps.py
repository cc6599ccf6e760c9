from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "vigil.accounts"
    verbose_name = "Staff and roles"
