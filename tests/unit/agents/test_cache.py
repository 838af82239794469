"""A table read through a cache: the same answers as the table, fewer reads of it."""

from __future__ import annotations

from collections import UserDict
from typing import Any

import pytest

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
