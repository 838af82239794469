"""A batch's writes to a RocksDB store (``agents.table_writes.write_store``) leave it as Faust's
own recovery leaves it when it applies the same changelog records, on real RocksDB stores."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faust
from faust.types import TP
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.table_writes import write_store
from tests.unit.agents.test_table_codec import on_partition

PARTITIONS = 3


class _Message:
    def __init__(self, partition: int, offset: int, key: bytes, value: bytes | None) -> None:
        self.tp = TP("t-changelog", partition)
        self.partition, self.offset, self.key, self.value = partition, offset, key, value


class _Changelog:
    """What ``apply_changelog_batch`` reads of a changelog record."""

    def __init__(self, message: _Message) -> None:
        self.message = message


def _contents(store: Any) -> dict[int, dict[bytes, bytes]]:
    """Each partition's keys and values, but the changelog offset it holds (recorded when the
    broker acknowledges the writes, by ``TableWrites``)."""
    return {
        p: {k: v for k, v in store._db_for_partition(p).items() if k != store.offset_key}
        for p in range(PARTITIONS)
    }


#: Batches of (partition, key, value or None to delete); keys shared across partitions.
writes = st.lists(
    st.lists(
        st.tuples(
            st.integers(0, PARTITIONS - 1),
            st.sampled_from([b"a", b"b", b"c", b"subject|S-1"]),
            st.none() | st.binary(min_size=1, max_size=8),
        ),
        max_size=12,
        unique_by=lambda w: (w[0], w[1]),  # a batch holds one change per key and partition
    ),
    max_size=4,
)


@settings(max_examples=60)
@given(batches=writes)
def test_a_store_holds_what_faust_recovery_makes_of_the_same_changelog(
    tmp_path_factory: Any, batches: list[list[tuple[int, bytes, bytes | None]]]
) -> None:
    base: Path = tmp_path_factory.mktemp("stores")
    ours: Any = faust.App("fc-unit-writes-ours", store="rocksdb://", datadir=str(base / "ours"))
    faust_app: Any = faust.App("fc-unit-writes-faust", store="rocksdb://", datadir=str(base / "f"))
    mine, theirs = ours.Table("w", default=None).data, faust_app.Table("w", default=None).data
    offset = 0
    for batch in batches:
        write_store(mine, batch)
        records = []
        for partition, key, value in batch:
            records.append(_Changelog(_Message(partition, offset, key, value)))
            offset += 1
        theirs.apply_changelog_batch(records, to_key=None, to_value=None)
        assert _contents(mine) == _contents(theirs)
    for store in (mine, theirs):
        for db in store._dbs.values():
            db.close()


def test_a_written_key_is_read_from_its_partition_and_a_delete_removes_it_there_only(
    tmp_path: Path,
) -> None:
    app: Any = faust.App("fc-unit-writes", store="rocksdb://", datadir=str(tmp_path))
    store = app.Table("w", default=None).data
    write_store(store, [(0, b"k", b"zero"), (2, b"k", b"two"), (1, b"j", b"one")])
    event = on_partition(2)
    assert store._get(b"k") == b"two"
    write_store(store, [(2, b"k", None)])
    assert store._get(b"k") is None
    event = on_partition(0)
    assert store._get(b"k") == b"zero"  # the delete was of partition 2's key
    del event
