from django.apps import AppConfig


class MonitoringConfig(AppConfig):
    name = "vigil.monitoring"
    verbose_name = "Monitoring and alarms"
