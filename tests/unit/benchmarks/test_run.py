"""``make bench``'s wiring without a broker: the stage registry, the options, the latency
arithmetic. The stages themselves run only in ``make bench``."""

from __future__ import annotations

from typing import Any

import pytest

from benchmarks import run
from benchmarks.latency import attribute, histogram_quantiles, percentile, steady
from benchmarks.options import parse
from benchmarks.run import NAMES, STAGES


def test_the_registry_runs_the_broker_stages_first_and_documents_each() -> None:
    assert {"peers", "arrests", "mixed", "latency", "core", "state"} <= set(NAMES)
    assert len(set(NAMES)) == len(NAMES)
    brokered = [s.broker for s in STAGES]
    assert brokered == sorted(brokered, reverse=True), "broker stages before the in-memory ones"
    assert run.__doc__ is not None
    for name in NAMES:
        assert f"``{name}``" in run.__doc__, f"the module docstring (--help) describes {name}"


def test_options_default_to_every_stage_and_quick_shrinks_the_sizes() -> None:
    full = parse([], NAMES, None)
    assert full.only == NAMES
    assert (full.peer_events, full.mixed_events, full.core_sizes) == (
        100_000,
        10_000,
        [10_000, 100_000, 1_000_000],
    )
    quick = parse(["--quick", "--only", "core,peers", "--core-max", "5000"], NAMES, None)
    assert quick.only == ("core", "peers")
    assert quick.core_sizes == [2_000]
    assert quick.peer_events == 5_000


def test_an_unknown_stage_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        parse(["--only", "peers,nope"], NAMES, None)
    assert exit_.value.code == 2
    assert "unknown stage(s) nope" in capsys.readouterr().err


def test_worker_settings_are_passed_on_and_only_fieldcourt_ones(
    capsys: pytest.CaptureFixture[str],
) -> None:
    opts = parse(
        ["--worker-env", "FIELDCOURT_PRODUCER_LINGER_S=0.01", "--worker-env", "FIELDCOURT_X=a=b"],
        NAMES,
        None,
    )
    assert opts.worker_env == {"FIELDCOURT_PRODUCER_LINGER_S": "0.01", "FIELDCOURT_X": "a=b"}
    assert parse([], NAMES, None).worker_env == {}
    with pytest.raises(SystemExit):
        parse(["--worker-env", "PATH=/tmp"], NAMES, None)
    assert "not PATH" in capsys.readouterr().err


def test_every_stage_reads_as_many_mixed_events_as_its_option_says() -> None:
    opts = parse(["--peer-events", "7", "--mixed-events", "9", "--latency-rate", "2"], NAMES, None)
    wanted = {s.name: s.mixed(opts) for s in STAGES if s.mixed}
    assert wanted == {"peers": 7, "mixed": 9, "latency": 120}
    assert {s.name: s.arrests(opts) for s in STAGES if s.arrests} == {"arrests": 5_000}


def test_the_steady_latencies_leave_out_the_first_seconds_of_input() -> None:
    samples = [(0.0, 900.0), (4.99, 800.0), (5.0, 120.0), (30.0, 140.0)]
    assert steady(samples) == [120.0, 140.0]
    assert steady(samples, warm_up_s=0) == [900.0, 800.0, 120.0, 140.0]


def test_percentile_is_nearest_rank() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 50) == 50.0
    assert percentile(values, 99) == 99.0
    assert percentile([3.0], 90) == 3.0


def test_histogram_quantiles_interpolate_within_a_bucket() -> None:
    name = "x_seconds"
    metrics = "\n".join(
        [
            f'{name}_bucket{{le="0.1"}} 0.0',
            f'{name}_bucket{{le="0.5"}} 50.0',
            f'{name}_bucket{{le="1.0"}} 100.0',
            f'{name}_bucket{{le="+Inf"}} 100.0',
        ]
    )
    found = histogram_quantiles(metrics, name, (50, 90))
    assert found["count"] == 100.0
    assert found["p50_s"] == pytest.approx(0.5)
    assert found["p90_s"] == pytest.approx(0.9)
    assert histogram_quantiles("", name, (50,)) == {"count": 0.0}


def _case_event(case_id: str, kind: str, version: int, at: str, *evidence: str) -> dict[str, Any]:
    return {
        "case_id": case_id,
        "event_type": kind,
        "version": version,
        "emitted_at": at,
        "evidence": list(evidence),
    }


def test_a_transfer_or_merge_is_caused_by_the_record_its_survivor_gained() -> None:
    """``case_transferred`` and ``case_merged`` carry what their case held before the match:
    they are attributed to the newest record the surviving case's event holds."""
    appended = {"e1": 1_000, "e2": 2_000, "e3": 50_000}
    later = "2026-01-01T00:00:50Z"
    transferred = _case_event("C-a", "case_transferred", 2, later, "e1")
    escalated = _case_event("C-a", "case_escalated", 3, later, "e1", "e2", "e3")
    merged = {**_case_event("C-b", "case_merged", 2, later, "e2"), "merged_into": "C-a"}
    opened = _case_event("C-c", "case_opened", 1, "2026-01-01T00:00:01Z", "e1")
    events = [(transferred, 50_100), (escalated, 50_100), (merged, 50_100), (opened, 1_040)]
    assert attribute(events, appended) == [
        (50_000, 100, "case_transferred"),
        (50_000, 100, "case_escalated"),
        (50_000, 100, "case_merged"),
        (1_000, 40, "case_opened"),
    ]
