"""A table's keys and values to and from the bytes its store and changelog hold, as Faust makes
them, with the table's codecs resolved once instead of on every key and value.

Faust's serializer registry finds a table's codec for every key and value it encodes or decodes
(model checks, the serializer's name looked up, the payload checked for a model to rebuild).
``TableCodec`` asks the registry only for what it cannot answer the same way at once: keys and
values of plain JSON types in a table without declared key or value types. Its bytes are the
registry's, byte for byte (``tests/unit/agents/test_table_codec.py`` holds it to that), so a
store and changelog written through it restore as Faust's own would.

``StoreReads`` reads a cache miss straight from a serialized (RocksDB) store the way Faust's
table does: the store of the current event's partition, the same key bytes, the same value.
Faust's path asks the store twice for a key that is there (``in``, then the value), goes through
the table's managed dict, its sensors and, for an absent key, ``__missing__``. In a profile
of the worker draining the mixed stream those misses took 6 % of its time; read here, an
absent key costs about half and a present one about a third (``benchmarks/bench_table_reads.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from faust.serializers.codecs import get_codec
from faust.stores.base import SerializedStore

#: What of Faust's serializers this module uses (checked at start, with the rest, by
#: ``agents.transport.check_faust_internals``).
REGISTRY_INTERNALS = ("dumps_key", "dumps_value", "loads_value", "Model")
READ_INTERNALS = ("_get",)

#: The types whose encoding the codec alone decides (the registry would treat a Faust model or
#: bytes apart).
_PLAIN = frozenset({str, int, float, bool, list, dict})


class TableCodec:
    """Encodes ``table``'s keys and values, and decodes its values, as Faust's registry does."""

    def __init__(self, table: Any) -> None:
        registry = table.app.serializers
        self._registry = registry
        self._table = table
        key_codec = table.key_serializer or registry.key_serializer
        value_codec = table.value_serializer or registry.value_serializer
        untyped = table.key_type is None and table.value_type is None
        self._fast = bool(untyped and key_codec and value_codec)
        if self._fast:
            self._dumps_key = get_codec(key_codec).dumps
            self._dumps_value = get_codec(value_codec).dumps
            self._loads_value = get_codec(value_codec).loads
            self._rebuild = registry.Model._maybe_reconstruct

    def key(self, key: Any) -> bytes:
        if self._fast and type(key) in _PLAIN:
            return bytes(self._dumps_key(key))
        table = self._table
        encoded = self._registry.dumps_key(table.key_type, key, serializer=table.key_serializer)
        if encoded is None:
            raise TypeError("Table key cannot be None")
        return bytes(encoded)

    def value(self, value: Any) -> bytes | None:
        if value is None:
            return None
        if self._fast and type(value) in _PLAIN:
            return bytes(self._dumps_value(value))
        table = self._table
        encoded = self._registry.dumps_value(
            table.value_type, value, serializer=table.value_serializer
        )
        return None if encoded is None else bytes(encoded)

    def decode_value(self, raw: bytes) -> Any:
        if not self._fast:
            table = self._table
            return self._registry.loads_value(
                table.value_type, raw, serializer=table.value_serializer
            )
        payload = self._loads_value(raw)
        # only a mapping can name a Faust model to rebuild
        return self._rebuild(payload) if type(payload) is dict else payload


class StoreReads:
    """Reads ``table``'s values straight from its serialized store (``None``: absent)."""

    def __init__(self, table: Any, store: SerializedStore[Any, Any]) -> None:
        self._codec = TableCodec(table)
        self._get: Callable[[bytes], bytes | None] = store._get

    def __call__(self, key: str) -> Any:
        raw = self._get(self._codec.key(key))
        return None if raw is None else self._codec.decode_value(raw)


def direct_reads(table: Any) -> Callable[[str], Any]:
    """How a cache miss reads ``table``: straight from its store when that store holds bytes
    (RocksDB), else through the table (the memory store keeps decoded values)."""
    store = getattr(table, "data", None)
    if isinstance(store, SerializedStore):
        return StoreReads(table, store)
    get: Callable[[str], Any] = table.get
    return get
