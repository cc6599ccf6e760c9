"""The sealed stream under backups: round trip in many frames, and every kind of damage or a
wrong key is refused with a message that says which."""

import io
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vigil.keeping import sealed

KEY = sealed.new_key()


def seal(data: bytes, key: bytes = KEY, chunk: int = 64) -> bytes:
    out = io.BytesIO()
    writer = sealed.SealedWriter(out, key, {"created": "test"}, chunk_size=chunk)
    for start in range(0, len(data), 50):
        writer.write(data[start : start + 50])
    writer.close()
    return out.getvalue()


def unseal(blob: bytes, key: bytes = KEY) -> bytes:
    reader = sealed.SealedReader(io.BytesIO(blob), key)
    data = reader.read()
    reader.drain()
    return data


def frames(blob: bytes) -> tuple[bytes, list[bytes]]:
    header_len = struct.unpack(">I", blob[10:14])[0]
    at = 14 + header_len
    head, parts = blob[:at], []
    while at < len(blob):
        n = struct.unpack(">I", blob[at : at + 4])[0]
        parts.append(blob[at : at + 4 + n])
        at += 4 + n
    return head, parts


@settings(max_examples=40, deadline=None)
@given(st.binary(max_size=1000))
def test_round_trip(data):
    assert unseal(seal(data)) == data


def test_plaintext_does_not_appear():
    blob = seal(b"participant notes: under the bridge " * 20)
    assert b"bridge" not in blob


def test_wrong_key_is_named_as_such():
    with pytest.raises(sealed.SealError, match="different backup key"):
        unseal(seal(b"x" * 300), sealed.new_key())


def test_flipped_byte_is_damage():
    blob = bytearray(seal(b"x" * 300))
    blob[-40] ^= 1
    with pytest.raises(sealed.SealError, match="damaged or was altered"):
        unseal(bytes(blob))


def test_cut_short_is_caught_even_at_a_frame_boundary():
    head, parts = frames(seal(b"x" * 300))
    assert len(parts) == 5
    with pytest.raises(sealed.SealError, match="cut short"):
        unseal(head + b"".join(parts[:-1]))
    with pytest.raises(sealed.SealError, match="cut short"):
        unseal(seal(b"x" * 300)[:-7])


def test_reordered_or_repeated_frames_fail():
    head, parts = frames(seal(b"abcdefgh" * 40))
    with pytest.raises(sealed.SealError, match="altered"):
        unseal(head + parts[1] + parts[0] + b"".join(parts[2:]))
    with pytest.raises(sealed.SealError, match="altered"):
        unseal(head + parts[0] + parts[0] + b"".join(parts[1:]))


def test_extra_data_after_the_end_is_damage():
    with pytest.raises(sealed.SealError, match="after its end"):
        unseal(seal(b"x" * 100) + b"junk")


def test_not_a_backup():
    with pytest.raises(sealed.SealError, match="not a Vigil backup"):
        unseal(b"SQLite format 3\x00" + b"\x00" * 100)


def test_header_is_bound_to_the_frames():
    blob = seal(b"x" * 100)
    tampered = blob.replace(b'"created": "test"', b'"created": "tset"')
    assert tampered != blob
    with pytest.raises(sealed.SealError, match="altered"):
        unseal(tampered)


def test_key_encoding_round_trips_and_rejects_junk():
    assert sealed.decode_key(sealed.encode_key(KEY)) == KEY
    with pytest.raises(sealed.SealError):
        sealed.decode_key("c2hvcnQ=")
