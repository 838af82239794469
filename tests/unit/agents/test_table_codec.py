"""A table's codec and direct reads give Faust's own bytes and values, on a real RocksDB store."""

from __future__ import annotations

import weakref
from pathlib import Path
from typing import Any

import faust
import pytest
from faust.streams import _current_event
from hypothesis import given, settings
from hypothesis import strategies as st

from agents.table_codec import StoreReads, TableCodec, direct_reads
from tests.unit.streams.test_ingest import json_values  # what the stages keep: JSON values


class Sighting(faust.Record, namespace="fc-unit.sighting"):
    """A Faust model: the registry rebuilds one from a mapping that names it."""

    ref: str


#: The codec needs no store: one app and table for every generated key and value.
JSON_APP = faust.App("fc-unit-codec-json")
JSON_TABLE: Any = JSON_APP.Table("codec-json", default=None)


@pytest.fixture
def app(tmp_path: Path) -> faust.App:
    return faust.App("fc-unit-codec", store="rocksdb://", datadir=str(tmp_path), topic_partitions=4)


class Message:
    def __init__(self, partition: int) -> None:
        self.partition = partition


class Event:
    """What Faust's store reads of the current event: its message's partition."""

    def __init__(self, partition: int) -> None:
        self.message = Message(partition)


def on_partition(partition: int) -> Event:
    """Makes a record of ``partition`` Faust's current event (the store reads its partition);
    the caller keeps it alive (Faust holds it by a weak reference)."""
    event = Event(partition=partition)
    _current_event.set(weakref.ref(event))  # type: ignore[arg-type]
    return event


@settings(max_examples=300)
@given(key=st.text(), value=json_values)
def test_keys_and_values_are_the_registrys_bytes_and_back(key: str, value: Any) -> None:
    table, registry, codec = JSON_TABLE, JSON_APP.serializers, TableCodec(JSON_TABLE)
    assert codec.key(key) == registry.dumps_key(None, key, serializer=table.key_serializer)
    raw = registry.dumps_value(None, value, serializer=table.value_serializer)
    assert codec.value(value) == (None if value is None else raw)
    if value is not None:
        assert codec.decode_value(raw) == registry.loads_value(None, raw, serializer=None)


def test_a_mapping_that_names_a_faust_model_is_rebuilt_as_the_registry_does(
    app: faust.App,
) -> None:
    table: Any = app.Table("codec-model", default=None)
    raw = TableCodec(table).value(Sighting(ref="S-1").to_representation())
    assert raw is not None
    rebuilt = TableCodec(table).decode_value(raw)
    assert rebuilt == app.serializers.loads_value(None, raw) == Sighting(ref="S-1")
    assert TableCodec(table).value(Sighting(ref="S-2")) == app.serializers.dumps_value(
        None, Sighting(ref="S-2")
    )


def test_a_typed_table_is_encoded_by_the_registry(app: faust.App) -> None:
    table: Any = app.Table("codec-typed", default=None, key_type=str, value_type=int)
    codec = TableCodec(table)
    registry = app.serializers
    assert codec.key("k") == registry.dumps_key(str, "k", serializer=table.key_serializer)
    raw = codec.value(7)
    assert raw == registry.dumps_value(int, 7, serializer=table.value_serializer)
    assert codec.decode_value(raw) == 7


def test_a_miss_reads_what_the_table_reads_from_the_current_partitions_store(
    app: faust.App,
) -> None:
    table: Any = app.Table("codec-reads", default=None)
    store = table.data
    codec = TableCodec(table)
    first = on_partition(1)
    store._set(codec.key("subject|S-1"), codec.value([[1, "e1", "{}"]]))
    store._set(codec.key("count|x"), codec.value(3))
    reads = direct_reads(table)
    assert isinstance(reads, StoreReads)
    for key in ("subject|S-1", "count|x", "absent"):
        assert reads(key) == table.get(key)
    assert reads("subject|S-1") == [[1, "e1", "{}"]]
    assert reads("absent") is None
    other = on_partition(2)  # a key lives in its own partition's store
    assert reads("count|x") is None
    assert table.get("count|x") is None
    del first, other


def test_a_table_in_memory_is_read_through_the_table() -> None:
    app = faust.App("fc-unit-codec-memory", store="memory://")
    table: Any = app.Table("codec-memory", default=None)
    assert direct_reads(table) == table.get
