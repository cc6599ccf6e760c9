"""k-anonymity of the record-level export: every class has at least k rows, generalisation is
minimal, and a realistic population keeps useful detail."""

import random

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.research import deidentify as D

AGES = ["<20", "20-29", "30-39", "40-49", "50-59", "60+", D.NOT_RECORDED]
GENDERS = ["man", "woman", "trans_nonbinary", "not_said", D.NOT_RECORDED]
HOUSING = ["unsheltered", "shelter", "unstable", "housed", "not_said", D.NOT_RECORDED]
MONTHS = [f"2026-{m:02d}" for m in range(1, 13)]

person = st.fixed_dictionaries(
    {
        "site": st.sampled_from(["North", "South"]),
        "first_visit": st.sampled_from(MONTHS),
        "age_band": st.sampled_from(AGES),
        "gender": st.sampled_from(GENDERS),
        "housing": st.sampled_from(HOUSING),
        "visits": st.sampled_from(["1", "2-4", "25+"]),
    }
)


def frame(rows):
    return pd.DataFrame(rows, columns=[*D.QUASI_IDENTIFIERS, "visits"])


@settings(max_examples=60, deadline=None)
@given(
    rows=st.lists(person, max_size=120),
    k=st.integers(2, 8),
    budget=st.sampled_from([0.0, 0.05, 0.2]),
)
def test_every_equivalence_class_has_at_least_k_rows(rows, k, budget):
    kept, choice = D.anonymise(frame(rows), k=k, max_suppression=budget)
    if not kept.empty:
        sizes = kept.groupby(list(D.QUASI_IDENTIFIERS)).size()
        assert sizes.min() >= k
    assert len(kept) == len(rows) - choice.suppressed
    # Within budget, unless nothing can be kept at all (fewer than k people).
    assert (
        choice.suppressed <= budget * len(rows) or len(rows) < k or choice.node == (1, 3, 2, 1, 2)
    )
    # Columns other than the quasi-identifiers pass through untouched, row for row.
    assert sorted(kept["visits"]) == sorted(
        frame(rows).loc[D.class_sizes(D.generalise(frame(rows), choice.node)) >= k, "visits"]
    )


@settings(max_examples=25, deadline=None)
@given(rows=st.lists(person, min_size=1, max_size=80), k=st.integers(2, 6))
def test_no_node_below_the_chosen_one_is_acceptable(rows, k):
    data = frame(rows)
    _, choice = D.anonymise(data, k=k, max_suppression=0.05)
    for node in D.nodes():
        below = all(a <= b for a, b in zip(node, choice.node, strict=True)) and node != choice.node
        if below:
            small = int((D.class_sizes(D.generalise(data, node)) < k).sum())
            assert small > 0.05 * len(rows), (node, choice.node)


def test_generalisation_ladders():
    row = frame(
        [
            {
                "site": "North",
                "first_visit": "2026-05",
                "age_band": "40-49",
                "gender": "woman",
                "housing": "shelter",
                "visits": "1",
            }
        ]
    )
    top = D.generalise(row, (1, 1, 1, 1, 1)).iloc[0]
    assert top["first_visit"] == "2026-Q2"
    assert top["age_band"] == "30-49"
    assert top["housing"] == "unhoused or unstably housed"
    assert top["site"] == top["gender"] == "any"
    assert D.generalise(row, (0, 2, 0, 0, 0)).iloc[0]["first_visit"] == "2026"
    assert (
        D.generalise(row, (0, 3, 2, 0, 2)).iloc[0][["first_visit", "age_band", "housing"]].tolist()
        == ["any"] * 3
    )


def test_fewer_than_k_people_leave_nothing():
    rows = [
        {
            "site": "N",
            "first_visit": "2026-01",
            "age_band": "<20",
            "gender": "man",
            "housing": "housed",
            "visits": "1",
        }
    ] * 3
    kept, choice = D.anonymise(frame(rows), k=5)
    assert kept.empty and choice.suppressed == 3


def realistic(n: int, seed: int) -> pd.DataFrame:
    """A synthetic population shaped like the demo's (and like published site populations):
    mostly men in their thirties and forties, most unhoused, two sites of unequal size, and
    registrations spread over a year."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        rows.append(
            {
                "site": rng.choices(["Seattle CHEL", "King County CHEL"], [70, 30])[0],
                "first_visit": rng.choices(MONTHS, [30, 14, 10, 9, 8, 7, 6, 5, 4, 3, 2, 2])[0],
                "age_band": rng.choices(AGES[:6] + [D.NOT_RECORDED], [2, 22, 33, 24, 14, 5, 4])[0],
                "gender": rng.choices(
                    ["man", "woman", "trans_nonbinary", D.NOT_RECORDED], [64, 28, 4, 4]
                )[0],
                "housing": rng.choices(HOUSING[:5], [35, 25, 20, 15, 5])[0],
                "visits": "1",
            }
        )
    return frame(rows)


def test_a_realistic_population_keeps_useful_detail():
    data = realistic(3000, seed=6)
    kept, choice = D.anonymise(data, k=5)
    assert choice.suppressed <= 0.05 * len(data)
    # Useful: both sites kept apart, no quasi-identifier given up entirely, little lost.
    assert choice.levels["site"] == "site"
    assert "any" not in choice.levels.values(), choice.levels
    assert D.loss(choice.node) <= 1.5, choice.levels  # of 5 for everything generalised away
    assert choice.classes >= 50
    assert kept.groupby(list(D.QUASI_IDENTIFIERS)).size().min() >= 5


def test_bad_parameters_are_refused():
    with pytest.raises(ValueError, match="k must be"):
        D.anonymise(frame([]), k=1)
    with pytest.raises(ValueError, match="max_suppression"):
        D.anonymise(frame([]), k=5, max_suppression=1.0)
