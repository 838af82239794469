"""What the end-to-end bench reads of a worker's ``/metrics``."""

from __future__ import annotations

from prometheus_client import CollectorRegistry

from benchmarks.end_to_end import batch_seconds
from fieldcourt.metrics import Metrics


def test_the_batch_time_of_each_stage_is_read_phase_by_phase() -> None:
    metrics = Metrics(CollectorRegistry())
    metrics.batch_handled("cases", 0.5, 0.25, 0.125)
    metrics.batch_handled("cases", 0.5, 0.0, 0.0)
    metrics.batch_handled("dedupe", 2.0, 0.0, 0.5)
    assert batch_seconds(metrics.exposition().decode()) == {
        "cases": {"records": 1.0, "release": 0.25, "flush": 0.125},
        "dedupe": {"records": 2.0, "release": 0.0, "flush": 0.5},
    }


def test_a_worker_that_handled_no_batch_reports_none() -> None:
    assert batch_seconds(Metrics(CollectorRegistry()).exposition().decode()) == {}
