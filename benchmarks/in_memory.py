"""Stage ``core``: the in-memory pipeline's throughput, measured by ``benchmarks.core`` in a
child process (no broker); ``child`` runs such a process for any stage."""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import orjson

from benchmarks.harness import Bench
from fieldcourt.settings import PROJECT_ROOT


def child(bench: Bench, module: str, args: list[str]) -> dict[str, Any]:
    """Run ``python -m MODULE ARGS``; its ``RESULT {json}`` line, its indented lines logged as
    they come."""
    proc = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", module, *args],
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
        raise RuntimeError(f"{module} exited {proc.returncode}:\n" + "\n".join(tail))
    return result


def core(bench: Bench) -> None:
    o = bench.opts
    sizes = ", ".join(f"{s:,}" for s in o.core_sizes)
    with bench.stage("core", f"in-memory pipeline at {sizes} events"):
        if o.core_max is not None:
            bench.say(f"  sizes above --core-max {o.core_max:,} left out")
        result = child(
            bench,
            "benchmarks.core",
            ["throughput", ",".join(map(str, o.core_sizes)), str(o.core_budget)],
        )
        for item in result["skipped"]:
            bench.skip(f"core at {item['events']:,} events", item["reason"])
        bench.results["core"] = result
