from django.apps import AppConfig


class ParticipantsConfig(AppConfig):
    name = "vigil.participants"
    verbose_name = "Anonymous participants"
