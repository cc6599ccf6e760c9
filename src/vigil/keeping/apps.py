from django.apps import AppConfig


class KeepingConfig(AppConfig):
    """Keeping the records safe at rest: key rotation, encrypted backups, retention."""

    name = "vigil.keeping"
    verbose_name = "Data at rest"
