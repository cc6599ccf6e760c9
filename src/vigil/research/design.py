"""What one analysis sees: the periods of its window, the intervention unit, its comparisons."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from vigil.research.errors import Problem, StudyError
from vigil.research.periods import YEARS_PER_PERIOD

PER = 100_000  # rates are per 100,000 person-years


@dataclass(frozen=True)
class Design:
    analysis: str  # the analysis name, for messages
    file: str
    frequency: str
    periods: pd.PeriodIndex  # the analysis window, in order
    start: pd.Period  # the period that contains the intervention start: the first "after"
    treated: str
    comparison: tuple[str, ...]
    values: pd.DataFrame  # window x units
    population: pd.DataFrame | None
    rows: pd.DataFrame
    value_name: str
    single_series: bool

    @property
    def after(self) -> np.ndarray:
        return np.asarray(self.periods >= self.start)

    @property
    def n_before(self) -> int:
        return int((~self.after).sum())

    @property
    def n_after(self) -> int:
        return int(self.after.sum())

    def person_years(self) -> pd.DataFrame:
        if self.population is None:
            raise StudyError(
                Problem(self.file, f"analysis '{self.analysis}' needs a population column")
            )
        return self.population * YEARS_PER_PERIOD[self.frequency]

    def header(self) -> dict[str, object]:
        """Figures common to every method, so each result says what it was computed on."""
        return {
            "unit": None if self.single_series else self.treated,
            "comparison": list(self.comparison),
            "frequency": self.frequency,
            "start": str(self.start),
            "first_period": str(self.periods[0]),
            "last_period": str(self.periods[-1]),
            "periods_before": self.n_before,
            "periods_after": self.n_after,
        }

    def labels(self) -> list[str]:
        return [str(p) for p in self.periods]
