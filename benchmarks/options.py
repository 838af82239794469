"""The benchmark's command line: ``Options`` and the parser that fills them."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass


@dataclass
class Options:
    quick: bool
    only: tuple[str, ...]
    store: str
    peer_events: int
    arrests_events: int
    mixed_events: int
    latency_rate: float
    latency_seconds: float
    core_sizes: list[int]
    core_max: int | None
    core_budget: float
    state_subjects: int
    state_budget: float
    state_max_rss: float
    profile: bool
    profile_blocking: bool
    #: ``FIELDCOURT_*`` settings given to every worker the benchmark starts (``--worker-env``).
    worker_env: dict[str, str]


def parse(argv: list[str], stages: Sequence[str], description: str | None) -> Options:
    """``stages``: every stage's name in run order (``--only`` picks among them)."""
    stages = tuple(stages)
    p = argparse.ArgumentParser(
        prog="python -m benchmarks.run",
        description=description,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--quick", action="store_true", help="small sizes, to check the harness")
    p.add_argument("--only", default="", help=f"comma-separated stages among {', '.join(stages)}")
    p.add_argument(
        "--store", choices=("rocksdb", "memory"), default="rocksdb", help="the worker's tables"
    )
    p.add_argument("--peer-events", type=int, help="events for the peers (default 100,000)")
    p.add_argument("--arrests-events", type=int, help="arrests-only stream (default 5,000)")
    p.add_argument("--mixed-events", type=int, help="mixed stream, end to end (default 10,000)")
    p.add_argument("--latency-rate", type=float, help="events/s of steady input (default 200)")
    p.add_argument("--latency-seconds", type=float, help="seconds of steady input (default 60)")
    p.add_argument("--core-sizes", help="comma-separated (default 10000,100000,1000000)")
    p.add_argument("--core-max", type=int, help="largest core size to attempt")
    p.add_argument(
        "--core-budget",
        type=float,
        default=900.0,
        help="skip a core size expected to take longer than this (s, default 900)",
    )
    p.add_argument("--state-subjects", type=int, help="distinct subjects (default 1,000,000)")
    p.add_argument(
        "--state-budget",
        type=float,
        default=900.0,
        help="stop building the state past this; the worker gets what was built (s, default 900)",
    )
    p.add_argument(
        "--state-max-rss",
        type=float,
        default=6144.0,
        help="stop building it once the in-memory stores pass this (MiB, default 6144)",
    )
    p.add_argument(
        "--profile",
        action="store_true",
        help="py-spy each end-to-end worker while it works: top 15 functions by own time",
    )
    p.add_argument(
        "--profile-blocking",
        action="store_true",
        help="with --profile: py-spy pauses the worker for each sample, so every stack is "
        "whole (the worker runs slower; its rate means nothing then)",
    )
    p.add_argument(
        "--worker-env",
        action="append",
        default=[],
        metavar="FIELDCOURT_NAME=VALUE",
        help="a setting for every fieldcourt worker started (repeatable), to compare settings",
    )
    a = p.parse_args(argv)
    worker_env = dict(item.partition("=")[::2] for item in a.worker_env)
    wrong = [name for name in worker_env if not name.startswith("FIELDCOURT_")]
    if wrong:
        p.error(f"--worker-env takes FIELDCOURT_NAME=VALUE, not {wrong[0]}")
    q = a.quick
    only = tuple(s for s in a.only.split(",") if s) or stages
    unknown = [s for s in only if s not in stages]
    if unknown:
        p.error(f"unknown stage(s) {', '.join(unknown)}; stages: {', '.join(stages)}")
    sizes = [int(s) for s in a.core_sizes.split(",")] if a.core_sizes else None
    sizes = sizes or ([2_000, 10_000] if q else [10_000, 100_000, 1_000_000])
    if a.core_max is not None:
        sizes = [s for s in sizes if s <= a.core_max] or [a.core_max]
    return Options(
        quick=q,
        only=only,
        store=a.store,
        peer_events=a.peer_events or (5_000 if q else 100_000),
        arrests_events=a.arrests_events or (1_000 if q else 5_000),
        mixed_events=a.mixed_events or (1_000 if q else 10_000),
        latency_rate=a.latency_rate or 200.0,
        latency_seconds=a.latency_seconds or (10.0 if q else 60.0),
        core_sizes=sizes,
        core_max=a.core_max,
        core_budget=a.core_budget,
        state_subjects=a.state_subjects or (20_000 if q else 1_000_000),
        state_budget=a.state_budget,
        state_max_rss=a.state_max_rss,
        profile=a.profile or a.profile_blocking,
        profile_blocking=a.profile_blocking,
        worker_env=worker_env,
    )
