"""The state stage writes each stored entry where the worker would have: its table's
changelog, the partition of the record key it was written under, keys and values as JSON."""

from __future__ import annotations

import orjson

from benchmarks.worker_state import changelog_partition, changelog_records
from streams.partitioning import partition_of
from streams.state.keyspace import ENTRY, EVENT_WEEK, FEED

PARTITIONS = 4


def test_a_scoped_key_goes_to_its_scope_s_partition() -> None:
    key = EVENT_WEEK.key("S-QUUX", 2900)
    assert changelog_partition("subject-state", key, PARTITIONS) == partition_of("S-QUUX", 4)


def test_a_dedupe_entry_goes_to_its_event_id_s_partition_even_when_escaped() -> None:
    for event_id in ("ev-1", "_ev-2"):
        key = ENTRY.key(event_id)
        assert changelog_partition("dedupe", key, PARTITIONS) == partition_of(event_id, 4)


def test_single_partition_tables_and_feed_marks() -> None:
    assert changelog_partition("cases", "case|C-1", PARTITIONS) == 0
    assert changelog_partition("network", "adj|S-1", PARTITIONS) == 0
    assert changelog_partition("dedupe", FEED.key("field.arrests.v1:3"), PARTITIONS) == 3
    assert changelog_partition("subject-state", FEED.key("2:field.arrests.v1:1"), 4) == 2
    assert changelog_partition("dedupe", FEED.key("memory"), PARTITIONS) == 0


def test_records_are_json_on_the_table_s_changelog() -> None:
    stores = {"subject": {"S-A|1": [1, "x"]}, "cases": {"case|C-9": {"v": 2}}}
    records = sorted(changelog_records(stores, "app", PARTITIONS))
    assert records == sorted(
        [
            ("app-subject-state-changelog", partition_of("S-A", 4), b'"S-A|1"', b'[1,"x"]'),
            ("app-cases-changelog", 0, b'"case|C-9"', orjson.dumps({"v": 2})),
        ]
    )
