"""The digest of the core's outputs: the same for the same input, another for another."""

from __future__ import annotations

from benchmarks.core import enrich, enricher
from benchmarks.core_outputs import _feed_by_feed, outputs
from benchmarks.feeds import arrests


def test_the_digest_is_reproducible_and_tells_inputs_apart() -> None:
    first, again = outputs(1_500), outputs(1_500)
    assert first.case_events > 0
    assert (first.case_events, first.alerts, first.sha256) == (
        again.case_events,
        again.alerts,
        again.sha256,
    )
    assert outputs(1_400).sha256 != first.sha256


def test_a_burst_takes_each_feed_in_its_order_a_run_at_a_time() -> None:
    feeds: dict[str, str] = {}
    events = enrich(enricher(), arrests(40), feeds)
    burst = _feed_by_feed(events, feeds, 3)
    assert sorted(e.event_id for e in burst) == sorted(e.event_id for e in events)
    for feed in set(feeds.values()):
        assert [e for e in burst if feeds[e.event_id] == feed] == [
            e for e in events if feeds[e.event_id] == feed
        ]
    runs = [feeds[burst[0].event_id]]
    for e in burst[1:]:
        if feeds[e.event_id] != runs[-1]:
            runs.append(feeds[e.event_id])
    assert len(runs) > len(set(runs)) > 1  # the feeds take turns
    assert _feed_by_feed([], feeds, 3) == []


def test_the_arrests_stream_read_as_a_burst_is_reproducible() -> None:
    burst = outputs(600, stream="arrests", by_feed=50)
    again = outputs(600, stream="arrests", by_feed=50)
    assert burst.case_events > 0
    assert (burst.case_events, burst.alerts, burst.sha256) == (
        again.case_events,
        again.alerts,
        again.sha256,
    )
