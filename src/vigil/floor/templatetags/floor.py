from datetime import datetime

from django import template

register = template.Library()


@register.filter
def minutes_between(start: datetime, end: datetime) -> int:
    """Whole minutes from `start` to `end`, never negative."""
    if not start or not end:
        return 0
    return max(int((end - start).total_seconds() // 60), 0)
