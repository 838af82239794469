"""``--profile``: py-spy records an end-to-end worker while it drains; functions ranked by
their own time."""

from __future__ import annotations

import contextlib
import re
import signal
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from benchmarks.harness import OUT, Bench
from fieldcourt.supervise import WorkerProcess


@dataclass
class Profile:
    proc: subprocess.Popen[bytes]
    out: Path


def start_profile(bench: Bench, worker: WorkerProcess, name: str) -> Profile | None:
    spy = Path(sys.executable).parent / "py-spy"
    if not spy.exists():
        bench.skip("profile", f"py-spy is not installed ({spy}): .venv/bin/pip install py-spy")
        return None
    assert worker.proc is not None
    out = OUT / f"profile-{name}.txt"
    out.unlink(missing_ok=True)
    # without --nonblocking py-spy pauses the worker for each sample: slower, but no stack is
    # read while the interpreter changes it, so none comes out cut short
    pause = [] if bench.opts.profile_blocking else ["--nonblocking"]
    proc = subprocess.Popen(  # noqa: S603
        [
            str(spy),
            "record",
            "--pid",
            str(worker.proc.pid),
            "--format",
            "raw",
            "--rate",
            "100",
            *pause,
            "--output",
            str(out),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    bench.children.append(proc)
    bench.say(f"  py-spy records the worker until it has drained -> {out}")
    return Profile(proc, out)


def finish_profile(spy: Profile) -> dict[str, Any]:
    """Stop py-spy (SIGINT: it writes its samples) and rank functions by own time."""
    with contextlib.suppress(ProcessLookupError):
        spy.proc.send_signal(signal.SIGINT)
    try:
        _, err = spy.proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        spy.proc.kill()
        _, err = spy.proc.communicate()
    out = spy.out
    if not out.exists():
        raise RuntimeError(f"py-spy wrote nothing: {err.decode(errors='replace')[-500:]}")
    own: dict[str, int] = {}
    total = 0
    for line in out.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        # "function (file:line)": one entry per function, whatever its line
        leaf = re.sub(r":\d+\)$", ")", stack.split(";")[-1])
        own[leaf] = own.get(leaf, 0) + int(count)
        total += int(count)
    top = sorted(own.items(), key=lambda kv: -kv[1])[:15]
    return {"samples": total, "top_own": [[leaf, count / total] for leaf, count in top]}
