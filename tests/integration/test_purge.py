"""State past its retention is purged inside the worker, on the real broker, without errors."""

from __future__ import annotations

import asyncio
import datetime as dt
import itertools
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka.structs import ConsumerRecord

from fieldcourt.acl import prepare_broker
from fieldcourt.kafka_auth import ADMIN, client_options
from fieldcourt.settings import Settings, load_settings
from fieldcourt.topics import AUDIT_TOPIC, OUTCOMES_TOPIC, case_topic
from schemas.audit import AuditRecord
from schemas.codec import dumps_obj, loads
from schemas.common import Person
from streams.cases import case_id_for
from streams.partitioning import partition_of
from streams.pseudonym import Pseudonymiser
from streams.state.keyspace import CASE
from tests.conftest import TEST_KEY
from tests.factories import raw_arrest, raw_outcome, raw_person
from tests.kafka import WorkerProcess, consume_until, produce, read_table, run, worker_env

pytestmark = pytest.mark.kafka


@pytest.fixture
def own_broker(private_broker: dict[str, Any]) -> dict[str, Any]:
    """A broker of this test's own: other tests' events on the field partitions would drive
    the feeds' progress that decides this test's purge."""
    return private_broker


def test_subject_history_past_retention_is_purged_by_the_worker(
    own_broker: dict[str, Any], tmp_path: Path
) -> None:
    """A subject last seen 300 days before its partition's feeds: its history is deleted (a
    tombstone on the state's changelog, gone from the store), its neighbour's is kept."""
    app_settings = load_settings(
        **own_broker, app_id="fc-purge", data_dir=tmp_path / "d", pseudonym_key=TEST_KEY
    )
    run(prepare_broker(app_settings))
    run_id = app_settings.app_id
    pseudonyms = Pseudonymiser(TEST_KEY.encode())
    partitions = app_settings.topic_partitions

    def person(n: int) -> dict[str, object]:
        return raw_person(n, person_id=f"{run_id}-{n}")

    def ref(n: int) -> str:
        return pseudonyms.ref(loads(Person, dumps_obj(person(n))))

    # two subjects on one by-subject partition, all their arrests on one field partition:
    # that feed's progress alone decides the purge (the others fall idle, FIELDCOURT_IDLE_FEED_S)
    old, new = next(
        (a, b)
        for a, b in itertools.combinations(range(50), 2)
        if partition_of(ref(a), partitions) == partition_of(ref(b), partitions)
    )
    ids = (f"{run_id}-{n}" for n in itertools.count())
    feed = partition_of(f"{run_id}-0", partitions)
    same_feed = (i for i in ids if partition_of(i, partitions) == feed)
    now = dt.datetime.now(dt.UTC)

    def arrest(n: int, days_ago: int) -> tuple[str, bytes, bytes]:
        event = raw_arrest(
            event_id=next(same_feed),
            person=person(n),
            flagrant=False,
            occurred_at=(now - dt.timedelta(days=days_ago)).isoformat(),
            reported_at=None,
        )
        return ("field.arrests.v1", event["event_id"].encode(), orjson.dumps(event))

    env = worker_env(
        app_settings,
        FIELDCOURT_PSEUDONYM_KEY=TEST_KEY,
        FIELDCOURT_PURGE_INTERVAL_S="1",
        FIELDCOURT_IDLE_FEED_S="2",
        FIELDCOURT_SESSION_TIMEOUT_S="8",
    )
    proc = WorkerProcess(env, tmp_path / "worker").start()
    try:
        proc.wait_ready()
        run(produce(app_settings, [arrest(old, 300), arrest(new, 1)]))
        # each later arrest of ``new`` gives the partition a record to purge from, once the
        # purge is due and the other feeds have fallen idle
        changelog = f"{app_settings.app_id}-subject-state-changelog"

        def arrest_new_again() -> None:
            run(produce(app_settings, [arrest(new, 1)]))

        deleted = run(wait_for_tombstone(app_settings, changelog, ref(old), arrest_new_again))
        assert deleted, "no purge of the old subject's history"
        assert "processing failed" not in proc.output()
        assert "Cannot modify table" not in proc.output()
    finally:
        assert proc.stop() == 0
    stored = read_table(app_settings.data_dir, app_settings.app_id, "subject-state")
    assert not [key for key in stored if key.startswith(ref(old))]
    assert [key for key in stored if key.startswith(ref(new))]


def has(case_id: str) -> Callable[[list[ConsumerRecord[bytes, bytes]]], bool]:
    return lambda records: any(r.key == case_id.encode() for r in records)


async def wait_for_tombstone(
    settings: Settings, topic: str, ref: str, poke: Any, timeout_s: float = 90
) -> bool:
    """Read ``topic`` until a deletion of ``ref`` (the key itself, the head of its history)
    appears; ``poke()`` every 2 s while waiting."""
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        topic,
        **client_options(settings, ADMIN),
        auto_offset_reset="earliest",
        enable_auto_commit=False,
    )
    await consumer.start()
    key = orjson.dumps(ref)
    try:
        deadline = time.monotonic() + timeout_s
        next_poke = time.monotonic() + 2
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for records in batch.values():
                if any(r.key == key and r.value is None for r in records):
                    return True
            if time.monotonic() >= next_poke:
                await asyncio.to_thread(poke)
                next_poke = time.monotonic() + 2
        return False
    finally:
        await consumer.stop()


def expiry_of(case_id: str) -> Callable[[list[ConsumerRecord[bytes, bytes]]], bool]:
    """Whether the records hold the ``erase`` audit record of ``case_id``'s expiry."""

    def audited(records: list[ConsumerRecord[bytes, bytes]]) -> bool:
        return any(
            r.value is not None
            and (audit := loads(AuditRecord, r.value)).action == "erase"
            and audit.actor.endswith("/retention")
            and audit.case_id == case_id
            for r in records
        )

    return audited


def test_a_case_closed_past_its_retention_is_swept_by_the_worker(
    app_settings: Settings, tmp_path: Path
) -> None:
    """A case the court closed is kept ``FIELDCOURT_RETENTION_CLOSED_CASE_DAYS`` (here a few
    seconds), then its ``case|`` key goes (a tombstone on the cases changelog); an open case
    stays."""
    run_id, now = app_settings.app_id, dt.datetime.now(dt.UTC)
    pseudonyms = Pseudonymiser(TEST_KEY.encode())
    people = [raw_person(n, person_id=f"{run_id}-{n}") for n in (0, 1)]
    closed_case, open_case = (
        case_id_for("subject", pseudonyms.ref(loads(Person, dumps_obj(p)))) for p in people
    )
    ids = itertools.count()

    def arrest(person: dict[str, Any]) -> tuple[str, bytes, bytes]:
        event = raw_arrest(
            event_id=f"{run_id}-{next(ids)}",
            person=person,
            occurred_at=(now - dt.timedelta(hours=2)).isoformat(),
            reported_at=(now - dt.timedelta(hours=1)).isoformat(),
        )
        return "field.arrests.v1", event["event_id"].encode(), orjson.dumps(event)

    closure = raw_outcome(closed_case, decided_at=now.isoformat())
    env = worker_env(
        app_settings,
        FIELDCOURT_PSEUDONYM_KEY=TEST_KEY,
        FIELDCOURT_PURGE_INTERVAL_S="1",
        FIELDCOURT_RETENTION_CLOSED_CASE_DAYS=str(3 / 86400),
    )
    proc = WorkerProcess(env, tmp_path / "worker").start()
    try:
        proc.wait_ready()
        run(produce(app_settings, [arrest(people[0])]))
        opened = run(consume_until(app_settings, [case_topic("P12")], has(closed_case)))
        assert has(closed_case)(opened), "the case did not open"
        outcome = (OUTCOMES_TOPIC, closed_case.encode(), orjson.dumps(closure))
        run(produce(app_settings, [outcome]))

        def arrest_again() -> None:  # a match: the case partition has a record to purge from
            run(produce(app_settings, [arrest(people[1])]))

        changelog = f"{run_id}-cases-changelog"
        swept = run(
            wait_for_tombstone(app_settings, changelog, CASE.key(closed_case), arrest_again)
        )
        assert swept, "the closed case was not swept"

        def tombstone(records: list[ConsumerRecord[bytes, bytes]]) -> bool:
            return any(r.key == closed_case.encode() and r.value is None for r in records)

        section = run(consume_until(app_settings, [case_topic("P12")], tombstone, timeout_s=30))
        assert tombstone(section), "the forgotten case left no tombstone on its section topic"
        assert not any(r.key == open_case.encode() and r.value is None for r in section)
        expired = expiry_of(closed_case)
        audit = run(consume_until(app_settings, [AUDIT_TOPIC], expired, timeout_s=30))
        assert expired(audit), "the tombstone has no erase record"
        assert "processing failed" not in proc.output()
    finally:
        assert proc.stop() == 0
    stored = read_table(app_settings.data_dir, run_id, "cases")
    assert CASE.key(closed_case) not in stored
    assert CASE.key(open_case) in stored
