"""A cached table's miss and a table write's encoding: through Faust's table and serializer
registry, against ``agents.table_codec``, on a real RocksDB store in a temporary folder.

Run: ``.venv/bin/python benchmarks/bench_table_reads.py [--keys N]``. Prints microseconds per
call, best of 7 runs, for a read of an absent key and of a present one (a stored event row),
and for a key and a value encoded. Printed, not asserted: the unit suite measures no time.
Measured on 2026-12-04, three runs on a noisy machine: an absent key 5.4 to 7.6 against 3.4
to 3.7 µs, a present one 18 to 26 against 6.6 to 8.7; a key or a value encoded, within the
noise (1.6 to 2.0 against 1.3 to 1.7, 2.0 to 3.3 against 1.5 to 2.3).
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
        print(f"{keys:,} keys in RocksDB, µs per call (best of 7): Faust's path / table_codec")
        for name, args in (("read, absent key", absent), ("read, present key", present)):
            print(f"  {name:20} {best_us(table.get, args):6.2f} / {best_us(reads, args):6.2f}")
        dumps_key = registry.dumps_key
        faust_key = best_us(lambda k: dumps_key(None, k, serializer=None), present)
        print(f"  {'key encoded':20} {faust_key:6.2f} / {best_us(codec.key, present):6.2f}")
        dumps_value = registry.dumps_value
        values = [[ROW]] * keys
        faust_value = best_us(lambda v: dumps_value(None, v, serializer=None), values)
        print(f"  {'value encoded':20} {faust_value:6.2f} / {best_us(codec.value, values):6.2f}")
        del event


if __name__ == "__main__":
    main()
