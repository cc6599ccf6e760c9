from django.apps import AppConfig


class CareConfig(AppConfig):
    name = "vigil.care"
    verbose_name = "Care records"
