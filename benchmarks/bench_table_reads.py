"""A cached table's miss, a table write's encoding and its write to the store: through Faust's
table, serializer registry and store, against ``agents.table_codec`` and
``agents.table_writes.write_store``, on a real RocksDB store in a temporary folder.

Run: ``.venv/bin/python benchmarks/bench_table_reads.py [--keys N]``. Prints microseconds per
call, best of 7 runs, for a read of an absent key and of a present one (a stored event row),
for a key and a value encoded, and for a key written in a flush of 50 (one ``Store._set`` each,
against one write batch). Printed, not asserted: the unit suite measures no time.
Measured on 2026-12-04, three runs on a noisy machine: an absent key 5.4 to 7.6 against 3.4
to 3.7 µs, a present one 18 to 26 against 6.6 to 8.7; a key or a value encoded, within the
noise (1.6 to 2.0 against 1.3 to 1.7, 2.0 to 3.3 against 1.5 to 2.3). A key written in a
flush, three runs later that day: 8.2 to 10.4 µs by ``Store._set``, 4.0 to 5.4 by a write batch.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import faust
from faust.streams import _current_event

from agents.table_codec import TableCodec, direct_reads
from agents.table_writes import write_store

#: Keys a flush writes to one partition, for the write figure.
BATCH = 50

#: A subject's week of event rows, as the subject stage stores it: [µs, event id, event JSON].
ROW = [1_780_000_000_000_000, "ev-000001", '{"event_id":"ev-000001","kind":"arrest"}' * 8]


class _Message:
    partition = 0


class _Event:
    """Faust's current event, as a store reads it: its message's partition."""

    message = _Message()


def best_us(action: Callable[[Any], Any], args: list[Any]) -> float:
    """Microseconds per call of ``action`` over ``args``, best of 7 runs."""
    runs = []
    for _ in range(7):
        started = time.perf_counter()
        for arg in args:
            action(arg)
        runs.append((time.perf_counter() - started) / len(args) * 1e6)
    return min(runs)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keys", type=int, default=20_000)
    keys = parser.parse_args(argv).keys
    with tempfile.TemporaryDirectory() as folder:
        app = faust.App("fc-bench-reads", store="rocksdb://", datadir=folder)
        table: Any = app.Table("reads", default=None)
        store, codec, registry = table.data, TableCodec(table), app.serializers
        event = _Event()
        _current_event.set(weakref.ref(event))  # type: ignore[arg-type]
        present = [f"subject|S-{n:016d}" for n in range(keys)]
        for key in present:
            store._set(codec.key(key), codec.value([ROW]))
        absent = [f"subject|T-{n:016d}" for n in range(keys)]
        reads = direct_reads(table)
        for key in (*present[:100], *absent[:100]):  # the same answers, or no figures
            if reads(key) != table.get(key):
                raise SystemExit(f"the two paths read {key!r} differently")
        print(f"{keys:,} keys in RocksDB, µs per call (best of 7): Faust's path / fieldcourt's")
        for name, args in (("read, absent key", absent), ("read, present key", present)):
            print(f"  {name:20} {best_us(table.get, args):6.2f} / {best_us(reads, args):6.2f}")
        dumps_key = registry.dumps_key
        faust_key = best_us(lambda k: dumps_key(None, k, serializer=None), present)
        print(f"  {'key encoded':20} {faust_key:6.2f} / {best_us(codec.key, present):6.2f}")
        dumps_value = registry.dumps_value
        values = [[ROW]] * keys
        faust_value = best_us(lambda v: dumps_value(None, v, serializer=None), values)
        print(f"  {'value encoded':20} {faust_value:6.2f} / {best_us(codec.value, values):6.2f}")
        # a flush writes a batch's changes: before, one ``_set`` each; now one write batch
        raw = [(codec.key(key), codec.value([ROW])) for key in present]
        batches = [raw[at : at + BATCH] for at in range(0, len(raw), BATCH)]
        per_key = best_us(lambda batch: [store._set(k, v) for k, v in batch], batches) / BATCH
        ours = best_us(lambda batch: write_store(store, [(0, k, v) for k, v in batch]), batches)
        print(f"  {'key written':20} {per_key:6.2f} / {ours / BATCH:6.2f}")
        del event


if __name__ == "__main__":
    main()
