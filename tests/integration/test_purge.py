"""State past its retention is purged inside the worker, on the real broker, without errors."""

from __future__ import annotations

import datetime as dt
import itertools
import time
from collections.abc import Callable

import orjson
import pytest

from fieldcourt.settings import Settings
from schemas.codec import dumps_obj, loads
from schemas.common import Person
from streams.partitioning import partition_of
from streams.pseudonym import Pseudonymiser
from tests.conftest import TEST_KEY
from tests.factories import raw_arrest, raw_person
from tests.kafka import WorkerProcess, produce, run

pytestmark = pytest.mark.kafka


def test_subject_history_past_retention_is_purged_by_the_worker(
    app_settings: Settings, worker: Callable[..., WorkerProcess]
) -> None:
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

    proc = worker(FIELDCOURT_PURGE_INTERVAL_S="1")
    run(produce(app_settings.broker, [arrest(old, 300)]))
    time.sleep(4)
    run(produce(app_settings.broker, [arrest(new, 1)]))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and "purged 1 subject entries" not in proc.output():
        time.sleep(0.5)
    assert "purged 1 subject entries" in proc.output()
    assert "processing failed" not in proc.output()
    assert "Cannot modify table" not in proc.output()
