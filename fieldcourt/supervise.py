"""Runs ``fieldcourt worker`` (and ``fieldcourt dashboard``) as a child process: for the demo,
the tests and benchmarks."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http import HTTPStatus
from pathlib import Path
from typing import ClassVar, Self

from fieldcourt.kafka_auth import client_env
from fieldcourt.kafka_local import free_port
from fieldcourt.settings import PROJECT_ROOT, Settings


@dataclass
class WorkerProcess:
    """``fieldcourt worker`` as a child process with its own app id and data folder."""

    #: The command's arguments, and the settings of the address its ``/readyz`` answers on.
    command: ClassVar[tuple[str, ...]] = ("worker", "--loglevel", "info")
    bind_variable: ClassVar[str] = "FIELDCOURT_WEB_BIND"
    port_variable: ClassVar[str] = "FIELDCOURT_WEB_PORT"
    port_setting: ClassVar[str] = "web_port"

    env: dict[str, str]
    log_path: Path
    proc: subprocess.Popen[bytes] | None = None
    starts: int = 0
    logs: list[Path] = field(default_factory=list)

    def start(self) -> Self:
        self.starts += 1
        log = self.log_path.with_suffix(f".{self.starts}.log")
        self.logs.append(log)
        with log.open("wb") as out:
            self.proc = subprocess.Popen(  # noqa: S603 (our own command, fixed arguments)
                [sys.executable, "-m", "fieldcourt.cli", *self.command],
                env=self.env,
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=PROJECT_ROOT,
                start_new_session=True,
            )
        return self

    def wait_ready(self, timeout_s: float = 90.0, idle_ok: bool = False) -> None:
        """Ready once the worker's ``/readyz`` answers 200: broker reachable, partitions
        assigned, tables recovered; ``idle_ok``: or once it joined its group and was given no
        partition (more workers than the assignor hands work to). On failure the error
        carries the last answer and the log."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout_s
        last = "no answer"
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"{self.command[0]} exited {self.proc.returncode}:\n{self.output()}"
                )
            try:
                status, body = self.http_get("/readyz")
            except OSError as exc:  # not listening yet
                last = repr(exc)
            else:
                if status == HTTPStatus.OK or (idle_ok and "no partitions assigned" in body):
                    return
                last = f"{status} {body}"
            time.sleep(0.25)
        raise RuntimeError(
            f"{self.command[0]} not ready in {timeout_s}s (/readyz: {last}):\n"
            f"{self.output()[-4000:]}"
        )

    def url(self, path: str) -> str:
        """The process's own HTTP endpoint (``FIELDCOURT_WEB_BIND`` / ``_PORT`` of its env)."""
        bind = self.env.get(self.bind_variable, "127.0.0.1")
        host = "127.0.0.1" if bind in ("", "0.0.0.0", "::") else bind  # noqa: S104
        port = self.env.get(
            self.port_variable, str(Settings.model_fields[self.port_setting].default)
        )
        return f"http://{host}:{port}{path}"

    def http_get(self, path: str, timeout_s: float = 5.0) -> tuple[int, str]:
        """Status and body of a GET on the worker's endpoint; error statuses are returned."""
        try:
            with urllib.request.urlopen(self.url(path), timeout=timeout_s) as response:  # noqa: S310
                return int(response.status), response.read().decode()
        except urllib.error.HTTPError as exc:
            with exc:
                return exc.code, exc.read().decode()

    def output(self) -> str:
        return self.logs[-1].read_text(errors="replace") if self.logs else ""

    def send_signal(self, sig: signal.Signals) -> None:
        """Deliver ``sig`` to the worker's process group (SIGSTOP holds it, SIGCONT resumes)."""
        assert self.proc is not None
        os.killpg(self.proc.pid, sig)

    def stop(self, sig: signal.Signals = signal.SIGTERM, timeout_s: float = 30.0) -> int | None:
        if self.proc is None or self.proc.poll() is not None:
            return self.proc.returncode if self.proc else None
        self.send_signal(sig)
        try:
            return self.proc.wait(timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            return self.proc.wait(10)


class DashboardProcess(WorkerProcess):
    """``fieldcourt dashboard`` as a child process; ready once it has read every role's topic
    up to where it ended when it started."""

    command = ("dashboard",)
    bind_variable = "FIELDCOURT_DASHBOARD_BIND"
    port_variable = "FIELDCOURT_DASHBOARD_PORT"
    port_setting = "dashboard_port"


def worker_env(settings: Settings, data_dir: Path | None = None, **extra: str) -> dict[str, str]:
    """The environment of a worker of ``settings``' broker and app id (in ``data_dir``, by
    default theirs): ours without other FIELDCOURT_* settings, plus these."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDCOURT_")}
    env.update(client_env(settings))
    env.update(
        FIELDCOURT_APP_ID=settings.app_id,
        FIELDCOURT_DATA_DIR=str(data_dir or settings.data_dir),
        FIELDCOURT_WEB_PORT=str(free_port()),
        PYTHONUNBUFFERED="1",
    )
    env.update(extra)
    return env
