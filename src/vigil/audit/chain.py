"""The hash chain, as pure logic: sealing an entry and walking a chain to find the first bad one.

Each entry's `hash` is HMAC-SHA256(key, canonical JSON of every field, `seq` and `prev_hash`
included); `prev_hash` is the hash of the entry before it (GENESIS for the first). Without the
key nobody can write an entry that verifies, so a changed field, a forged row, a deleted or
renumbered row all break the walk. The chain's head is also kept outside the database (a
lower bound), so deleting the newest rows is caught too.

No database here: `verify` walks any iterable of `Entry` (rows from the database or lines of
an export file).
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime

GENESIS = "0" * 64

# Every field that the hash covers, in the order an export writes them.
SEALED = (
    "seq",
    "at",
    "actor_kind",
    "actor_id",
    "actor_name",
    "via",
    "os_user",
    "action",
    "subject_type",
    "subject_id",
    "participant_id",
    "site_id",
    "detail",
    "prev_hash",
)


def format_at(moment: datetime) -> str:
    """One text for a moment whatever database it came back from: UTC, microseconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


@dataclass(frozen=True)
class Entry:
    seq: int
    at: str
    actor_kind: str
    actor_id: int | None
    actor_name: str
    via: str
    os_user: str
    action: str
    subject_type: str
    subject_id: int | None
    participant_id: int | None
    site_id: int | None
    detail: dict
    prev_hash: str
    hash: str = ""

    def sealed_fields(self) -> dict:
        values = asdict(self)
        return {name: values[name] for name in SEALED}

    def as_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_dict(cls, values: dict) -> Entry:
        return cls(**{name: values[name] for name in (*SEALED, "hash")})


def canonical(values: dict) -> bytes:
    return json.dumps(
        {name: values[name] for name in SEALED},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()


def seal(key: bytes, entry: Entry) -> str:
    return hmac.new(key, canonical(entry.sealed_fields()), hashlib.sha256).hexdigest()


def sealed(key: bytes, entry: Entry) -> Entry:
    return replace(entry, hash=seal(key, entry))


@dataclass(frozen=True)
class Head:
    """What the chain's newest entry was, as written somewhere else (a lower bound)."""

    seq: int
    hash: str
    source: str


@dataclass(frozen=True)
class Problem:
    seq: int
    kind: str  # changed | inserted | missing | reordered | truncated | head
    message: str


@dataclass
class Result:
    count: int = 0
    first: int | None = None
    last: int | None = None
    problem: Problem | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.problem is None

    def summary(self) -> str:
        if self.problem is not None:
            return f"NOT intact: entry {self.problem.seq}: {self.problem.message}"
        span = f" (seq {self.first}–{self.last})" if self.count else ""
        return f"intact, {self.count} entries{span}"


def _lookahead(entries: Iterable[Entry]) -> Iterator[tuple[Entry, Entry | None]]:
    iterator = iter(entries)
    current = next(iterator, None)
    while current is not None:
        following = next(iterator, None)
        yield current, following
        current = following


def _written_as(key: bytes, entry: Entry, candidates: Iterable[int]) -> int | None:
    """The sequence number this entry was sealed with, if it is one of `candidates`."""
    for seq in sorted(set(candidates)):
        if seq != entry.seq and seq > 0 and seal(key, replace(entry, seq=seq)) == entry.hash:
            return seq
    return None


def _diagnose_bad_seal(
    key: bytes,
    entry: Entry,
    following: Entry | None,
    expected_prev: str,
    find_by_hash: Callable[[str], Entry | None],
) -> Problem:
    """An entry whose hash does not match its fields: say what most likely happened."""
    before = find_by_hash(entry.prev_hash) if entry.prev_hash != GENESIS else None
    candidates = list(range(entry.seq - 3, entry.seq + 4))
    if before is not None:
        candidates += [before.seq - 1, before.seq, before.seq + 1]
    if entry.prev_hash == GENESIS:
        candidates.append(1)
    original = _written_as(key, entry, candidates)
    if original is not None:
        if entry.prev_hash != GENESIS and before is None and original > entry.seq:
            return Problem(
                entry.seq,
                "missing",
                f"this entry was written as seq {original}; the entry before it is gone "
                "(deleted) and the later entries were renumbered",
            )
        return Problem(
            entry.seq,
            "reordered",
            f"this entry was written as seq {original}: entries were moved (sequence numbers "
            "changed)",
        )
    if following is not None and following.prev_hash == entry.hash:
        return Problem(
            entry.seq,
            "changed",
            "its content no longer matches its hash (a field was changed after it was written)",
        )
    if following is not None and following.prev_hash == expected_prev:
        return Problem(
            entry.seq,
            "inserted",
            "it is not an entry Vigil wrote (its hash is wrong and the next entry follows the "
            "one before it): a row was inserted",
        )
    if following is None:
        return Problem(
            entry.seq,
            "changed",
            "its content does not match its hash: the newest entry was changed, or a forged "
            "entry was added at the end",
        )
    return Problem(
        entry.seq,
        "changed",
        "its content does not match its hash (changed, or forged and inserted)",
    )


def verify(
    entries: Iterable[Entry],
    key: bytes,
    *,
    heads: Iterable[Head] = (),
    anchored: bool = True,
    find_by_hash: Callable[[str], Entry | None] = lambda _hash: None,
) -> Result:
    """Walk `entries` in the order of their sequence numbers and stop at the first bad one.

    `anchored`: the chain starts at seq 1 after GENESIS (the whole log); otherwise (a partial
    export) the first entry's own `prev_hash` and `seq` are taken as the starting point.
    `heads` are lower bounds kept elsewhere: the chain must reach each and agree with it.
    `find_by_hash` finds an entry by its hash, to tell a moved entry from a changed one.
    """
    heads = [h for h in heads if h.seq > 0]
    wanted = {h.seq for h in heads}
    seen_at: dict[int, str] = {}
    result = Result()
    expected_seq = 1 if anchored else None
    expected_prev = GENESIS
    for entry, following in _lookahead(entries):
        if expected_seq is None:  # a partial export: it starts where it starts
            expected_seq, expected_prev = entry.seq, entry.prev_hash
        if entry.seq != expected_seq:
            if entry.seq < expected_seq:
                result.problem = Problem(
                    entry.seq,
                    "reordered",
                    f"seq {entry.seq} appears again after {expected_seq - 1}",
                )
            else:
                missing = (
                    f"entry {expected_seq} is missing"
                    if entry.seq == expected_seq + 1
                    else f"entries {expected_seq}–{entry.seq - 1} are missing"
                )
                result.problem = Problem(expected_seq, "missing", f"{missing} (deleted)")
            return result
        if seal(key, entry) != entry.hash:
            result.problem = _diagnose_bad_seal(key, entry, following, expected_prev, find_by_hash)
            return result
        if entry.prev_hash != expected_prev:
            result.problem = Problem(
                entry.seq,
                "missing" if find_by_hash(entry.prev_hash) is None else "reordered",
                f"it does not follow entry {entry.seq - 1}: the entry it was written after "
                + (
                    "is gone (deleted)"
                    if find_by_hash(entry.prev_hash) is None
                    else "is elsewhere in the log"
                ),
            )
            return result
        if entry.seq in wanted:
            seen_at[entry.seq] = entry.hash
        result.count += 1
        result.first = entry.seq if result.first is None else result.first
        result.last = entry.seq
        expected_seq, expected_prev = entry.seq + 1, entry.hash
    for head in sorted(heads, key=lambda h: h.seq):
        if result.last is None or head.seq > result.last:
            ends = f"ends at seq {result.last}" if result.last else "is empty"
            result.problem = Problem(
                (result.last or 0) + 1,
                "truncated",
                f"the log {ends} but the {head.source} says it reached seq {head.seq}: "
                "the newest entries were deleted",
            )
            return result
        if head.seq >= (result.first or 1) and seen_at.get(head.seq) != head.hash:
            result.problem = Problem(
                head.seq,
                "head",
                f"it differs from the {head.source} (the log was replaced or rewritten)",
            )
            return result
    return result
