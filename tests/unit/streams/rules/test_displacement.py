"""cojc.displacement: sector A then sector B, once per (subject, A, B) per period."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from schemas.enriched import EnrichedEvent
from streams.rules import AlertLimiter, RulesConfig, evaluate_subject
from tests.unit.streams.rules.builders import (
    HALLES,
    NOW,
    ROSA,
    STALINGRAD,
    arrest,
    at,
    ref,
    seizure,
)
from tests.unit.streams.rules.memory import MemoryState, Pipeline, rules


def moves(*events: EnrichedEvent, config: RulesConfig | None = None) -> list[tuple[str, str]]:
    """(from, to) of each displacement alert the events raise, fed in this order."""
    pipeline = Pipeline(config)
    pipeline.feed(*events)
    return [(a.from_sector or "", a.sector) for a in pipeline.alerted("displacement")]


def test_a_subject_moving_within_90_days_is_reported_to_the_destination() -> None:
    pipeline = Pipeline()
    first, second = arrest(1, at(0), sector=HALLES), arrest(1, at(90), sector=ROSA)
    pipeline.feed(first, second)
    [alert] = pipeline.alerted("displacement")
    assert (alert.sector, alert.from_sector, alert.subjects) == (ROSA, HALLES, [ref(1)])
    assert alert.evidence == [first.event_id, second.event_id]
    assert (alert.window.start, alert.window.end, alert.emitted_at) == (at(0), at(90), NOW)
    assert alert.reason == (
        f"{ref(1)}, recorded for narcotics in les-halles on 2025-09-09, was recorded in "
        "rosa-parks on 2025-12-08, 90 days later."
    )


def test_91_days_apart_is_no_displacement() -> None:
    assert moves(arrest(1, at(0), sector=HALLES), arrest(1, at(91), sector=ROSA)) == []


def test_it_fires_whichever_event_arrives_last() -> None:
    assert moves(arrest(1, at(5), sector=ROSA), arrest(1, at(0), sector=HALLES)) == [(HALLES, ROSA)]


def test_same_sector_same_time_and_non_narcotics_events_are_no_displacement() -> None:
    assert moves(arrest(1, at(0), sector=HALLES), arrest(1, at(5), sector=HALLES)) == []
    assert moves(arrest(1, at(0), sector=HALLES), arrest(1, at(0), sector=ROSA)) == []
    assert moves(arrest(1, at(0), sector=HALLES), arrest(1, at(5), sector=None)) == []
    violence = arrest(1, at(5), sector=ROSA, offense="violence")
    assert moves(arrest(1, at(0), sector=HALLES), violence) == []


def test_any_narcotics_event_counts_a_seizure_too() -> None:
    assert moves(arrest(1, at(0), sector=HALLES), seizure(at(3), sector=ROSA, persons=(1,))) == [
        (HALLES, ROSA)
    ]


def test_once_per_subject_and_pair_of_sectors_per_period() -> None:
    events = [
        arrest(1, at(0), sector=HALLES),
        arrest(1, at(5), sector=ROSA),
        arrest(1, at(20), sector=HALLES),
        arrest(1, at(40), sector=ROSA),
        arrest(2, at(41), sector=HALLES),
        arrest(2, at(42), sector=ROSA),
    ]
    assert moves(*events) == [(HALLES, ROSA), (ROSA, HALLES), (HALLES, ROSA)]


def test_periods_are_fixed_so_a_new_one_may_alert_again() -> None:
    """Periods are aligned on the epoch: days 89 and 91 fall in two of them."""
    events = [
        arrest(1, at(80), sector=HALLES),
        arrest(1, at(89), sector=ROSA),
        arrest(1, at(91), sector=ROSA),
    ]
    assert moves(*events) == [(HALLES, ROSA), (HALLES, ROSA)]


def test_an_origin_arriving_late_in_the_stream_completes_later_arrivals() -> None:
    # The latest A-event before each arrival is its origin; the alert takes the first found.
    assert moves(
        arrest(1, at(30), sector=ROSA),
        arrest(1, at(31), sector=STALINGRAD),
        arrest(1, at(25), sector=HALLES),
    ) == [(ROSA, STALINGRAD), (HALLES, ROSA), (HALLES, STALINGRAD)]


def test_destination_sector_override_sets_the_window() -> None:
    config = rules(cojc_displacement={"sectors": {ROSA: {"window_days": 30}}})
    assert moves(arrest(1, at(0)), arrest(1, at(40), sector=ROSA), config=config) == []
    assert moves(arrest(1, at(0)), arrest(1, at(40), sector=STALINGRAD), config=config) == [
        (HALLES, STALINGRAD)
    ]


def test_a_replayed_trigger_re_emits_the_stored_alert_byte_for_byte() -> None:
    first, second = arrest(1, at(0), sector=HALLES), arrest(1, at(5), sector=ROSA)
    state, store = MemoryState([first, second]), dict[str, Any]()
    config = RulesConfig()

    def run(now_days: float) -> list[str]:
        outcome = evaluate_subject(
            second, ref(1), state, AlertLimiter(store), config, now=NOW + timedelta(now_days)
        )
        return [a.model_dump_json() for a in outcome.alerts]

    emitted = run(0)
    assert len(emitted) == 1
    assert run(3) == emitted
    [(key, value)] = store.items()
    assert key == f"{ref(1)}|displacement|les-halles|rosa-parks|2025-09-09T00:00:00Z"
    assert value["until"] == "2025-12-08T00:00:00Z"
    # Another trigger in the same period is suppressed, not re-emitted.
    third = arrest(1, at(6), sector=ROSA)
    state.record(third)
    other = evaluate_subject(third, ref(1), state, AlertLimiter(store), config, now=NOW)
    assert (other.alerts, len(other.displacements)) == ((), 1)


def test_the_limiter_forgets_ended_periods() -> None:
    pipeline = Pipeline()
    pipeline.feed(arrest(1, at(0), sector=HALLES), arrest(1, at(5), sector=ROSA))
    pipeline.subject_store["other"] = [1]
    assert pipeline.subject_limiter.sweep(at(89)) == 0
    assert pipeline.subject_limiter.sweep(at(90)) == 1
    assert list(pipeline.subject_store) == ["other"]
