"""State past its retention is purged inside the worker, on the real broker, without errors."""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import orjson
import pytest

from fieldcourt.kafka_local import LocalBroker, free_port
from fieldcourt.settings import Settings, load_settings
from fieldcourt.topics import apply_topics, catalogue
from schemas.codec import dumps_obj, loads
from schemas.common import Person
from streams.partitioning import partition_of
from streams.pseudonym import Pseudonymiser
from tests.conftest import TEST_KEY
from tests.factories import raw_arrest, raw_person
from tests.kafka import WorkerProcess, produce, run, worker_env

pytestmark = pytest.mark.kafka


@pytest.fixture
def own_broker(tmp_path: Path) -> Iterator[str]:
    """A broker of this test's own: other tests' history would drive the watermarks and
    purges this test counts."""
    broker = LocalBroker(load_settings(data_dir=tmp_path / "own", kafka_port=free_port(),
                                       kafka_controller_port=free_port()))  # fmt: skip
    broker.up()
    try:
        yield broker.bootstrap
    finally:
        broker.down()


def test_subject_history_past_retention_is_purged_by_the_worker(
    own_broker: str, tmp_path: Path
) -> None:
    app_settings = load_settings(broker=own_broker, app_id="fc-purge", data_dir=tmp_path / "d",
                                 pseudonym_key=TEST_KEY)  # fmt: skip
    run(apply_topics(app_settings, catalogue(app_settings)))
    run_id = app_settings.app_id
    pseudonyms = Pseudonymiser(TEST_KEY.encode())

    def person(n: int) -> dict[str, object]:
        return raw_person(n, person_id=f"{run_id}-{n}")

    def ref(n: int) -> str:
        return pseudonyms.ref(loads(Person, dumps_obj(person(n))))

    # two subjects whose events meet on one by-subject partition
    partitions = app_settings.topic_partitions
    old, new = next(
        (a, b) for a, b in itertools.combinations(range(50), 2)
        if partition_of(ref(a), partitions) == partition_of(ref(b), partitions)
    )  # fmt: skip
    now = dt.datetime.now(dt.UTC)

    def arrest(n: int, days_ago: int) -> tuple[str, bytes, bytes]:
        event = raw_arrest(
            event_id=f"{run_id}-{n}", person=person(n), flagrant=False,
            occurred_at=(now - dt.timedelta(days=days_ago)).isoformat(), reported_at=None,
        )  # fmt: skip
        return ("field.arrests.v1", event["event_id"].encode(), orjson.dumps(event))

    env = worker_env(own_broker, app_settings.app_id, app_settings.data_dir,
                     FIELDCOURT_PSEUDONYM_KEY=TEST_KEY, FIELDCOURT_PURGE_INTERVAL_S="1",
                     FIELDCOURT_SESSION_TIMEOUT_S="8")  # fmt: skip
    proc = WorkerProcess(env, tmp_path / "worker").start()
    try:
        _purge_scenario(app_settings, proc, arrest, old, new)
    finally:
        proc.stop()


def _purge_scenario(
    app_settings: Settings, proc: WorkerProcess, arrest: Any, old: int, new: int
) -> None:
    proc.wait_ready()
    run(produce(app_settings.broker, [arrest(old, 300)]))
    time.sleep(4)
    run(produce(app_settings.broker, [arrest(new, 1)]))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "purged 1 subject entries" not in proc.output():
        time.sleep(0.5)
    assert "purged 1 subject entries" in proc.output()
    assert "processing failed" not in proc.output()
    assert "Cannot modify table" not in proc.output()
