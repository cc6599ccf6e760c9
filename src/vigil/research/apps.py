from django.apps import AppConfig


class ResearchConfig(AppConfig):
    name = "vigil.research"
    verbose_name = "Evaluation study"
