from django.apps import AppConfig


class SitesConfig(AppConfig):
    name = "vigil.sites"
    label = "sites"
    verbose_name = "Sites and places"
