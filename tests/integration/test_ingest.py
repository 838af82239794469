"""Ingest on the real broker: every input lands exactly once in the valid or dead-letter topic."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord, RecordMetadata
from prometheus_client.parser import text_string_to_metric_families

from fieldcourt.kafka_auth import ADMIN, client_options
from fieldcourt.settings import Settings
from fieldcourt.topics import DEADLETTER_TOPIC, internal_topic
from streams.routing import Route
from tests.factories import raw_arrest, raw_dealing_address, raw_seizure
from tests.kafka import WorkerProcess, consume_until, produce, run

pytestmark = pytest.mark.kafka

ARRESTS, SEIZURES, ADDRESSES = "field.arrests.v1", "field.seizures.v1", "field.dealing-addresses.v1"


def _bytes(obj: object) -> bytes:
    return orjson.dumps(obj)


@dataclass(frozen=True)
class Outgoing:
    """A record as a police system publishes it, its own headers included."""

    topic: str
    key: bytes
    value: bytes | None
    headers: tuple[tuple[str, bytes], ...] = ()


async def publish(settings: Settings, records: Sequence[Outgoing]) -> list[RecordMetadata]:
    """Publish in order with a plain producer; where the broker put each record."""
    return await produce(settings, [(r.topic, r.key, r.value, r.headers) for r in records])


def counter_samples(exposition: str, name: str) -> dict[str, float]:
    """The samples of counter ``name`` in a Prometheus exposition, by their one label value."""
    return {
        next(iter(sample.labels.values())): sample.value
        for family in text_string_to_metric_families(exposition)
        for sample in family.samples
        if sample.name == name
    }


#: What the dead-letter writer appends, in this order, after the record's own headers.
ERROR_HEADERS = [
    "error.reason",
    "error.detail",
    "source.topic",
    "source.partition",
    "source.offset",
]


#: Every event these tests publish is a narcotics event located in a sector, so ingest hands
#: each valid one on to the sector stage's stream, once (the other streams take some only).
HANDED_ON = Route.SECTOR.value


def event_key(record: ConsumerRecord[bytes, bytes]) -> bytes:
    """The field record a record stands for: the key of a dead letter (its original key), the
    ``event_id`` of an event ingest handed on (keyed by what its stage correlates on)."""
    if record.topic == DEADLETTER_TOPIC:
        return record.key or b""
    return str(orjson.loads(record.value)["event_id"]).encode()


def test_valid_duplicate_conflicting_and_malformed_inputs_are_each_accounted_once(
    app_settings: Settings, worker: Callable[..., WorkerProcess]
) -> None:
    run_id = app_settings.app_id
    arrest = raw_arrest(event_id=f"{run_id}-a1")
    seizure = raw_seizure(event_id=f"{run_id}-s1")
    dealing = raw_dealing_address(event_id=f"{run_id}-d1")
    conflicting = {**arrest, "flagrant": not arrest["flagrant"]}
    future = raw_arrest(
        event_id=f"{run_id}-future",
        occurred_at=(dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)).isoformat(),
    )
    wrong_type = {**raw_seizure(event_id=f"{run_id}-wrongtype"), "quantity_g": "12"}
    missing = raw_arrest(event_id=f"{run_id}-missing")
    del missing["person"]
    keyed_wrong = raw_arrest(event_id=f"{run_id}-keyed-wrong")
    huge = b'{"pad": "' + b"x" * (10 * 1024 * 1024) + b'"}'
    # headers a police system sets itself: the dead letter keeps them ahead of its own
    own_headers = (
        ("traceparent", b"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
        ("sender", b"synthetic-police-system"),
    )

    def k(name: str) -> bytes:
        return f"{run_id}-{name}".encode()

    valid = [
        Outgoing(ARRESTS, k("a1"), _bytes(arrest)),
        Outgoing(SEIZURES, k("s1"), _bytes(seizure)),
        Outgoing(ADDRESSES, k("d1"), _bytes(dealing)),
    ]
    duplicate = Outgoing(ARRESTS, k("a1"), _bytes(arrest))
    bad = [
        ("conflicting_duplicate", Outgoing(ARRESTS, k("a1"), _bytes(conflicting))),
        ("invalid_encoding", Outgoing(ARRESTS, k("latin1"), b'{"event_id": "caf\xe9"}')),
        ("invalid_json", Outgoing(SEIZURES, k("notjson"), b"{not json", own_headers)),
        ("invalid_json", Outgoing(ARRESTS, k("nul"), b'{"event_id": "\x00\x00"}\x00')),
        ("not_an_object", Outgoing(SEIZURES, k("array"), b'[{"event_id": "x"}]')),
        ("too_large", Outgoing(ADDRESSES, k("huge"), huge)),
        ("empty_value", Outgoing(ARRESTS, k("tombstone"), None)),
        ("schema_violation", Outgoing(SEIZURES, k("wrongtype"), _bytes(wrong_type))),
        ("schema_violation", Outgoing(ARRESTS, k("missing"), _bytes(missing))),
        ("future_event", Outgoing(ARRESTS, k("future"), _bytes(future))),
        ("key_mismatch", Outgoing(ARRESTS, b"not-the-event-id-" + k("x"), _bytes(keyed_wrong))),
    ]

    proc = worker()
    run(publish(app_settings, [*valid, duplicate]))
    landed = run(publish(app_settings, [out for _, out in bad]))  # after the duplicate

    valid_topic = internal_topic(app_settings, HANDED_ON)
    mark = run_id.encode()

    def outputs(count: int) -> list[ConsumerRecord[bytes, bytes]]:
        records = run(
            consume_until(
                app_settings,
                [valid_topic, DEADLETTER_TOPIC],
                lambda recs: sum(mark in event_key(r) for r in recs) >= count,
                timeout_s=90,
                settle_s=3,
            )
        )
        return [r for r in records if mark in event_key(r)]

    mine = outputs(len(valid) + len(bad))
    out_valid = [r for r in mine if r.topic == valid_topic]
    dead = [r for r in mine if r.topic == DEADLETTER_TOPIC]

    assert sorted(event_key(r) for r in out_valid) == sorted(out.key for out in valid)
    assert len(dead) == len(bad)
    by_key = {r.key: r for r in dead}
    for (reason, out), position in zip(bad, landed, strict=True):
        record = by_key[out.key]
        assert record.value == out.value, reason  # unchanged bytes
        own = len(out.headers)
        assert tuple(record.headers[:own]) == out.headers  # the sender's headers, first
        assert [name for name, _ in record.headers[own:]] == ERROR_HEADERS
        headers = dict(record.headers[own:])
        assert headers["error.reason"].decode() == reason, headers
        assert headers["error.detail"]
        assert headers["source.topic"].decode() == out.topic
        assert int(headers["source.partition"]) == position.partition
        assert int(headers["source.offset"]) == position.offset
    assert b"person" in dict(by_key[k("missing")].headers)["error.detail"]
    # the valid events left ingest without the names that came in
    for record in out_valid:
        assert b"last_name" not in record.value
        assert b"first_name" not in record.value

    status, metrics = proc.http_get("/metrics")
    assert status == HTTPStatus.OK
    assert counter_samples(metrics, "fieldcourt_duplicates_dropped_total") == {ARRESTS: 1.0}

    # the worker came through all of it: a valid event published afterwards is forwarded
    late = raw_arrest(event_id=f"{run_id}-late")
    run(publish(app_settings, [Outgoing(ARRESTS, k("late"), _bytes(late))]))
    assert k("late") in [event_key(r) for r in outputs(len(valid) + len(bad) + 1)]
    assert proc.proc is not None
    assert proc.proc.poll() is None  # still running
    assert proc.stop() == 0  # and stops cleanly on SIGTERM


def test_a_restarted_worker_recovers_its_dedupe_table_from_the_changelog(
    app_settings: Settings, worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    """The second worker starts on an empty local store: only the changelog can tell it."""
    run_id = app_settings.app_id
    first = raw_arrest(event_id=f"{run_id}-r1")
    second = raw_arrest(event_id=f"{run_id}-r2")
    valid_topic = internal_topic(app_settings, HANDED_ON)
    mark = run_id.encode()

    def forwarded(count: int) -> list[bytes]:
        records = run(
            consume_until(
                app_settings,
                [valid_topic],
                lambda recs: sum(mark in event_key(r) for r in recs) >= count,
                timeout_s=60,
                settle_s=2,
            )
        )
        return sorted(event_key(r) for r in records if mark in event_key(r))

    one = worker(FIELDCOURT_DATA_DIR=str(tmp_path / "first"))
    run(produce(app_settings, [(ARRESTS, first["event_id"].encode(), _bytes(first))]))
    assert forwarded(1) == [first["event_id"].encode()]
    assert one.stop() == 0  # clean shutdown on SIGTERM

    worker(FIELDCOURT_DATA_DIR=str(tmp_path / "second"))
    again = [
        (ARRESTS, first["event_id"].encode(), _bytes(first)),  # a redelivery
        (ARRESTS, second["event_id"].encode(), _bytes(second)),
    ]
    run(produce(app_settings, again))
    assert forwarded(2) == sorted([first["event_id"].encode(), second["event_id"].encode()])


def test_a_worker_restarted_on_its_own_store_reads_none_of_its_changelogs_again(
    app_settings: Settings, worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    """Each table partition's store records the changelog offset it holds once the broker
    has its writes (``agents.table_writes``), so a restart on the same store has nothing to
    read again; and its state is there: a redelivery is still a duplicate."""
    run_id = app_settings.app_id
    arrest, after = raw_arrest(event_id=f"{run_id}-own"), raw_arrest(event_id=f"{run_id}-after")
    record = (ARRESTS, arrest["event_id"].encode(), _bytes(arrest))

    def forwarded(event: dict[str, Any]) -> None:
        mark = event["event_id"].encode()
        run(
            consume_until(
                app_settings,
                [internal_topic(app_settings, HANDED_ON)],
                lambda recs: any(mark in event_key(r) for r in recs),
                timeout_s=60,
            )
        )

    store = str(tmp_path / "store")
    one = worker(FIELDCOURT_DATA_DIR=store)
    run(produce(app_settings, [record]))
    forwarded(arrest)
    assert one.stop() == 0

    two = worker(FIELDCOURT_DATA_DIR=store)
    assert "the local tables are up to date with their changelogs" in two.output()
    run(produce(app_settings, [record, (ARRESTS, after["event_id"].encode(), _bytes(after))]))
    forwarded(after)  # the redelivery before it was judged
    status, metrics = two.http_get("/metrics")
    assert status == HTTPStatus.OK
    assert counter_samples(metrics, "fieldcourt_duplicates_dropped_total") == {ARRESTS: 1.0}


def test_the_broker_stamps_field_records_whatever_the_senders_clock(
    app_settings: Settings,
) -> None:
    """Field topics use LogAppendTime: the end-to-end latency starts at the append."""
    key = f"{app_settings.app_id}-clock".encode()
    a_day_ago_ms = int((dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).timestamp() * 1000)

    async def send_with_a_wrong_clock() -> None:
        producer = AIOKafkaProducer(**client_options(app_settings, ADMIN))
        await producer.start()
        try:
            await producer.send_and_wait(ARRESTS, b"{}", key=key, timestamp_ms=a_day_ago_ms)
        finally:
            await producer.stop()

    before_ms = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    run(send_with_a_wrong_clock())
    found = run(consume_until(app_settings, [ARRESTS], lambda rs: any(r.key == key for r in rs)))
    record = next(r for r in found if r.key == key)
    assert record.timestamp_type == 1  # LogAppendTime
    assert record.timestamp >= before_ms - 1000  # the broker's clock, not the sender's
