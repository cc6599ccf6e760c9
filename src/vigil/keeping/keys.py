"""Rotating the key ring of the encrypted fields (`vigil keys rotate`).

1. A new key goes to the front of the ring: every process encrypts with it from its next write
   (they re-read the ring when the file changes), and the old keys still open older values.
2. Every encrypted value not yet under the new key is re-encrypted, a batch of rows per
   transaction, walking the primary key. Interrupted, it is simply run again (`--resume`
   carries on with the newest key instead of adding another one).
3. With `--retire-old`, once a final pass finds no value under an old key, the old keys are
   dropped from the ring: a copy of an old key (an old backup of the data dir, a departed
   administrator) then opens nothing in the database.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from django.db import connection

from vigil.lib import crypto


@dataclass
class FieldTally:
    label: str  # app.Model.field
    values: int = 0
    under_newest: int = 0
    plaintext: int = 0

    @property
    def stale(self) -> int:
        return self.values - self.under_newest


@dataclass
class RotationResult:
    new_key: str | None
    reencrypted: dict[str, int] = field(default_factory=dict)
    retired: list[str] = field(default_factory=list)


def _columns():
    for model, f in crypto.encrypted_fields():
        yield (
            f"{model._meta.label}.{f.name}",
            model._meta.db_table,
            model._meta.pk.column,
            f.column,
        )


def tally() -> list[FieldTally]:
    """For each encrypted field: stored values, how many the newest key opens, and plaintext
    left from before encryption (should be none)."""
    ring = crypto.ring()
    tallies = []
    for label, table, pk, column in _columns():
        t = FieldTally(label)

        def count(value: str, t: FieldTally = t) -> None:
            t.values += 1
            if not crypto.looks_encrypted(value):
                t.plaintext += 1
            elif ring.opens_with_primary(value):
                t.under_newest += 1

        crypto.rewrite_column(connection, table, pk, column, lambda v, c=count: c(v))
        tallies.append(t)
    return tallies


def reencrypt(batch: int = 100, progress: Callable[[str, int, int], None] | None = None):
    """Re-encrypt with the newest key every value another key (or none) encrypted."""
    done: dict[str, int] = {}
    for label, table, pk, column in _columns():

        def change(value: str, label: str = label) -> str | None:
            ring = crypto.ring()
            if not crypto.looks_encrypted(value):
                return ring.encrypt(value)
            if ring.opens_with_primary(value):
                return None
            try:
                return ring.multi.rotate(value.encode()).decode()
            except Exception as exc:
                raise crypto.KeyRingError(
                    f"{label}: a value opens with no key in the ring; nothing after it was "
                    "re-encrypted. Restore the key ring that wrote it, then run again."
                ) from exc

        seen, changed = crypto.rewrite_column(connection, table, pk, column, change, batch=batch)
        done[label] = changed
        if progress:
            progress(label, seen, changed)
    return done


def rotate(
    *,
    retire_old: bool = False,
    resume: bool = False,
    batch: int = 100,
    progress: Callable[[str, int, int], None] | None = None,
) -> RotationResult:
    new_key = None if resume else crypto.add_key().primary.id
    result = RotationResult(new_key=new_key, reencrypted=reencrypt(batch, progress))
    if retire_old:
        left = [t for t in tally() if t.stale]
        if left:
            # Someone wrote with an old key meanwhile (a process that had not seen the new
            # ring yet): one more pass, then check again.
            reencrypt(batch, progress)
            left = [t for t in tally() if t.stale]
        if left:
            raise crypto.KeyRingError(
                "Values under old keys remain ("
                + ", ".join(f"{t.label}: {t.stale}" for t in left)
                + "); old keys kept. Run `vigil keys rotate --resume --retire-old` again."
            )
        result.retired = [k.id for k in crypto.retire_old_keys()]
    return result
