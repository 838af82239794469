"""Stages ``core`` and ``state``: the in-memory pipeline's throughput and its stores' RSS,
each measured by ``benchmarks.core`` in a child process (no broker)."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import orjson

from benchmarks.harness import Bench
from fieldcourt.settings import PROJECT_ROOT


def core_process(bench: Bench, args: list[str]) -> dict[str, Any]:
    """Run ``python -m benchmarks.core ARGS``; its ``RESULT {json}`` line, its indented lines
    logged as they come."""
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "benchmarks.core", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        cwd=PROJECT_ROOT,
        start_new_session=True,
    )
    bench.children.append(proc)
    result: dict[str, Any] | None = None
    tail: list[str] = []
    assert proc.stdout is not None
    for raw in proc.stdout:
        line = raw.decode(errors="replace").rstrip()
        if line.startswith("RESULT "):
            result = orjson.loads(line[7:])
        else:
            tail = [*tail[-20:], line]
            if line.startswith("  "):
                bench.say(line)
    proc.wait()
    if proc.returncode != 0 or result is None:
        raise RuntimeError(f"benchmarks.core exited {proc.returncode}:\n" + "\n".join(tail))
    return result


def core(bench: Bench) -> None:
    o = bench.opts
    sizes = ", ".join(f"{s:,}" for s in o.core_sizes)
    with bench.stage("core", f"in-memory pipeline at {sizes} events"):
        if o.core_max is not None:
            bench.say(f"  sizes above --core-max {o.core_max:,} left out")
        result = core_process(
            bench, ["throughput", ",".join(map(str, o.core_sizes)), str(o.core_budget)]
        )
        for item in result["skipped"]:
            bench.skip(f"core at {item['events']:,} events", item["reason"])
        bench.results["core"] = result


def state(bench: Bench) -> None:
    o = bench.opts
    with bench.stage("state", f"in-memory core's stores, {o.state_subjects:,} subjects"):
        result = core_process(
            bench, ["state", str(o.state_subjects), str(o.state_budget), str(o.state_max_rss)]
        )
        if result["subjects"] < result["subjects_wanted"]:
            bench.skip(
                f"state of {result['subjects_wanted']:,} subjects",
                f"measured at {result['subjects']:,} and extrapolated linearly: "
                f"{result.get('stopped_because', '')}",
            )
        bench.results["state"] = result
