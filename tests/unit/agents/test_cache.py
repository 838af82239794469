"""A table read through a cache: the same answers as the table, fewer reads of it."""

from __future__ import annotations

import weakref
from collections import UserDict
from typing import Any

import pytest
from faust.streams import _current_event

from agents.cache import CachedTable


class CountingTable(UserDict[str, Any]):
    """What a Faust table with ``default=None`` answers, counting reads."""

    reads = 0

    def get(self, key: str, default: Any = None) -> Any:
        self.reads += 1
        return self.data.get(key, default)


def test_reads_come_from_the_cache_after_the_first() -> None:
    table = CountingTable({"a": [1]})
    cached = CachedTable(table)
    assert cached.get("a") == [1]
    assert cached.get("a") == [1]
    assert cached.get("missing") is None
    assert "missing" not in cached
    assert table.reads == 2  # once for each key, present or absent


def test_writes_and_deletes_reach_the_table_and_the_cache() -> None:
    table = CountingTable()
    cached = CachedTable(table)
    assert cached.get("k") is None
    cached["k"] = {"x": 1}
    assert table["k"] == {"x": 1}
    assert cached["k"] == {"x": 1}
    del cached["k"]
    assert "k" not in table
    with pytest.raises(KeyError):
        cached["k"]
    assert cached.get("k", "default") == "default"
    assert table.reads == 1


def test_iteration_and_length_are_the_tables() -> None:
    cached = CachedTable(CountingTable({"a": 1, "b": 2}))
    assert sorted(cached) == ["a", "b"]
    assert len(cached) == 2


def test_a_cleared_cache_reads_the_table_again() -> None:
    """What a rebalance does: partitions rebuilt from changelogs under the cache."""
    table = CountingTable({"a": 1})
    cached = CachedTable(table)
    cached.get("a")
    table.data["a"] = 2  # changed behind the cache (a recovery)
    assert cached.get("a") == 1
    cached.clear_cache()
    assert cached.get("a") == 2


def test_the_cache_stays_within_its_capacity() -> None:
    table = CountingTable({str(n): n for n in range(100)})
    cached = CachedTable(table, capacity=10)
    for n in range(100):
        assert cached.get(str(n)) == n
    assert len(cached._cache) <= 10
    assert cached.get("99") == 99  # the newest stay


class Event:
    """What the cache keeps of Faust's current event: the record's partition."""

    def __init__(self, partition: int) -> None:
        self.partition = partition


class RecordingTable(CountingTable):
    """Records each write with the event that was current when the table received it."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[tuple[str, Any, int]] = []
        self.current: Event | None = None

    def __setitem__(self, key: str, value: Any) -> None:
        assert self.current is not None
        self.writes.append((key, value, self.current.partition))
        super().__setitem__(key, value)

    def __delitem__(self, key: str) -> None:
        assert self.current is not None
        self.writes.append((key, None, self.current.partition))
        super().__delitem__(key)


def processing(event: Event) -> None:
    """Makes ``event`` Faust's current one, as a stream does while its record is processed (a
    context variable: each test runs in a context of its own)."""
    _current_event.set(weakref.ref(event))  # type: ignore[arg-type]


def test_writes_in_a_batch_reach_the_table_once_per_key_under_their_own_event() -> None:
    table = RecordingTable()
    cached = CachedTable(table)
    first, second = Event(partition=0), Event(partition=3)
    processing(first)
    cached["count"] = 1
    cached["gone"] = "x"
    processing(second)
    cached["count"] = 2
    cached["other"] = "y"
    del cached["gone"]
    assert table.writes == []  # held back until the batch ends
    assert cached.get("count") == 2
    assert cached.get("gone") is None
    assert cached.pending == 3

    def set_event(event: Any) -> None:
        table.current = event

    assert cached.flush(set_event) == 3
    # each key once, with its last value, on the partition of the record that last wrote it
    assert sorted(table.writes, key=str) == [("count", 2, 3), ("gone", None, 3), ("other", "y", 3)]
    assert dict(table.data) == {"count": 2, "other": "y"}
    assert cached.pending == 0
    assert cached.flush(set_event) == 0


def test_a_rebalance_keeps_the_writes_not_yet_flushed() -> None:
    table = RecordingTable()
    cached = CachedTable(table)
    event = Event(partition=1)
    processing(event)
    cached["held"] = 1
    cached.get("clean")
    cached.clear_cache()
    assert cached.get("held") == 1
    cached.flush(lambda event: setattr(table, "current", event))
    assert table.writes == [("held", 1, 1)]


def test_held_back_writes_are_never_evicted() -> None:
    table = RecordingTable()
    cached = CachedTable(table, capacity=10)
    event = Event(partition=0)
    processing(event)
    for n in range(30):
        cached[str(n)] = n
    assert all(cached.get(str(n)) == n for n in range(30))
    cached.flush(lambda event: setattr(table, "current", event))
    assert len(table.writes) == 30


def test_iteration_sees_the_batch_writes_before_they_are_flushed() -> None:
    """A purge or an erasure walks the keys in the middle of a batch."""
    table = RecordingTable()
    table.data.update({"kept": 1, "deleted": 2})
    cached = CachedTable(table)
    event = Event(partition=0)
    processing(event)
    cached["new"] = 3
    cached["kept"] = 4
    del cached["deleted"]
    assert sorted(cached) == ["kept", "new"]


def test_the_changes_taken_are_each_keys_last_value_with_the_event_that_made_it() -> None:
    """What ``agents.table_writes`` writes to the store and changelog at the end of a batch."""
    cached = CachedTable(RecordingTable())
    first, second = Event(partition=0), Event(partition=2)
    processing(first)
    cached["a"] = 1
    cached["b"] = 1
    processing(second)
    cached["a"] = 2
    del cached["b"]
    changes = cached.take_changes()
    assert [(key, value, event.partition) for key, value, event in changes] == [
        ("a", 2, 2),
        ("b", None, 2),
    ]
    assert cached.pending == 0
    assert cached.take_changes() == []
    assert cached.get("a") == 2  # still read from the cache
