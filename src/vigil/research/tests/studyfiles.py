"""Helpers for the research tests: study files on disk and designs built in memory."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from vigil.research.design import Design

RESEARCH = Path(__file__).resolve().parent.parent
DEMO_STUDY = RESEARCH / "data" / "bc-demo" / "study.toml"
BC_ORIGINAL = RESEARCH / "data" / "bc" / "monthly-deaths.csv"

PANEL_STUDY = """\
title = "test study"
[data]
file = "deaths.csv"
unit = "area"
time = "month"
value = "deaths"
population = "population"
[intervention]
unit = "near"
start = "{start}"
[[analysis]]
name = "main"
method = "{method}"
"""


def write(folder: Path, csv: str, toml: str, csv_name: str = "deaths.csv") -> Path:
    (folder / csv_name).write_text(csv, encoding="utf-8")
    study = folder / "study.toml"
    study.write_text(toml, encoding="utf-8")
    return study


def panel_csv(
    months: int = 24,
    first: str = "2001-01",
    units: tuple[str, ...] = ("near", "far"),
    deaths: int = 5,
    population: int = 10_000,
) -> str:
    lines = ["area,month,deaths,population"]
    for unit in units:
        for period in pd.period_range(first, periods=months, freq="M"):
            lines.append(f"{unit},{period},{deaths},{population}")
    return "\n".join(lines) + "\n"


def design(
    values: pd.DataFrame,
    start: str,
    treated: str,
    population: pd.DataFrame | None = None,
    frequency: str = "month",
) -> Design:
    """A Design straight from frames indexed by period, for method-level tests."""
    periods = pd.PeriodIndex(values.index)
    rows = pd.DataFrame(
        np.arange(1, values.size + 1).reshape(values.shape),
        index=values.index,
        columns=values.columns,
    )
    return Design(
        analysis="test",
        file="memory.csv",
        frequency=frequency,
        periods=periods,
        start=pd.Period(start, freq=periods.freq),
        treated=treated,
        comparison=tuple(c for c in values.columns if c != treated),
        values=values,
        population=population,
        rows=rows,
        value_name="deaths",
        single_series=len(values.columns) == 1,
    )


def months(n: int, first: str = "2010-01") -> pd.PeriodIndex:
    return pd.period_range(first, periods=n, freq="M")
