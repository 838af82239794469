"""The in-memory core's throughput run: one point per chunk, with what its case events carry."""

from __future__ import annotations

import pytest

from benchmarks import core
from benchmarks.core import throughput
from benchmarks.report import figures


def test_each_chunk_reports_its_case_events_and_what_they_carry(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(core, "CHUNK", 1_000)
    result = throughput([3_000], budget_s=600)
    (size,) = result["sizes"]
    points = result["chunks"]
    assert [p["events"] for p in points] == [1_000, 2_000, 3_000]
    assert sum(p["case_events"] for p in points) == size["case_events"] > 0
    # every case event carries at least its subject or its evidence
    for point in points:
        assert point["carried_per_event"] * 1_000 >= point["case_events"]


def test_the_report_shows_what_case_events_carry_at_the_first_and_last_chunk() -> None:
    chunks = [
        {"events": 10_000, "chunk_eps": 6_000.0, "case_events": 4_000, "carried_per_event": 1.3},
        {"events": 20_000, "chunk_eps": 2_000.0, "case_events": 5_000, "carried_per_event": 42.0},
    ]
    rows = {f.key: f for f in figures({"core": {"sizes": [], "chunks": chunks}}, [20_000])}
    assert rows["core_carried_first_chunk"].value == 1.3
    assert rows["core_carried_last_chunk"].value == 42.0
    assert "events 20,000" in rows["core_carried_last_chunk"].label
    empty = {f.key: f for f in figures({}, [20_000])}
    assert empty["core_carried_last_chunk"].value is None
