"""A sealed stream: data encrypted in framed chunks with AES-256-GCM, written and read without
holding the whole of it in memory.

Fernet is all-or-nothing (a token is one message, decrypted at once), so a backup of a
database of several gigabytes is sealed in chunks instead:

    "VIGILSEAL" 0x01                 magic and format version
    u32 length, header (JSON)        {"key_id": ..., "created": ..., "chunk_size": ...}
    frames until the last one:
      u32 length, nonce (12 bytes), ciphertext + tag (16 bytes)

Each frame's associated data is the header, the frame's index and whether it is the last one:
a frame moved, dropped, repeated or taken from another file fails authentication, and a file
cut short ends before its last frame. The key is 32 random bytes; its id (the first bytes of
its SHA-256) in the header tells "wrong key" apart from "damaged file".
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import struct
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

MAGIC = b"VIGILSEAL\x01"
CHUNK_SIZE = 1 << 20
_LEN = struct.Struct(">I")
_AAD = struct.Struct(">QB")
_MAX_HEADER = 64 * 1024


class SealError(Exception):
    """The sealed file cannot be opened: the message says whether it is the key or the file."""


def new_key() -> bytes:
    return AESGCM.generate_key(bit_length=256)


def key_id(key: bytes) -> str:
    return hashlib.sha256(b"vigil backup key\x00" + key).hexdigest()[:16]


def encode_key(key: bytes) -> str:
    return base64.urlsafe_b64encode(key).decode()


def decode_key(text: str) -> bytes:
    try:
        key = base64.urlsafe_b64decode(text.strip().encode())
    except ValueError as exc:
        raise SealError("The backup key file does not hold a backup key.") from exc
    if len(key) != 32:
        raise SealError("The backup key file does not hold a backup key (32 bytes, base64).")
    return key


class SealedWriter(io.RawIOBase):
    """A write-only file object: what is written is sealed frame by frame into `out`."""

    def __init__(self, out: BinaryIO, key: bytes, header: dict, chunk_size: int = CHUNK_SIZE):
        super().__init__()
        self._out = out
        self._aead = AESGCM(key)
        self._chunk = chunk_size
        header = {**header, "key_id": key_id(key), "chunk_size": chunk_size}
        self._header = json.dumps(header, sort_keys=True).encode()
        out.write(MAGIC + _LEN.pack(len(self._header)) + self._header)
        self._buffer = bytearray()
        self._index = 0

    def writable(self) -> bool:
        return True

    def write(self, data) -> int:  # type: ignore[override]
        self._buffer += data
        while len(self._buffer) > self._chunk:
            self._frame(bytes(self._buffer[: self._chunk]), last=False)
            del self._buffer[: self._chunk]
        return len(data)

    def _frame(self, plain: bytes, *, last: bool) -> None:
        nonce = os.urandom(12)
        sealed = self._aead.encrypt(nonce, plain, self._header + _AAD.pack(self._index, last))
        self._out.write(_LEN.pack(len(nonce) + len(sealed)) + nonce + sealed)
        self._index += 1

    def close(self) -> None:
        if not self.closed:
            # Always end with a frame marked last (possibly empty): its absence means truncation.
            self._frame(bytes(self._buffer), last=True)
            self._buffer.clear()
            self._out.flush()
        super().close()


def read_header(source: BinaryIO) -> tuple[bytes, dict]:
    magic = source.read(len(MAGIC))
    if magic != MAGIC:
        raise SealError("This is not a Vigil backup (or its first bytes are damaged).")
    raw_length = source.read(_LEN.size)
    if len(raw_length) != _LEN.size:
        raise SealError("The backup file is cut short.")
    (length,) = _LEN.unpack(raw_length)
    if length > _MAX_HEADER:
        raise SealError("The backup file's header is damaged.")
    raw = source.read(length)
    try:
        header = json.loads(raw)
    except ValueError as exc:
        raise SealError("The backup file's header is damaged.") from exc
    return raw, header


class SealedReader(io.RawIOBase):
    """A read-only file object giving back what a SealedWriter sealed, checking every frame."""

    def __init__(self, source: BinaryIO, key: bytes):
        super().__init__()
        self._source = source
        self._header_raw, self.header = read_header(source)
        if self.header.get("key_id") != key_id(key):
            raise SealError(
                "This backup was sealed with a different backup key (key id "
                f"{self.header.get('key_id')}; the key given has id {key_id(key)})."
            )
        self._aead = AESGCM(key)
        self._pending = b""
        self._index = 0
        self._done = False
        self._limit = int(self.header.get("chunk_size", CHUNK_SIZE)) + 12 + 16

    def readable(self) -> bool:
        return True

    def _next_frame(self) -> None:
        raw_length = self._source.read(_LEN.size)
        if not raw_length:
            raise SealError("The backup file is cut short: its last part is missing.")
        if len(raw_length) != _LEN.size:
            raise SealError("The backup file is cut short.")
        (length,) = _LEN.unpack(raw_length)
        if not 28 <= length <= self._limit:
            raise SealError(f"The backup file is damaged (part {self._index + 1}).")
        frame = self._source.read(length)
        if len(frame) != length:
            raise SealError("The backup file is cut short.")
        nonce, sealed = frame[:12], frame[12:]
        for last in (False, True):
            try:
                plain = self._aead.decrypt(
                    nonce, sealed, self._header_raw + _AAD.pack(self._index, last)
                )
            except InvalidTag:
                continue
            self._index += 1
            self._pending = plain
            if last:
                self._done = True
                if self._source.read(1):
                    raise SealError("The backup file has data after its end: it is damaged.")
            return
        raise SealError(
            f"The backup file is damaged or was altered (part {self._index + 1} fails its check)."
        )

    def readinto(self, buffer) -> int:  # type: ignore[override]
        while not self._pending and not self._done:
            self._next_frame()
        n = min(len(buffer), len(self._pending))
        buffer[:n] = self._pending[:n]
        self._pending = self._pending[n:]
        return n

    def drain(self) -> None:
        """Read to the end, so a file with a damaged or missing tail is never taken as whole."""
        while self.read(CHUNK_SIZE):
            pass
