"""A trivial Faust agent forwarding raw bytes: the ceiling of faust-streaming on this stack.

Run by ``benchmarks/run.py`` as a Faust worker process of its own:

    python -m benchmarks.faust_peer VARIANT BOOTSTRAP APP_ID DATA_DIR OUT_TOPIC IN_TOPIC...

``default``: faust-streaming's defaults, one ``Topic.send`` per record. ``tuned``:
``consumer_max_fetch_size`` 16 MiB, ``take_events`` batches of 1,000 and
``app.producer.send`` (the producer's direct path), the batch's sends awaited before its
events are acknowledged. Memory store, no tables.

``chain``: the fewest hops fieldcourt's rules can take, tuned alike, doing nothing else: a
field record is read and written to a table (ingest's dedupe) and passed on keyed to an
internal topic; there it is written to a table (a rule stage's state) and passed on to a
single-partition topic (``matches``: cases need one owner); there it is written to a table
(the case manager's) and passed on to the output. Three hops, each a table write (RocksDB and
its changelog) and a send per record. The table writes take fieldcourt's own path: held back
in an ``agents.cache.CachedTable`` and written at the end of the batch by
``agents.table_writes`` (straight to the store and the changelog), the batch acknowledged once
the broker has them. Both run on fieldcourt's app and transport (``agents.transport``: its
consumer's hand-over without a task per record, among its fixes) with the worker's GIL switch
interval. Its rate is the ceiling, on Faust's streams, of any topology that keys events by
subject and totally orders cases, fieldcourt's included.

``skeleton``: the same three hops writing, per field event, as many table values and records
as fieldcourt's worker does on the mixed stream (``SKELETON``), with no rule, parsing or state
read: fieldcourt's traffic with its logic taken out. Its rate is the ceiling of fieldcourt's
topology for that traffic; fieldcourt's rate divided by it is the share its logic leaves.

Prints ``READY <unix time>`` when the first rebalance is complete.
"""

from __future__ import annotations

import asyncio
import sys
import time
from typing import Any

import faust

from agents.app import SWITCH_INTERVAL_S
from agents.batches import make_current
from agents.cache import CachedTable
from agents.io import ChangelogLedger
from agents.table_writes import TableWrites
from agents.transport import FieldcourtApp
from benchmarks.hops import BATCH, HOPS, MIB, Hop, Spread, hop_topics

#: The chain's internal topics: bytes, as fieldcourt's.
RAW: dict[str, Any] = {"key_serializer": "raw", "value_serializer": "raw", "internal": True}
VARIANTS = ("default", "tuned", *HOPS)


def build(
    variant: str, bootstrap: str, app_id: str, data_dir: str, out: str, inputs: list[str]
) -> faust.App:
    config: dict[str, Any] = {
        "broker": f"kafka://{bootstrap}",
        "store": "memory://",
        "datadir": data_dir,
        "web_enabled": False,
        "topic_partitions": 4,
    }
    if variant not in VARIANTS:
        raise SystemExit(f"unknown variant {variant!r}: {', '.join(VARIANTS)}")
    if variant != "default":
        config["consumer_max_fetch_size"] = 16 * MIB
    hops = HOPS.get(variant)
    if hops is not None:
        config["store"] = "rocksdb://"
    app: faust.App
    ledger = ChangelogLedger()
    if hops is not None:  # on fieldcourt's transport, as its worker (``fieldcourt.cli``)
        app = FieldcourtApp(app_id, changelog=ledger, **config)
    else:
        app = faust.App(app_id, **config)
    source = app.topic(*inputs, key_serializer="raw", value_serializer="raw")
    sink = app.topic(out, key_serializer="raw", value_serializer="raw", internal=False)

    if hops is not None:
        keyed_name, one_name = hop_topics(app_id)
        keyed = app.topic(keyed_name, partitions=4, **RAW)
        one = app.topic(one_name, partitions=1, **RAW)
        links = [(source, keyed, 4), (keyed, one, 4), (one, sink, 1)]
        for index, ((inbound, outbound, partitions), hop) in enumerate(
            zip(links, hops, strict=True)
        ):
            table = CachedTable(app.Table(f"hop{index}", default=None, partitions=partitions))
            app.agent(inbound, name=f"hop{index}")(_hop(app, table, outbound, ledger, hop))
    elif variant == "default":

        @app.agent(source)
        async def forward(stream: Any) -> None:
            async for event in stream.events():
                await sink.send(key=event.key, value=event.value)

    else:

        @app.agent(source)
        async def forward_batches(stream: Any) -> None:
            async for events in stream.take_events(BATCH, within=0.05):
                pending = [
                    await app.producer.send(out, e.message.key, e.message.value, None, None, None)
                    for e in events
                ]
                await asyncio.gather(*pending)

    app.on_rebalance_complete.connect(_ready)
    return app


def _hop(
    app: faust.App, table: CachedTable, outbound: Any, ledger: ChangelogLedger, hop: Hop
) -> Any:
    """An agent body: each record written to ``table`` and sent on to ``outbound``, as many
    times as ``hop`` says (distinct keys: values a batch would write once count once)."""
    name = outbound.get_topic_name()
    writes = TableWrites(ledger)
    written, sent = Spread(hop.writes), Spread(hop.sends)

    async def forward(stream: Any) -> None:
        async for events in stream.take_events(BATCH, within=0.05):
            pending = []
            for event in events:
                make_current(event)  # its table writes go to its partition's changelog
                key, value = event.message.key, event.message.value
                text = key.decode()
                for n in range(written.take()):
                    table[f"{text}:{n}"] = len(value)
                for _ in range(sent.take()):
                    pending.append(await app.producer.send(name, key, value, None, None, None))
            await writes.write(table)
            await ledger.settle()
            await asyncio.gather(*pending)

    return forward


_said: list[bool] = []


async def _ready(sender: Any, **kwargs: Any) -> None:
    """The first rebalance is complete: the agent reads from now on."""
    if not _said:
        _said.append(True)
        print(f"READY {time.time():.6f}", flush=True)


def main() -> None:
    variant, bootstrap, app_id, data_dir, out, *inputs = sys.argv[1:]
    if variant in HOPS:
        sys.setswitchinterval(SWITCH_INTERVAL_S)  # as fieldcourt's worker
    app = build(variant, bootstrap, app_id, data_dir, out, inputs)
    faust.Worker(app, loglevel="WARNING", quiet=True).execute_from_commandline()


if __name__ == "__main__":
    main()
