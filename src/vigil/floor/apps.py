from django.apps import AppConfig


class FloorConfig(AppConfig):
    name = "vigil.floor"
    verbose_name = "Floor"
