"""The one place that asks the time, so pure logic can take `now` as an argument and tests,
the demo seeder and the benchmarks can set it."""

import contextlib
from collections.abc import Iterator
from datetime import datetime

from django.utils import timezone

_frozen: datetime | None = None


def now() -> datetime:
    return _frozen if _frozen is not None else timezone.now()


@contextlib.contextmanager
def frozen(at: datetime) -> Iterator[None]:
    """Make `now()` return `at` inside the block (single-threaded callers only)."""
    global _frozen
    previous, _frozen = _frozen, at
    try:
        yield
    finally:
        _frozen = previous


def set_frozen(at: datetime | None) -> None:
    global _frozen
    _frozen = at
