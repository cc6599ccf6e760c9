"""Small server-side SVG charts (no JavaScript, same picture on screen and in print)."""

from collections.abc import Sequence


def sparkline(
    values: Sequence[float | None],
    *,
    width: float = 100,
    height: float = 24,
    low: float,
    high: float,
) -> str:
    """An SVG path `d` for values spread evenly across `width`; gaps (None) break the line."""
    if not values or high <= low:
        return ""
    step = width / max(len(values) - 1, 1)
    parts: list[str] = []
    pen_down = False
    for index, value in enumerate(values):
        if value is None:
            pen_down = False
            continue
        clamped = min(max(value, low), high)
        x = index * step
        y = height - (clamped - low) / (high - low) * height
        parts.append(f"{'L' if pen_down else 'M'}{x:.1f},{y:.1f}")
        pen_down = True
    return " ".join(parts)
