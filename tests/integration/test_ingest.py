"""Ingest on the real broker: every input lands exactly once in the valid or dead-letter topic."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest

from fieldcourt.settings import Settings
from fieldcourt.topics import DEADLETTER_TOPIC, VALID_EVENTS, internal_topic
from tests.factories import raw_arrest, raw_dealing_address, raw_seizure
from tests.kafka import WorkerProcess, consume_until, produce, run

pytestmark = pytest.mark.kafka

ARRESTS, SEIZURES, ADDRESSES = "field.arrests.v1", "field.seizures.v1", "field.dealing-addresses.v1"


def _bytes(obj: object) -> bytes:
    return orjson.dumps(obj)


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

    def k(name: str) -> bytes:
        return f"{run_id}-{name}".encode()

    valid = [
        (ARRESTS, k("a1"), _bytes(arrest)),
        (SEIZURES, k("s1"), _bytes(seizure)),
        (ADDRESSES, k("d1"), _bytes(dealing)),
    ]
    duplicate = [(ARRESTS, k("a1"), _bytes(arrest))]
    bad = {
        "conflicting_duplicate": (ARRESTS, k("a1"), _bytes(conflicting)),
        "invalid_encoding": (ARRESTS, k("latin1"), b'{"event_id": "caf\xe9"}'),
        "invalid_json": (SEIZURES, k("notjson"), b"{not json"),
        "not_an_object": (SEIZURES, k("array"), b'[{"event_id": "x"}]'),
        "too_large": (ADDRESSES, k("huge"), b'{"pad": "' + b"x" * (10 * 1024 * 1024) + b'"}'),
        "empty_value": (ARRESTS, k("tombstone"), None),
        "schema_violation": (SEIZURES, k("wrongtype"), _bytes(wrong_type)),
        "future_event": (ARRESTS, k("future"), _bytes(future)),
        "key_mismatch": (ARRESTS, b"not-the-event-id-" + k("x"), _bytes(raw_arrest(
            event_id=f"{run_id}-keyed-wrong"))),
    }  # fmt: skip
    nul = (ARRESTS, k("nul"), b'{"event_id": "\x00\x00"}\x00')
    missing_rec = (ARRESTS, k("missing"), _bytes(missing))

    worker()
    run(produce(app_settings.broker, [*valid, *duplicate, *bad.values(), nul, missing_rec]))
    expected_dead = len(bad) + 2

    valid_topic = internal_topic(app_settings, VALID_EVENTS)
    mark = run_id.encode()
    records = run(
        consume_until(
            app_settings.broker, [valid_topic, DEADLETTER_TOPIC],
            lambda recs: sum(mark in (r.key or b"") for r in recs) >= len(valid) + expected_dead,
            timeout_s=90, settle_s=3,
        )
    )  # fmt: skip
    mine = [r for r in records if mark in (r.key or b"")]
    out_valid = [r for r in mine if r.topic == valid_topic]
    dead = [r for r in mine if r.topic == DEADLETTER_TOPIC]

    assert sorted(r.key for r in out_valid) == sorted(key for _, key, _ in valid)
    assert len(dead) == expected_dead
    by_key = {r.key: r for r in dead}
    for reason, (topic, key, value) in bad.items():
        record = by_key[key]
        headers = dict(record.headers)
        assert headers["error.reason"].decode() == reason, headers
        assert headers["error.detail"]
        assert headers["source.topic"].decode() == topic
        assert int(headers["source.partition"]) >= 0
        assert int(headers["source.offset"]) >= 0
        assert record.value == value  # unchanged bytes
    assert dict(by_key[nul[1]].headers)["error.reason"] == b"invalid_json"
    missing_detail = dict(by_key[missing_rec[1]].headers)["error.detail"].decode()
    assert "person" in missing_detail
    # the valid events left ingest without the names that came in
    for record in out_valid:
        assert b"last_name" not in record.value
        assert b"first_name" not in record.value


def test_a_restarted_worker_recovers_its_dedupe_table_from_the_changelog(
    app_settings: Settings, worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    """The second worker starts on an empty local store: only the changelog can tell it."""
    run_id = app_settings.app_id
    first = raw_arrest(event_id=f"{run_id}-r1")
    second = raw_arrest(event_id=f"{run_id}-r2")
    valid_topic = internal_topic(app_settings, VALID_EVENTS)
    mark = run_id.encode()

    def forwarded(count: int) -> list[bytes]:
        records = run(consume_until(
            app_settings.broker, [valid_topic],
            lambda recs: sum(mark in (r.key or b"") for r in recs) >= count,
            timeout_s=60, settle_s=2,
        ))  # fmt: skip
        return sorted(r.key for r in records if mark in (r.key or b""))

    one = worker(FIELDCOURT_DATA_DIR=str(tmp_path / "first"))
    run(produce(app_settings.broker, [(ARRESTS, first["event_id"].encode(), _bytes(first))]))
    assert forwarded(1) == [first["event_id"].encode()]
    assert one.stop() == 0  # clean shutdown on SIGTERM

    worker(FIELDCOURT_DATA_DIR=str(tmp_path / "second"))
    run(produce(app_settings.broker, [
        (ARRESTS, first["event_id"].encode(), _bytes(first)),  # a redelivery
        (ARRESTS, second["event_id"].encode(), _bytes(second)),
    ]))  # fmt: skip
    assert forwarded(2) == sorted([first["event_id"].encode(), second["event_id"].encode()])


def test_the_broker_stamps_field_records_whatever_the_senders_clock(
    app_settings: Settings,
) -> None:
    """Field topics use LogAppendTime: the end-to-end latency starts at the append."""
    from aiokafka import AIOKafkaProducer

    key = f"{app_settings.app_id}-clock".encode()
    a_day_ago_ms = int((dt.datetime.now(dt.UTC) - dt.timedelta(days=1)).timestamp() * 1000)

    async def send_with_a_wrong_clock() -> None:
        producer = AIOKafkaProducer(bootstrap_servers=app_settings.broker)
        await producer.start()
        try:
            await producer.send_and_wait(ARRESTS, b"{}", key=key, timestamp_ms=a_day_ago_ms)
        finally:
            await producer.stop()

    before_ms = int(dt.datetime.now(dt.UTC).timestamp() * 1000)
    run(send_with_a_wrong_clock())
    found = run(consume_until(app_settings.broker, [ARRESTS],
                              lambda rs: any(r.key == key for r in rs)))  # fmt: skip
    record = next(r for r in found if r.key == key)
    assert record.timestamp_type == 1  # LogAppendTime
    assert record.timestamp >= before_ms - 1000  # the broker's clock, not the sender's
