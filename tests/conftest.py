"""Shared fixtures. The broker is a real Apache Kafka, started once per session, lazily."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings as hypothesis_settings

from fieldcourt.acl import prepare_broker
from fieldcourt.settings import Settings, load_settings
from tests.kafka import WorkerProcess, local_broker, run, worker_env

TEST_KEY = "test-key-" + "0" * 40

# No deadline on any property test: how long an example takes is a benchmark's business, and a
# loaded machine (CI's two cores, shared with the broker and workers) must not fail the suite.
hypothesis_settings.register_profile("fieldcourt", deadline=None)
hypothesis_settings.load_profile("fieldcourt")


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """How to reach a real broker (settings: its address, and how clients authenticate):
    ``FIELDCOURT_TEST_BOOTSTRAP`` (with the ``FIELDCOURT_KAFKA_*`` of the environment) or one
    we start, with SASL/SCRAM over TLS and the StandardAuthorizer."""
    given = os.environ.get("FIELDCOURT_TEST_BOOTSTRAP")
    if given:
        yield {"broker": given}
        return
    with local_broker(tmp_path_factory.mktemp("broker")) as broker:
        yield broker.access()


@pytest.fixture
def private_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """A broker for one test alone, for a module whose ``kafka_broker`` returns it: a test
    whose events are days old would find them late at their source behind other tests'
    recent events on the same field partitions, and reads every case topic whole."""
    with local_broker(tmp_path_factory.mktemp("private-broker")) as broker:
        yield broker.access()


@pytest.fixture
def app_settings(kafka_broker: dict[str, Any], tmp_path: Path) -> Settings:
    """Settings of a fresh app (own app id, internal topics and data folder), topics and
    their ACLs applied."""
    settings = load_settings(
        **kafka_broker,
        app_id=f"fc-test-{uuid.uuid4().hex[:8]}",
        data_dir=tmp_path / "data",
        pseudonym_key=TEST_KEY,
    )
    run(prepare_broker(settings))
    return settings


@pytest.fixture
def worker(app_settings: Settings, tmp_path: Path) -> Iterator[Callable[..., WorkerProcess]]:
    """Start ``fieldcourt worker`` processes for this test; all are stopped at teardown."""
    started: list[WorkerProcess] = []

    def start(**extra_env: str) -> WorkerProcess:
        env = worker_env(
            app_settings,
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
