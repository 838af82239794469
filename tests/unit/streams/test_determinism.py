"""Determinism across processes: one input, two interpreters with different hash seeds, the
same bytes out.

Within one interpreter, set and dict orders are the same on every run, so an output whose order
depends on string hashing passes any same-process comparison. Here the in-memory ``Pipeline``
(fed as ``tests.scenario.oracle`` feeds it, with a fixed clock, so ``emitted_at`` is fixed too)
runs on a simulated feed in two subprocesses with ``PYTHONHASHSEED`` 1 and 2.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import orjson

from fieldcourt.settings import PROJECT_ROOT
from fieldcourt.simulate import SimulationConfig, simulate, write_jsonl
from schemas.codec import dumps, dumps_obj, loads
from schemas.field import FIELD_MODELS
from streams.enrich import Enricher
from streams.geofence import load_sectors
from streams.pipeline import Pipeline
from streams.pseudonym import Pseudonymiser

SEEDS = ("1", "2")
CLOCK = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)
KEY = b"determinism-test-key-".ljust(32, b"0")
#: The compressed story (every rule fires) with some background: about 290 events.
FEED = SimulationConfig(seed=11, compress=True, rate=10)
#: What a child process runs: ``run_pipeline`` on a feed file, into an output file.
CHILD = "import sys; from tests.unit.streams.test_determinism import child; child(*sys.argv[1:])"


def run_pipeline(feed: Path) -> bytes:
    """Every case event, then every alert, in emission order: one sorted-key JSON line each."""
    enricher = Enricher(Pseudonymiser(KEY), load_sectors(None))
    lines = [orjson.loads(line) for line in feed.read_bytes().splitlines()]
    events = [
        enricher.enrich(loads(FIELD_MODELS[line["topic"]], dumps_obj(line["value"])))
        for line in lines
    ]
    pipeline = Pipeline(clock=lambda: CLOCK).feed(events)
    return b"".join(
        [b"case " + dumps(event) + b"\n" for event in pipeline.case_events]
        + [b"alert " + dumps(alert) + b"\n" for alert in pipeline.alerts]
    )


def child(feed: str, out: str) -> None:
    """In a subprocess: the pipeline's output to ``out``, this interpreter's string hash to
    stdout (to show that the seeds differ)."""
    Path(out).write_bytes(run_pipeline(Path(feed)))
    print(hash("fieldcourt"))


def test_two_hash_seeds_give_byte_identical_outputs(tmp_path: Path) -> None:
    feed = tmp_path / "feed.jsonl"
    assert write_jsonl(feed, simulate(FEED)) > 200
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTHON")}
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", CHILD, str(feed), str(tmp_path / f"out-{seed}")],
            env={**env, "PYTHONHASHSEED": seed, "PYTHONPATH": str(PROJECT_ROOT)},
            cwd=PROJECT_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for seed in SEEDS
    ]
    hashes = []
    for seed, process in zip(SEEDS, runs, strict=True):
        stdout, stderr = process.communicate(timeout=120)
        assert process.returncode == 0, f"PYTHONHASHSEED={seed}:\n{stderr.decode()}"
        hashes.append(stdout.strip())
    assert hashes[0] != hashes[1], "the children did not run with different hash seeds"

    first, second = (tmp_path / f"out-{seed}" for seed in SEEDS)
    assert first.read_bytes().splitlines() == second.read_bytes().splitlines()  # a readable diff
    assert first.read_bytes() == second.read_bytes()
    assert first.read_bytes() == run_pipeline(feed)  # and this process, whatever its seed

    kinds = Counter(line.split(b" ", 1)[0] for line in first.read_bytes().splitlines())
    events = [orjson.loads(line.split(b" ", 1)[1]) for line in first.read_bytes().splitlines()]
    types = Counter(e.get("event_type") or e["alert_type"] for e in events)
    assert kinds[b"case"] > 50
    assert kinds[b"alert"] >= 5
    assert {"case_opened", "case_escalated", "displacement", "surge"} <= set(types)
    assert all(e["emitted_at"] == "2026-05-01T12:00:00Z" for e in events)
