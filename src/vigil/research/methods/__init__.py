"""The evaluation methods over CSV data, by the name a study file uses for each."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from vigil.research.design import Design
from vigil.research.methods.common import Validator


@dataclass(frozen=True)
class MethodSpec:
    name: str
    label: str
    run: Callable[[Design, Mapping[str, Any]], dict[str, Any]]
    options: Mapping[str, Validator]
    min_before: int
    min_after: int
    needs_comparison: bool
    needs_population: bool
    needs_counts: bool
    description: str
    assumptions: tuple[str, ...]


def _registry() -> dict[str, MethodSpec]:
    from vigil.research.methods import before_after, did, its, synthetic_control

    specs = (before_after.SPEC, its.SPEC, did.SPEC, synthetic_control.SPEC)
    return {spec.name: spec for spec in specs}


METHODS: dict[str, MethodSpec] = _registry()
