"""The chain as pure logic: sealing, and the first bad entry for every kind of tampering."""

from dataclasses import replace

from vigil.audit.chain import GENESIS, Entry, Head, seal, sealed, verify

KEY = b"test-key"


def make_chain(n: int, key: bytes = KEY) -> list[Entry]:
    entries, prev = [], GENESIS
    for seq in range(1, n + 1):
        entry = sealed(
            key,
            Entry(
                seq=seq,
                at=f"2026-01-01T00:00:{seq:02d}.000000Z",
                actor_kind="staff",
                actor_id=7,
                actor_name="nurse",
                via="web",
                os_user="",
                action="participant.open",
                subject_type="participants.participant",
                subject_id=seq,
                participant_id=seq,
                site_id=1,
                detail={"n": seq},
                prev_hash=prev,
            ),
        )
        entries.append(entry)
        prev = entry.hash
    return entries


def finder(entries):
    by_hash = {e.hash: e for e in entries}
    return by_hash.get


def test_an_intact_chain_verifies():
    entries = make_chain(5)
    result = verify(entries, KEY, heads=[Head(5, entries[-1].hash, "head file")])
    assert result.ok and result.count == 5 and (result.first, result.last) == (1, 5)
    assert result.summary() == "intact, 5 entries (seq 1–5)"


def test_an_empty_log_is_intact():
    assert verify([], KEY).ok


def test_another_key_fails_at_the_first_entry():
    result = verify(make_chain(3), b"other-key")
    assert not result.ok and result.problem.seq == 1


def test_every_field_is_sealed():
    entry = make_chain(1)[0]
    for name, value in {
        "seq": 2,
        "at": "2026-01-01T00:00:02.000000Z",
        "actor_kind": "os_user",
        "actor_id": 8,
        "actor_name": "someone",
        "via": "cli",
        "os_user": "root",
        "action": "participant.register",
        "subject_type": "floor.visit",
        "subject_id": 99,
        "participant_id": 99,
        "site_id": 2,
        "detail": {"n": 2},
        "prev_hash": "1" * 64,
    }.items():
        assert seal(KEY, replace(entry, **{name: value})) != entry.hash, name


def test_a_changed_entry_is_named():
    entries = make_chain(5)
    entries[2] = replace(entries[2], actor_name="someone else")
    result = verify(entries, KEY, find_by_hash=finder(entries))
    assert (result.problem.seq, result.problem.kind) == (3, "changed")


def test_a_deleted_entry_is_named():
    entries = make_chain(5)
    del entries[2]
    result = verify(entries, KEY, find_by_hash=finder(entries))
    assert (result.problem.seq, result.problem.kind) == (3, "missing")
    assert "entry 3 is missing" in result.problem.message


def test_a_deletion_hidden_by_renumbering_is_named():
    entries = make_chain(5)
    del entries[2]
    entries = [replace(e, seq=i) for i, e in enumerate(entries, start=1)]
    result = verify(entries, KEY, find_by_hash=finder(entries))
    assert (result.problem.seq, result.problem.kind) == (3, "missing")
    assert "written as seq 4" in result.problem.message


def test_deleting_the_newest_entries_is_caught_by_the_head():
    entries = make_chain(5)
    head = Head(5, entries[-1].hash, "head file")
    result = verify(entries[:3], KEY, heads=[head])
    assert (result.problem.seq, result.problem.kind) == (4, "truncated")
    assert "head file says it reached seq 5" in result.problem.message


def test_a_log_that_differs_from_its_head_is_caught():
    entries = make_chain(5)
    other = make_chain(5, key=b"other")  # a whole other log, not this one
    result = verify(entries, KEY, heads=[Head(5, other[-1].hash, "head file")])
    assert (result.problem.seq, result.problem.kind) == (5, "head")


def test_a_forged_entry_inserted_in_the_middle_is_named():
    entries = make_chain(5)
    forged = replace(entries[2], actor_name="forger", prev_hash=entries[1].hash, hash="f" * 64)
    shifted = [replace(e, seq=e.seq + 1) for e in entries[2:]]
    tampered = [*entries[:2], replace(forged, seq=3), *shifted]
    result = verify(tampered, KEY, find_by_hash=finder(tampered))
    assert (result.problem.seq, result.problem.kind) == (3, "inserted")


def test_a_forged_entry_at_the_end_is_named():
    entries = make_chain(5)
    forged = replace(entries[-1], seq=6, prev_hash=entries[-1].hash, hash="f" * 64)
    result = verify([*entries, forged], KEY, find_by_hash=finder(entries))
    assert result.problem.seq == 6
    assert "forged" in result.problem.message


def test_swapped_entries_are_named_as_reordered():
    entries = make_chain(5)
    a, b = entries[2], entries[3]
    tampered = [*entries[:2], replace(b, seq=3), replace(a, seq=4), entries[4]]
    result = verify(tampered, KEY, find_by_hash=finder(tampered))
    assert (result.problem.seq, result.problem.kind) == (3, "reordered")
    assert "written as seq 4" in result.problem.message


def test_a_partial_copy_verifies_from_its_first_entry():
    entries = make_chain(6)
    assert verify(entries[3:], KEY, anchored=False).ok
    assert not verify(entries[3:], KEY, anchored=True).ok
    broken = [entries[3], replace(entries[4], detail={"n": 0}), entries[5]]
    assert verify(broken, KEY, anchored=False).problem.seq == 5
