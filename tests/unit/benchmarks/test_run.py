"""``make bench``'s wiring without a broker: the stage registry, the options, the latency
arithmetic. The stages themselves run only in ``make bench``."""

from __future__ import annotations

import pytest

from benchmarks import run
from benchmarks.latency import histogram_quantiles, percentile
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


def test_every_stage_reads_as_many_mixed_events_as_its_option_says() -> None:
    opts = parse(["--peer-events", "7", "--mixed-events", "9", "--latency-rate", "2"], NAMES, None)
    wanted = {s.name: s.mixed(opts) for s in STAGES if s.mixed}
    assert wanted == {"peers": 7, "mixed": 9, "latency": 120}
    assert {s.name: s.arrests(opts) for s in STAGES if s.arrests} == {"arrests": 5_000}


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
