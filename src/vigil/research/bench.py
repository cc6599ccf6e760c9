"""A seeded synthetic panel of areas for the benchmark and the tests: monthly deaths by area."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

STUDY = """\
title = "Benchmark: {areas} areas, {years} years of monthly deaths (synthetic, seed {seed})"
area_definition = "synthetic areas; area-01 receives the intervention"
death_definition = "synthetic Poisson counts with seasonality and area trends"

[data]
file = "panel.csv"
unit = "area"
time = "month"
value = "deaths"
population = "population"

[intervention]
unit = "area-01"
start = "{start}"

[[analysis]]
name = "synthetic-control"
method = "synthetic_control"

[[analysis]]
name = "its"
method = "its"

[[analysis]]
name = "did"
method = "did"

[[analysis]]
name = "before-after"
method = "before_after"
"""


def panel(
    areas: int = 50,
    years: int = 10,
    seed: int = 2016,
    effect: float = 0.8,
    first_month: str = "2013-01",
) -> tuple[pd.DataFrame, str]:
    """Long-format monthly deaths by area and the intervention start (half-way through).

    Each area has its own population, base rate and trend on a shared seasonal cycle; the
    first area's rate is multiplied by `effect` from the start on.
    """
    rng = np.random.default_rng(seed)
    months = pd.period_range(first_month, periods=12 * years, freq="M")
    start = months[len(months) // 2]
    t = np.arange(len(months))
    season = 0.1 * np.sin(2 * np.pi * (np.asarray(months.month) - 1) / 12)
    frames = []
    for i in range(areas):
        population = float(rng.uniform(50_000, 400_000))
        rate = rng.uniform(10, 40) / 100_000 / 12  # deaths per person-month
        trend = rng.normal(0.002, 0.002)
        mu = population * rate * np.exp(trend * t + season)
        if i == 0:
            mu = mu * np.where(months >= start, effect, 1.0)
        frames.append(
            pd.DataFrame(
                {
                    "area": f"area-{i + 1:02d}",
                    "month": [str(m) for m in months],
                    "deaths": rng.poisson(mu),
                    "population": np.round(population * np.exp(0.001 * t)).astype(int),
                }
            )
        )
    return pd.concat(frames, ignore_index=True), str(start)


def write_study(folder: Path, areas: int = 50, years: int = 10, seed: int = 2016) -> Path:
    data, start = panel(areas=areas, years=years, seed=seed)
    folder.mkdir(parents=True, exist_ok=True)
    data.to_csv(folder / "panel.csv", index=False)
    study = folder / "study.toml"
    study.write_text(
        STUDY.format(areas=areas, years=years, seed=seed, start=start), encoding="utf-8"
    )
    return study
