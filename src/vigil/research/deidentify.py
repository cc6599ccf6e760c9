"""k-anonymity by full-domain generalisation and suppression (pure: pandas in, pandas out).

The quasi-identifiers of a record-level export are the ones someone could know about a person
from outside: site, month of first visit, age band, gender, housing. Each has a ladder of
generalisations (month → quarter → year → any; age bands merged, then any; gender → any;
housing grouped, then any; site → any). A *node* picks one rung per ladder. For every node the
records fall into equivalence classes (equal quasi-identifiers); classes of fewer than k records
would be suppressed (dropped). A node is acceptable when it suppresses at most
`max_suppression` of the records; among the acceptable nodes the one that generalises least
(the smallest sum of rung / ladder height) is chosen, ties going to the one that suppresses
fewest. Generalising never splits a class, so suppression only falls as nodes rise: the chosen
node is minimal (no node below it is acceptable), the idea of Samarati (2001) and of
LeFevre et al.'s Incognito (2005), searched exhaustively here because the lattice is small
(4 x 3 x 2 x 3 x 2 = 144 nodes).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

ANY = "any"
NOT_RECORDED = "not recorded"


def _quarter(month: str) -> str:
    if month in (ANY, NOT_RECORDED):
        return month
    year, m = month.split("-")
    return f"{year}-Q{(int(m) - 1) // 3 + 1}"


def _year(month: str) -> str:
    return month if month in (ANY, NOT_RECORDED) else month[:4]


AGE_MERGED = {
    "<20": "under 30",
    "20-29": "under 30",
    "30-39": "30-49",
    "40-49": "30-49",
    "50-59": "50 and over",
    "60+": "50 and over",
}
HOUSING_GROUPED = {
    "unsheltered": "unhoused or unstably housed",
    "shelter": "unhoused or unstably housed",
    "unstable": "unhoused or unstably housed",
    "housed": "housed",
    "not_said": "not said or not recorded",
    NOT_RECORDED: "not said or not recorded",
}


def _mapped(table: dict[str, str]) -> Callable[[str], str]:
    return lambda value: table.get(value, value)


def _everything(value: str) -> str:
    return ANY


@dataclass(frozen=True)
class Ladder:
    column: str
    rungs: tuple[str, ...]  # the name of each level, from the data as they are
    steps: tuple[Callable[[str], str], ...]  # level i+1 from the original value

    @property
    def height(self) -> int:
        return len(self.rungs) - 1


LADDERS = (
    Ladder("site", ("site", "any site"), (_everything,)),
    Ladder(
        "first_visit",
        ("month", "quarter", "year", "any"),
        (_quarter, _year, _everything),
    ),
    Ladder("age_band", ("band", "merged bands", "any"), (_mapped(AGE_MERGED), _everything)),
    Ladder("gender", ("gender", "any"), (_everything,)),
    Ladder("housing", ("housing", "grouped", "any"), (_mapped(HOUSING_GROUPED), _everything)),
)
QUASI_IDENTIFIERS = tuple(ladder.column for ladder in LADDERS)


@dataclass(frozen=True)
class Choice:
    k: int
    levels: dict[str, str]  # quasi-identifier -> the rung chosen
    node: tuple[int, ...]
    records: int
    suppressed: int
    classes: int


def generalise(frame: pd.DataFrame, node: tuple[int, ...]) -> pd.DataFrame:
    out = frame.copy()
    for ladder, level in zip(LADDERS, node, strict=True):
        if level:
            step = ladder.steps[level - 1]
            out[ladder.column] = out[ladder.column].map(step)
    return out


def class_sizes(frame: pd.DataFrame) -> pd.Series:
    """The size of each record's equivalence class, record by record."""
    if frame.empty:
        return pd.Series([], dtype=int, index=frame.index)
    return frame.groupby(list(QUASI_IDENTIFIERS), dropna=False)[QUASI_IDENTIFIERS[0]].transform(
        "size"
    )


def nodes() -> list[tuple[int, ...]]:
    return list(itertools.product(*(range(ladder.height + 1) for ladder in LADDERS)))


def loss(node: tuple[int, ...]) -> float:
    return sum(level / ladder.height for ladder, level in zip(LADDERS, node, strict=True))


class _Coded:
    """Each quasi-identifier at each rung as integer codes, so a node's classes are one
    mixed-radix key per record and np.unique counts them (the search tries every node)."""

    def __init__(self, frame: pd.DataFrame) -> None:
        self.codes: list[list[np.ndarray]] = []
        self.sizes: list[list[int]] = []
        for ladder in LADDERS:
            original = frame[ladder.column].astype(str)
            per_level, sizes = [], []
            for level in range(ladder.height + 1):
                values = original if level == 0 else original.map(ladder.steps[level - 1])
                codes, uniques = pd.factorize(values)
                per_level.append(codes.astype(np.int64))
                sizes.append(max(len(uniques), 1))
            self.codes.append(per_level)
            self.sizes.append(sizes)

    def class_sizes(self, node: tuple[int, ...]) -> np.ndarray:
        key = np.zeros(len(self.codes[0][0]), dtype=np.int64)
        for i, level in enumerate(node):
            key = key * self.sizes[i][level] + self.codes[i][level]
        _, inverse, counts = np.unique(key, return_inverse=True, return_counts=True)
        return counts[inverse]


def anonymise(
    frame: pd.DataFrame, k: int = 5, max_suppression: float = 0.05
) -> tuple[pd.DataFrame, Choice]:
    """The records generalised and suppressed to be k-anonymous over QUASI_IDENTIFIERS.

    `frame` holds one row per person with the quasi-identifier columns (strings; blanks as
    "not recorded") and any other columns, which pass through untouched.
    """
    if k < 2:
        raise ValueError("k must be at least 2")
    if not 0 <= max_suppression < 1:
        raise ValueError("max_suppression must be a share from 0 to below 1")
    frame = frame.reset_index(drop=True)
    n = len(frame)
    budget = max_suppression * n
    top = tuple(ladder.height for ladder in LADDERS)
    coded = _Coded(frame) if n else None
    best: tuple[tuple[float, int, tuple[int, ...]], np.ndarray] | None = None
    for node in nodes():
        sizes = coded.class_sizes(node) if coded else np.zeros(0, dtype=np.int64)
        small = int((sizes < k).sum())
        if small > budget and node != top:
            continue
        key = (loss(node), small, node)
        if best is None or key < best[0]:
            best = (key, sizes)
    assert best is not None  # the top node is always taken
    (_, suppressed, node), sizes = best
    kept = generalise(frame, node)[sizes >= k].reset_index(drop=True)
    levels = {
        ladder.column: ladder.rungs[level] for ladder, level in zip(LADDERS, node, strict=True)
    }
    classes = 0 if kept.empty else int(kept.groupby(list(QUASI_IDENTIFIERS)).ngroups)
    return kept, Choice(
        k=k,
        levels=levels,
        node=node,
        records=n,
        suppressed=suppressed,
        classes=classes,
    )
