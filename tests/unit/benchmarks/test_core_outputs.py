"""The digest of the core's outputs: the same for the same input, another for another."""

from __future__ import annotations

from benchmarks.core_outputs import outputs


def test_the_digest_is_reproducible_and_tells_inputs_apart() -> None:
    first, again = outputs(1_500), outputs(1_500)
    assert first.case_events > 0
    assert (first.case_events, first.alerts, first.sha256) == (
        again.case_events,
        again.alerts,
        again.sha256,
    )
    assert outputs(1_400).sha256 != first.sha256
