"""`fieldcourt kafka up/status/down` and `topics apply` as a user runs them, on a real broker."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from fieldcourt.kafka_local import free_port

pytestmark = [pytest.mark.kafka, pytest.mark.slow]


def fieldcourt(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "fieldcourt.cli", *args],
        env=env, capture_output=True, text=True, timeout=180, check=False,
    )  # fmt: skip


def broker_processes(data_dir: Path) -> list[str]:
    out = subprocess.run(
        ["ps", "-ww", "-eo", "pid,args"], capture_output=True, text=True, check=True
    )
    return [line for line in out.stdout.splitlines() if "kafka.Kafka" in line
            and str(data_dir) in line]  # fmt: skip


def test_up_status_apply_twice_down_up_again_keeps_data(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDCOURT_")}
    env.update(
        FIELDCOURT_DATA_DIR=str(tmp_path),
        FIELDCOURT_KAFKA_PORT=str(port),
        FIELDCOURT_KAFKA_CONTROLLER_PORT=str(free_port()),
        FIELDCOURT_BROKER=f"127.0.0.1:{port}",
    )
    try:
        status = fieldcourt(env, "kafka", "status")
        assert status.returncode == 3
        assert "not running" in status.stdout

        up = fieldcourt(env, "kafka", "up")
        assert up.returncode == 0, up.stderr
        assert f"127.0.0.1:{port}" in up.stdout
        assert fieldcourt(env, "kafka", "status").returncode == 0
        assert len(broker_processes(tmp_path)) == 1

        again = fieldcourt(env, "kafka", "up")  # idempotent: no second broker
        assert again.returncode == 0
        assert len(broker_processes(tmp_path)) == 1

        first = fieldcourt(env, "topics", "apply")
        assert first.returncode == 0, first.stderr
        assert "created" in first.stdout
        assert "field.deadletter.v1" in first.stdout
        second = fieldcourt(env, "topics", "apply")
        assert second.returncode == 0, second.stderr
        lines = second.stdout.strip().splitlines()
        assert lines
        assert all(line.startswith("unchanged") for line in lines), second.stdout

        down = fieldcourt(env, "kafka", "down")
        assert down.returncode == 0
        assert "stopped" in down.stdout
        assert broker_processes(tmp_path) == []
        assert fieldcourt(env, "kafka", "status").returncode == 3

        assert fieldcourt(env, "kafka", "up").returncode == 0
        kept = fieldcourt(env, "topics", "apply")
        assert all(line.startswith("unchanged") for line in kept.stdout.strip().splitlines())
    finally:
        fieldcourt(env, "kafka", "down")
    assert broker_processes(tmp_path) == []
    assert fieldcourt(env, "kafka", "down").stdout.strip() == "kafka: was not running"
