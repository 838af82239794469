"""Test helpers for the real broker: plain aiokafka clients and a worker run as a real process.

Nothing here goes through fieldcourt's own Kafka code, so the tests see what any client sees.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import ConsumerRecord

from fieldcourt.kafka_local import free_port

REPO = Path(__file__).resolve().parent.parent


async def produce(
    bootstrap: str, records: Iterable[tuple[str, bytes | None, bytes | None]]
) -> None:
    """Publish (topic, key, value) records in order with a plain producer, waiting for acks."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, max_request_size=16 * 1024 * 1024, acks="all",
        enable_idempotence=True,
    )  # fmt: skip
    await producer.start()
    try:
        for topic, key, value in records:
            await producer.send_and_wait(topic, value, key=key)
    finally:
        await producer.stop()


async def consume_until(
    bootstrap: str,
    topics: list[str],
    done: Callable[[list[ConsumerRecord[bytes, bytes]]], bool],
    timeout_s: float = 60.0,
    *,
    isolation_level: str = "read_uncommitted",
    settle_s: float = 0.0,
) -> list[ConsumerRecord[bytes, bytes]]:
    """Read the topics from the beginning until ``done(records)`` or the timeout; return all.

    ``settle_s`` keeps reading that much longer after ``done``, to catch what should not come.
    """
    consumer = AIOKafkaConsumer(
        *topics, bootstrap_servers=bootstrap, auto_offset_reset="earliest",
        enable_auto_commit=False, group_id=None, isolation_level=isolation_level,
        fetch_max_bytes=64 * 1024 * 1024, max_partition_fetch_bytes=32 * 1024 * 1024,
    )  # fmt: skip
    await consumer.start()
    records: list[ConsumerRecord[bytes, bytes]] = []
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            batch = await consumer.getmany(timeout_ms=500)
            for part in batch.values():
                records.extend(part)
            if done(records):
                settle_until = time.monotonic() + settle_s
                while time.monotonic() < settle_until:
                    for part in (await consumer.getmany(timeout_ms=200)).values():
                        records.extend(part)
                break
    finally:
        await consumer.stop()
    return records


def run(coro: Any) -> Any:
    return asyncio.run(coro)


@dataclass
class WorkerProcess:
    """``fieldcourt worker`` as a child process with its own app id and data folder."""

    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    logs: list[Path] = field(default_factory=list)

    def start(self) -> WorkerProcess:
        self.starts += 1
        log = self.log_path.with_suffix(f".{self.starts}.log")
        self.logs.append(log)
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "fieldcourt.cli", "worker", "--loglevel", "info"],
                env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO,
                start_new_session=True,
            )  # fmt: skip
        return self

    def wait_ready(self, timeout_s: float = 90.0) -> None:
        """Ready once Faust reports the worker ready (partitions assigned, tables recovered)."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"worker exited {self.proc.returncode}:\n{self.output()}")
            if "Ready" in self.output():
                return
            time.sleep(0.25)
        raise AssertionError(f"worker not ready in {timeout_s}s:\n{self.output()[-4000:]}")

    def output(self) -> str:
        return self.logs[-1].read_text(errors="replace") if self.logs else ""

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout_s: float = 30.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        os.killpg(self.proc.pid, sig)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(10)


def worker_env(bootstrap: str, app_id: str, data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDCOURT_")}
    env.update(
        FIELDCOURT_BROKER=bootstrap,
        FIELDCOURT_APP_ID=app_id,
        FIELDCOURT_DATA_DIR=str(data_dir),
        FIELDCOURT_WEB_PORT=str(free_port()),
        FIELDCOURT_PSEUDONYM_KEY="test-key-" + "0" * 40,
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env
