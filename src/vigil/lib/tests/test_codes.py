import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from vigil.lib.codes import (
    CodeError,
    CodeItems,
    build_code,
    code_hash,
    normalise_code,
    pronounceable_alias,
)


def test_code_is_built_from_the_items():
    items = CodeItems("María", 4, 1985, "w", "São Paulo")
    assert build_code(items) == "MA0485WS"


def test_unknown_items_become_nines():
    assert build_code(CodeItems("", None, None, "X", "")) == "999999X9"


@pytest.mark.parametrize(
    ("items", "message"),
    [
        (CodeItems("Ann", 32, 1985, "W", "B"), "Day of birth"),
        (CodeItems("Ann", 3, 85, "W", "B"), "four-digit year"),
        (CodeItems("Ann", 3, 1985, "Q", "B"), "Gender"),
        (CodeItems("12", 3, 1985, "W", "B"), "Mother's first name"),
    ],
)
def test_bad_items_are_named(items, message):
    with pytest.raises(CodeError, match=message):
        build_code(items)


@given(
    name=st.text(max_size=12),
    day=st.one_of(st.none(), st.integers(1, 31)),
    year=st.one_of(st.none(), st.integers(1900, 2100)),
    gender=st.sampled_from("WMXwmx"),
    place=st.text(max_size=8),
)
def test_any_valid_code_normalises_to_itself(name, day, year, gender, place):
    try:
        code = build_code(CodeItems(name, day, year, gender, place))
    except CodeError:
        return
    assert len(code) == 8
    assert normalise_code(code) == code
    assert normalise_code(f" {code[:4].lower()}-{code[4:]} ") == code


@given(st.text(max_size=20))
def test_normalise_never_raises(text):
    result = normalise_code(text)
    assert result is None or len(result) == 8


def test_hash_is_keyed():
    assert code_hash("MA0485WS", "k1") != code_hash("MA0485WS", "k2")
    assert code_hash("MA0485WS", "k1") == code_hash("MA0485WS", "k1")
    assert "MA0485WS" not in code_hash("MA0485WS", "k1")


def test_alias_is_pronounceable():
    alias = pronounceable_alias(random.Random(1))
    assert alias[0].isupper() and len(alias) == 6
    assert all(alias.lower()[i] in "aeiou" for i in (1, 3, 5))


def test_non_ascii_digits_and_letters_never_make_a_code():
    # Found by hypothesis: "²" is a digit to str.isdigit() but not to int().
    assert normalise_code("MA0²85WS") is None
    assert normalise_code("MA٠485WS") is None
