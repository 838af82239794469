"""Shared fixtures. The broker is a real Apache Kafka, started once per session, lazily."""

from __future__ import annotations

import contextlib
import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from fieldcourt.kafka_local import LocalBroker, free_port
from fieldcourt.settings import Settings, load_settings
from fieldcourt.topics import apply_topics, catalogue
from tests.kafka import WorkerProcess, run, worker_env

TEST_KEY = "test-key-" + "0" * 40


@contextlib.contextmanager
def local_broker(data_dir: Path) -> Iterator[str]:
    """A real broker of our own on free ports, stopped on exit; its bootstrap address."""
    settings = load_settings(
        data_dir=data_dir, kafka_port=free_port(), kafka_controller_port=free_port()
    )
    broker = LocalBroker(settings)
    broker.up()
    try:
        yield broker.bootstrap
    finally:
        broker.down()


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Bootstrap address of a real broker: ``FIELDCOURT_TEST_BOOTSTRAP`` or one we start."""
    given = os.environ.get("FIELDCOURT_TEST_BOOTSTRAP")
    if given:
        yield given
        return
    with local_broker(tmp_path_factory.mktemp("broker")) as bootstrap:
        yield bootstrap


@pytest.fixture
def private_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A broker for one test alone, for a module whose ``kafka_broker`` returns it: a test
    whose events are days old would find them late at their source behind other tests'
    recent events on the same field partitions, and reads every case topic whole."""
    with local_broker(tmp_path_factory.mktemp("private-broker")) as bootstrap:
        yield bootstrap


@pytest.fixture
def app_settings(kafka_broker: str, tmp_path: Path) -> Settings:
    """Settings of a fresh app (own app id, internal topics and data folder), topics applied."""
    settings = load_settings(
        broker=kafka_broker,
        app_id=f"fc-test-{uuid.uuid4().hex[:8]}",
        data_dir=tmp_path / "data",
        pseudonym_key=TEST_KEY,
    )
    run(apply_topics(settings, catalogue(settings)))
    return settings


@pytest.fixture
def worker(app_settings: Settings, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start ``fieldcourt worker`` processes for this test; all are stopped at teardown."""
    started: list[WorkerProcess] = []

    def start(**extra_env: str) -> WorkerProcess:
        env = worker_env(
            app_settings.broker,
            app_settings.app_id,
            app_settings.data_dir,
            FIELDCOURT_PSEUDONYM_KEY=TEST_KEY,
            FIELDCOURT_SESSION_TIMEOUT_S="8",
            **extra_env,
        )
        proc = WorkerProcess(env, tmp_path / f"worker{len(started)}").start()
        started.append(proc)
        proc.wait_ready()
        return proc

    yield start
    for proc in started:
        proc.stop()
