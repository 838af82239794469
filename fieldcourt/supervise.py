"""Runs ``fieldcourt worker`` as a child process: for the demo, the tests and benchmarks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from fieldcourt.kafka_local import free_port
from fieldcourt.settings import PROJECT_ROOT


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
                env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=PROJECT_ROOT,
                start_new_session=True,
            )  # fmt: skip
        return self

    def wait_ready(self, timeout_s: float = 90.0) -> None:
        """Ready once Faust reports the worker ready (partitions assigned, tables recovered)."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"worker exited {self.proc.returncode}:\n{self.output()}")
            if "Ready" in self.output():
                return
            time.sleep(0.25)
        raise RuntimeError(f"worker not ready in {timeout_s}s:\n{self.output()[-4000:]}")

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
    """The environment of a worker: ours without other FIELDCOURT_* settings, plus these."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDCOURT_")}
    env.update(
        FIELDCOURT_BROKER=bootstrap,
        FIELDCOURT_APP_ID=app_id,
        FIELDCOURT_DATA_DIR=str(data_dir),
        FIELDCOURT_WEB_PORT=str(free_port()),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env
