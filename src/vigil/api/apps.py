from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "vigil.api"
    verbose_name = "JSON API"
