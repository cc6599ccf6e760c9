from django import template

from vigil.monitoring import labels

register = template.Library()


@register.filter
def alarm_kind(kind: str) -> str:
    return str(labels.KIND.get(kind, kind))


@register.filter
def alarm_state(state: str) -> str:
    return str(labels.STATE.get(state, state))


@register.filter
def vital(value) -> str:
    return "—" if value is None or value == "" else f"{value:.0f}"  # "": no vitals at all
