"""Words staff see for alarm kinds, states and outcomes (translated)."""

from django.utils.translation import gettext_lazy as _

KIND = {
    "spo2_low": _("Low SpO2"),
    "spo2_critical": _("SpO2 critical"),
    "desaturation": _("Rapid desaturation"),
    "resp_low": _("Slow breathing"),
    "apnea": _("Apnea"),
    "no_breath": _("No breathing"),
    "pulse_low": _("Low pulse"),
    "pulse_high": _("High pulse"),
    "stillness": _("No movement"),
    "monitoring_lost": _("Monitoring lost"),
    "check_concerned": _("Staff concerned"),
    "check_overdue": _("Check overdue"),
    "over_limit": _("Over time limit"),
}
STATE = {
    "active": _("Active"),
    "acknowledged": _("Seen"),
    "claimed": _("Responding"),
    "cleared": _("Cleared"),
    "resolved": _("Resolved"),
}
OUTCOME = [
    ("overdose", _("Overdose")),
    ("other_medical", _("Other medical")),
    ("person_okay", _("Person okay")),
    ("false_alarm", _("False alarm")),
    ("technical", _("Technical")),
]
