"""What a benchmark run leaves: the machine it ran on, the table it prints,
``var/bench/results.json`` and ``bench.png`` (and a copy of both under ``var/bench/runs/``)."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import platform
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson

from benchmarks.harness import DEFINITION, OUT, Bench
from benchmarks.latency import LATENCY_DEFINITION
from fieldcourt.settings import PROJECT_ROOT


def git(*args: str) -> str:
    try:
        return subprocess.run(  # noqa: S603
            ["git", *args],  # noqa: S607
            cwd=PROJECT_ROOT,
            capture_output=True,
            text=True,
            check=False,
        ).stdout.rstrip("\n")
    except OSError:
        return ""


def machine() -> dict[str, Any]:
    mem = 0
    with contextlib.suppress(OSError):
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) * 1024
    return {
        "at": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "cores": os.cpu_count(),
        "load_average": os.getloadavg(),
        "memory_bytes": mem,
        "git_commit": git("rev-parse", "HEAD"),
        "git_uncommitted": git("status", "--porcelain", "--untracked-files=no").splitlines(),
    }


def versions() -> dict[str, Any]:
    from importlib.metadata import version

    jars = sorted((PROJECT_ROOT / ".kafka" / "libs").glob("kafka_2.13-*.jar"))
    return {
        "python": platform.python_version(),
        "faust-streaming": version("faust-streaming"),
        "aiokafka": version("aiokafka"),
        "kafka": jars[0].stem.removeprefix("kafka_2.13-") if jars else None,
    }


def write_report(bench: Bench, stages: Sequence[str]) -> dict[str, float | None]:
    """Print the table, write the files; the figures of the ``BENCH`` line. ``stages``: every
    stage's name, to tell a partial (``--only``) run's copy by its name."""
    from benchmarks.report import figures, plot, summary, table

    rows = figures(bench.results, bench.opts.core_sizes)
    print()
    print(table(rows))
    for item in bench.skipped:
        print(f"skipped: {item['what']}: {item['why']}")
    for item in bench.failures:
        print(f"FAILED: {item['stage']}: {item['error']}")
    why = plot(bench.results, rows, OUT / "bench.png")
    print(f"plot: {why or OUT / 'bench.png'}")
    line = summary(rows)
    document = {
        "definition": DEFINITION,
        "latency_definition": LATENCY_DEFINITION,
        "options": vars(bench.opts),
        "versions": versions(),
        "machine": {
            "before": bench.results.get("machine_before"),
            "after": bench.results.get("machine_after"),
        },
        "figures": line,
        "results": bench.results,
        "skipped": bench.skipped,
        "failures": bench.failures,
    }
    (OUT / "results.json").write_bytes(orjson.dumps(document, option=orjson.OPT_INDENT_2))
    # every run also keeps its own copy: a later --quick or --only run replaces the files above
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%SZ")
    kept = (
        OUT
        / "runs"
        / (
            stamp
            + ("-quick" if bench.opts.quick else "")
            + ("" if bench.opts.only == tuple(stages) else "-" + "-".join(bench.opts.only))
        )
    )
    kept.mkdir(parents=True, exist_ok=True)
    for name in ("results.json", "bench.png"):
        if (OUT / name).exists():
            shutil.copy2(OUT / name, kept / name)
    print(f"results: {OUT / 'results.json'} (and a copy in {kept})")
    return line
