"""The gateway splits messages itself (`_Segment`) instead of building python-hl7's containers
with `hl7.parse`, which cost two thirds of its time per message. This checks the two agree:
every field, repetition and component the gateway can read comes out the same from
`hl7.parse` (walked as the gateway walked it before) and from `_Segment`, on every sample
message from real monitors and on generated ones."""

from typing import Any

import hl7
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.monitoring.hl7in import _delimiters, _Segment
from vigil.monitoring.tests import hl7_samples as samples

DELIMITERS = "|^~\\&"


def _items(node: Any) -> list[Any]:
    return [node] if isinstance(node, str) else list(node)


def _first_leaf(node: Any) -> str:
    while not isinstance(node, str):
        if not node:
            return ""
        node = node[0]
    return node


def reference_components(segment: Any, field: int, repetition: int) -> list[str]:
    """How the gateway read python-hl7's containers (it nests a field only as far as its text
    needs, so each level may be a string or a list)."""
    if field >= len(segment):
        return []
    repetitions = _items(segment[field])
    if repetition >= len(repetitions):
        return []
    return [_first_leaf(part) for part in _items(repetitions[repetition])]


def reference_repetitions(segment: Any, field: int) -> int:
    return len(_items(segment[field])) if field < len(segment) else 0


def assert_same_split(text: str) -> int:
    """Every readable field of every segment, compared; returns how many were compared."""
    fs, enc = _delimiters(text)
    text = "\r".join(line for line in text.split("\r") if line)
    library = hl7.parse(text)
    ours = [_Segment(line, fs, enc) for line in text.strip().split("\r")]
    assert len(ours) == len(library)
    compared = 0
    for theirs, mine in zip(library, ours, strict=True):
        assert mine.fields[0] == _first_leaf(theirs[0])
        for field in range(3 if mine.fields[0] == "MSH" else 1, len(theirs) + 2):
            count = reference_repetitions(theirs, field)
            assert len(mine.repetitions(field)) == count, (mine.fields[0], field)
            for repetition in range(count + 1):
                want = reference_components(theirs, field, repetition)
                got = mine.components(field, str, count=len(want), repetition=repetition)
                assert got == want, (mine.fields[0], field, repetition)
                compared += 1
    return compared


@pytest.mark.parametrize("name", sorted(samples.REAL_SHAPES))
def test_every_real_monitor_message_splits_as_python_hl7_splits_it(name):
    text = samples.received(name).replace("\r\n", "\r").replace("\n", "\r")
    # PID and PV1 are dropped before the split, but splitting them too checks more shapes.
    assert assert_same_split(text) > 50


def test_msh_field_n_is_at_index_n_as_in_python_hl7():
    segment = _Segment("MSH|^~\\&|APP^0009FBFFFF9B42B3^EUI-64|FAC", "|", "^~\\&")
    assert segment.fields[1] == "|"
    assert segment.components(3, str, count=3) == ["APP", "0009FBFFFF9B42B3", "EUI-64"]
    assert segment.components(4, str, count=2) == ["FAC", ""]
    assert segment.components(9, str, count=2) == ["", ""]  # past the end: padded


def test_components_are_unescaped_after_the_split():
    def unescape(value: str) -> str:
        return value.replace("\\S\\", "^")

    segment = _Segment("OBX|1|ST|A\\S\\B^C&D~E", "|", "^~\\&")
    assert segment.components(3, unescape, count=2) == ["A^B", "C"]
    assert segment.components(3, unescape, count=1, repetition=1) == ["E"]
    assert len(segment.repetitions(3)) == 2


PIECES = st.text(alphabet="AB1.-^~&| \\", max_size=12)
SEGMENT = st.builds(
    lambda segment_id, fields: "|".join([segment_id, *fields]),
    st.sampled_from(["OBX", "OBR", "PID", "NTE"]),
    st.lists(PIECES, max_size=22),
)


@settings(max_examples=300, deadline=None)
@given(
    header=st.lists(PIECES, min_size=10, max_size=20),
    segments=st.lists(SEGMENT, max_size=6),
)
def test_generated_messages_split_as_python_hl7_splits_them(header, segments):
    # Escape characters are left to the unescaper, which is the same either way; a backslash
    # inside a field is an ordinary character to both splits.
    msh = "MSH|" + DELIMITERS[1:] + "|" + "|".join(header)
    assert_same_split("\r".join([msh, *segments]))
