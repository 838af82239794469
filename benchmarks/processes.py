"""The processes a benchmark stage starts and watches: peers, fieldcourt workers, their RSS."""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path

from fieldcourt.settings import PROJECT_ROOT
from fieldcourt.supervise import WorkerProcess


def _group(pgid: int) -> Iterator[tuple[Path, list[str]]]:
    """Each process of a process group: its /proc folder and its ``stat`` fields from the
    third (``state``) on."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            stat = (proc / "stat").read_text()
        except OSError:
            continue
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[2]) == pgid:
            yield proc, fields


def rss_of_group(pgid: int) -> int:
    """RSS in bytes of every process of a process group (a worker and any child)."""
    total = 0
    for proc, _ in _group(pgid):
        with contextlib.suppress(OSError):
            for line in (proc / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1]) * 1024
    return total


def cpu_of_group(pgid: int) -> float:
    """CPU seconds (user and system) spent so far by the living processes of a group."""
    ticks = sum(int(fields[11]) + int(fields[12]) for _, fields in _group(pgid))
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass
class Peer:
    """A peer process (``raw_peer``/``faust_peer``) started in its own session."""

    argv: list[str]
    log: Path
    proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Peer:
        with self.log.open("wb") as out:
            self.proc = subprocess.Popen(  # noqa: S603
                [sys.executable, "-m", *self.argv],
                stdout=out,
                stderr=subprocess.STDOUT,
                cwd=PROJECT_ROOT,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
                start_new_session=True,
            )
        return self

    async def wait_ready(self, timeout_s: float = 90.0) -> float:
        """The time (``time.time()``) the peer said ``READY``."""
        assert self.proc is not None
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            found = re.search(r"READY ([0-9]+\.[0-9]+)", self.log.read_text(errors="replace"))
            if found:
                return float(found.group(1))
            if self.proc.poll() is not None:
                raise RuntimeError(f"peer exited {self.proc.returncode}: {self.tail()}")
            await asyncio.sleep(0.02)
        raise RuntimeError(f"peer not ready in {timeout_s:.0f} s: {self.tail()}")

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def tail(self) -> str:
        return "\n".join(self.log.read_text(errors="replace").splitlines()[-15:])

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)


def alive(worker: WorkerProcess) -> bool:
    return worker.proc is not None and worker.proc.poll() is None


def died(worker: WorkerProcess) -> None:
    """Raise with the end of its log if the worker is no longer running."""
    if worker.proc is not None and worker.proc.poll() is not None:
        raise RuntimeError(
            f"the worker exited {worker.proc.returncode}; its log ends:\n{worker.output()[-3000:]}"
        )


async def worker_ready(worker: WorkerProcess, timeout_s: float = 180.0) -> float:
    """Poll ``/readyz`` every 50 ms; the time (``time.time()``) it first answered 200."""
    assert worker.proc is not None
    deadline = time.monotonic() + timeout_s
    last = "no answer"
    while time.monotonic() < deadline:
        died(worker)
        try:
            status, body = await asyncio.to_thread(worker.http_get, "/readyz", 1.0)
        except OSError as exc:
            last = repr(exc)
        else:
            if status == HTTPStatus.OK:
                return time.time()
            last = f"{status} {body[:200]}"
        await asyncio.sleep(0.05)
    raise RuntimeError(f"worker not ready in {timeout_s:.0f} s (/readyz: {last})")


def start_worker(worker: WorkerProcess) -> float:
    """Start ``worker``; seconds until it is ready."""
    started = time.time()
    worker.start()
    return asyncio.run(worker_ready(worker)) - started
