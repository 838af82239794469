"""Outcomes do not depend on the processing schedule (SPEC 6, 7), on the real broker.

One generated stream of about 2,100 events that exercises every rule (the seed's story and a
month of background across Paris) is published five ways, each on a broker of its own: paced
in event-time order, in one burst, shuffled within the lateness bound, in one burst with a
second worker joining and the first SIGKILLed, and in one burst with the broker SIGKILLed and
restarted on its data. Every run must end in what the in-memory pipeline answers for the same
input: every case's final state, the alert ids, no dead letter, no event judged late, no two
versions of a case alike numbered, and no case or alert that the answer does not hold.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import random
import signal
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka import AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from fieldcourt.acl import prepare_broker
from fieldcourt.kafka_auth import SIMULATOR, client_options
from fieldcourt.kafka_local import LocalBroker
from fieldcourt.settings import Settings, load_settings
from fieldcourt.simulate import Simulation, SimulationConfig, shift_to_end_at
from fieldcourt.topics import ALERTS_TOPIC, DEADLETTER_TOPIC, SECTIONS, case_topic
from tests.conftest import TEST_KEY
from tests.kafka import WorkerProcess, consume_until, local_broker, run, worker_env
from tests.outputs import assert_same_outcome, assert_state_as_published, outcome_of
from tests.scenario import differences, oracle, outcome

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

Record = tuple[str, dict[str, Any]]
OUTPUTS = [*map(case_topic, SECTIONS), ALERTS_TOPIC, DEADLETTER_TOPIC]
#: Every event is moved by less than this in the shuffled run: none becomes late at its source.
SHUFFLE = dt.timedelta(days=6, hours=23)


@pytest.fixture(scope="module")
def stream() -> list[Record]:
    """The compressed story and background, ending an hour ago (no event is in the future)."""
    config = SimulationConfig(compress=True, rate=85, seed=7, prefix=f"s{uuid.uuid4().hex[:6]}")
    end = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    return shift_to_end_at(Simulation(config).records(), end, whole_days=True)


def occurred(record: Record) -> dt.datetime:
    return dt.datetime.fromisoformat(record[1]["occurred_at"])


def shuffled(records: list[Record], seed: int = 11) -> list[Record]:
    """Each event moved later by up to ``SHUFFLE``: within every field partition, no event
    follows one more than the lateness bound newer, yet windows see their events out of order."""
    rng = random.Random(seed)
    moved = [(occurred(r) + SHUFFLE * rng.random(), i) for i, r in enumerate(records)]
    return [records[i] for _, i in sorted(moved)]


@dataclass
class Run:
    """One broker, one app, its workers, and the restarts a supervisor would make."""

    broker: LocalBroker
    settings: Settings
    folder: Path
    workers: list[WorkerProcess] = field(default_factory=list)

    def start_worker(self, idle_ok: bool = False) -> WorkerProcess:
        """A new worker, once ready; ``idle_ok``: or once it joined the group and was given
        nothing (Faust's assignor may leave a third worker idle on four partitions)."""
        env = worker_env(
            self.settings,
            self.folder / f"store{len(self.workers)}",
            FIELDCOURT_PSEUDONYM_KEY=TEST_KEY,
            FIELDCOURT_SESSION_TIMEOUT_S="8",
        )
        proc = WorkerProcess(env, self.folder / f"worker{len(self.workers)}").start()
        self.workers.append(proc)
        proc.wait_ready(idle_ok=idle_ok)
        return proc

    def supervise(self) -> None:
        """Restart the newest worker if it stopped on its own (as systemd or Kubernetes would:
        a worker that cannot deliver exits rather than commit past a lost output)."""
        last = self.workers[-1]
        if last.proc is not None and last.proc.poll() is not None:
            self.start_worker()

    def kill_broker(self) -> None:
        pid = self.broker.status().pid
        assert pid is not None
        os.killpg(pid, signal.SIGKILL)
        if self.broker._proc is not None:  # our child: reap it
            self.broker._proc.wait()

    def logs(self) -> str:
        return "".join(path.read_text(errors="replace") for w in self.workers for path in w.logs)


@pytest.fixture
def fresh(tmp_path: Path) -> Iterator[Run]:
    """A broker of its own: lateness is judged on each field partition's whole content, so
    another run's events on the same partitions would make this run's events late."""
    with local_broker(tmp_path / "broker") as broker:
        app = load_settings(
            **broker.access(),
            app_id=f"fc-sched-{uuid.uuid4().hex[:6]}",
            data_dir=tmp_path / "app",
            pseudonym_key=TEST_KEY,
        )
        run(prepare_broker(app))
        state = Run(broker, app, tmp_path)
        try:
            yield state
        finally:
            for proc in state.workers:
                proc.stop(signal.SIGKILL)


async def publish(settings: Settings, records: list[Record], pace_s_per_day: float = 0.0) -> None:
    """Publish in this order, keyed by ``event_id``. Unpaced: one burst, every send in flight
    at once. Paced: in event-time order, ``pace_s_per_day`` of wall time per day of event time."""
    producer = AIOKafkaProducer(
        **client_options(settings, SIMULATOR), acks="all", enable_idempotence=True, linger_ms=5
    )
    await producer.start()
    try:
        pending = []
        started, first = time.monotonic(), occurred(records[0])
        for topic, value in records:
            if pace_s_per_day:
                due = started + (occurred((topic, value)) - first) / dt.timedelta(days=1) * (
                    pace_s_per_day
                )
                if due > time.monotonic():
                    await asyncio.gather(*pending)
                    pending = []
                    await asyncio.sleep(due - time.monotonic())
            key = value["event_id"].encode()
            pending.append(await producer.send(topic, orjson.dumps(value), key=key))
        await asyncio.gather(*pending)
    finally:
        await producer.stop()


def read_outputs(
    settings: Settings, done: Callable[[list[ConsumerRecord[bytes, bytes]]], bool], run_: Run
) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of the section, alert and dead-letter topics, once ``done`` or timed out,
    restarting a worker that stopped on its own meanwhile."""
    deadline = time.monotonic() + 300
    records: list[ConsumerRecord[bytes, bytes]] = []
    while time.monotonic() < deadline:
        run_.supervise()
        records = run(consume_until(settings, OUTPUTS, done, timeout_s=20, settle_s=5))
        if done(records):
            return records
    return records


def play(
    run_: Run,
    records: list[Record],
    during: Callable[[], None] = lambda: None,
    pace: float = 0,
    midway: bool = False,
) -> None:
    """Publish ``records`` (paced or in one burst), call ``during`` after them (``midway``:
    after the first half, then publish the rest), and hold every output to the answer."""
    expected = oracle(records, TEST_KEY.encode(), run_.settings.topic_partitions)
    assert expected.late == []  # the input: nothing late at its source
    target = outcome(expected.case_events, expected.alerts)
    run_.start_worker()
    cut = len(records) // 2 if midway else len(records)
    run(publish(run_.settings, records[:cut], pace))
    during()
    if records[cut:]:
        run(publish(run_.settings, records[cut:], pace))

    def done(found: list[ConsumerRecord[bytes, bytes]]) -> bool:
        return not differences(target, outcome_of(found))

    outputs = read_outputs(run_.settings, done, run_)
    assert_same_outcome(outputs, target)
    assert "late at its source" not in run_.logs()
    # and the state a worker taking the case stage over would restore is what was published
    assert_state_as_published(run_.settings, outputs)


@pytest.mark.timeout(900)
def test_paced_in_event_time_order(fresh: Run, stream: list[Record]) -> None:
    play(fresh, stream, pace=0.25)


@pytest.mark.timeout(900)
def test_one_burst(fresh: Run, stream: list[Record]) -> None:
    play(fresh, stream)


@pytest.mark.timeout(900)
def test_shuffled_within_the_lateness_bound(fresh: Run, stream: list[Record]) -> None:
    play(fresh, shuffled(stream))


@pytest.mark.timeout(900)
def test_one_burst_with_a_worker_joining_and_the_first_killed(
    fresh: Run, stream: list[Record]
) -> None:
    def rebalance() -> None:
        first = fresh.workers[0]
        fresh.start_worker()  # joins mid-stream, ready once its share of tables is recovered
        first.stop(signal.SIGKILL)  # whatever it had in flight is cut

    play(fresh, stream, rebalance)
    assert fresh.workers[0].proc is not None
    assert fresh.workers[0].proc.returncode == -signal.SIGKILL


@pytest.mark.timeout(900)
def test_one_burst_with_the_broker_killed_and_restarted(fresh: Run, stream: list[Record]) -> None:
    def broker_crash() -> None:
        # mid-stream: the first hundred case events are out, most of the input is not
        run(consume_until(fresh.settings, OUTPUTS, lambda found: len(found) >= 100))
        fresh.kill_broker()
        time.sleep(2)  # down for a while: the worker's requests fail meanwhile
        fresh.broker.up()  # the same data folder: the log as it was at the kill

    play(fresh, stream, broker_crash)


@pytest.mark.timeout(900)
def test_three_workers_one_stopped_one_killed_and_one_joining(
    fresh: Run, stream: list[Record]
) -> None:
    """Partitions split three ways, then moved by a clean stop, a SIGKILL and a newcomer."""

    def churn() -> None:
        first = fresh.workers[0]
        second = fresh.start_worker(idle_ok=True)
        fresh.start_worker(idle_ok=True)
        assert second.stop() == 0  # SIGTERM: hands its partitions over cleanly
        first.stop(signal.SIGKILL)
        fresh.start_worker(idle_ok=True)

    play(fresh, stream, churn, midway=True)
    assert len(fresh.workers) == 4
