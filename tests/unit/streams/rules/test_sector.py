"""cojc.surge and cojc.trade_migration, for a sector's COJC."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.enriched import EnrichedEvent
from streams.rules import Displacement, MigrationLedger, RulesConfig
from streams.rules import sector as sector_rules
from streams.state import SurgeWindow
from tests.unit.streams.rules.builders import HALLES, ROSA, arrest, at, ref, seizure
from tests.unit.streams.rules.memory import MemoryState, Pipeline, rules


def burst(count: int, *, day: float = 10, sector: str | None = ROSA) -> list[EnrichedEvent]:
    """``count`` narcotics events in the sector, half an hour apart from ``day``."""
    return [seizure(at(day, hours=i / 2), sector=sector) for i in range(count)]


def baseline(total: int, *, sector: str = ROSA) -> list[EnrichedEvent]:
    """``total`` events spread over the 7 days before the burst's 24 h."""
    return [seizure(at(2 + i % 7, hours=12), sector=sector) for i in range(total)]


def surges(*events: EnrichedEvent, config: RulesConfig | None = None) -> list[str]:
    pipeline = Pipeline(config)
    pipeline.feed(*events)
    return [a.sector for a in pipeline.alerted("surge")]


def test_nine_events_are_no_surge_ten_are() -> None:
    assert surges(*burst(9)) == []
    assert surges(*burst(10)) == [ROSA]


def test_the_event_that_completes_a_surge_raises_it_whichever_arrives_last() -> None:
    """The first event of the 24 h arriving last still completes the window that ends on a
    later event: the same surge, the same alert id, as in event-time order."""
    events = burst(10)
    in_order, reordered = Pipeline(), Pipeline()
    in_order.feed(*events)
    reordered.feed(*events[1:], events[0])
    assert [a.alert_id for a in reordered.alerted("surge")] == [
        a.alert_id for a in in_order.alerted("surge")
    ]
    assert len(in_order.alerted("surge")) == 1


def test_surge_against_three_times_the_daily_mean() -> None:
    assert surges(*baseline(21), *burst(10)) == [ROSA]  # mean 3: 10 >= 9
    assert surges(*baseline(24), *burst(10)) == []  # mean 3.4: 10 < 10.3
    assert surges(*baseline(28), *burst(12)) == [ROSA]  # mean 4: exactly 3 times
    assert surges(*baseline(28), *burst(11)) == []


def test_surge_alert_says_what_was_counted() -> None:
    pipeline = Pipeline()
    pipeline.feed(*baseline(14), *burst(10))
    [alert] = pipeline.alerted("surge")
    assert (alert.sector, alert.from_sector, alert.subjects) == (ROSA, None, [])
    assert alert.window.end == at(10, hours=4.5)
    assert alert.reason == (
        "10 narcotics events in rosa-parks in the 24 h to 2025-09-19 04:30 UTC, "
        "5.0 times the daily mean of 2.0 over the 7 days before."
    )


def test_once_per_sector_per_day() -> None:
    assert surges(*burst(14)) == [ROSA]
    assert surges(*burst(10, day=10.75), *burst(4, day=11.05)) == [ROSA, ROSA]


@settings(max_examples=150)
@given(
    hours=st.lists(st.integers(0, 14 * 48), min_size=1, max_size=60),
    order=st.randoms(use_true_random=False),
    min_count=st.integers(1, 12),
    factor=st.sampled_from([0.5, 1.0, 2.0, 3.0, 5.0]),
)
def test_the_gate_on_two_counts_changes_no_surge(
    hours: list[int], order: Any, min_count: int, factor: float
) -> None:
    """Whatever the stream, its order and the thresholds, the same alerts as judging every
    window: ``_may_surge`` only spares windows that cannot hold a surge."""
    events = [seizure(at(hours=h / 2 + i / 1000)) for i, h in enumerate(hours)]
    order.shuffle(events)
    config = rules(cojc_surge={"min_count": min_count, "factor": factor})
    gated = [a.model_dump(exclude={"emitted_at"}) for a in Pipeline(config).feed(*events)]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sector_rules, "_may_surge", lambda *_: True)
        every = [a.model_dump(exclude={"emitted_at"}) for a in Pipeline(config).feed(*events)]
    assert gated == every


def test_a_sector_at_its_usual_pace_reads_no_window(monkeypatch: pytest.MonkeyPatch) -> None:
    """Twelve events a day: once a week of them is known, no event's windows are read; 48 in
    the next 24 h (four times the daily mean) still raise a surge."""
    judged: list[datetime] = []
    windows = MemoryState.surge_windows

    def counting(self: Any, sector: str, ends: Sequence[datetime]) -> list[SurgeWindow]:
        judged.extend(ends)
        return windows(self, sector, ends)

    monkeypatch.setattr(MemoryState, "surge_windows", counting)

    def steady(days: range) -> list[EnrichedEvent]:
        return [seizure(at(day, hours=2 * h), sector=ROSA) for day in days for h in range(12)]

    pipeline = Pipeline()
    pipeline.feed(*steady(range(8)))  # the first week has no baseline: its windows are read
    judged.clear()
    assert pipeline.feed(*steady(range(8, 9))) == []
    assert judged == []
    raised = pipeline.feed(*burst(48, day=9.5))
    assert judged
    assert [(a.alert_type, a.sector) for a in raised] == [("surge", ROSA)]


def test_sector_override_and_events_outside_sectors() -> None:
    config = rules(cojc_surge={"sectors": {ROSA: {"min_count": 6}}})
    assert surges(*burst(6), config=config) == [ROSA]
    assert surges(*burst(6, sector=HALLES), config=config) == []
    assert surges(*burst(12, sector=None)) == []


def move(subject: int, day: float, origin: str = HALLES, to: str = ROSA) -> list[EnrichedEvent]:
    return [arrest(subject, at(day), sector=origin), arrest(subject, at(day + 1), sector=to)]


def migrations(*moves: list[EnrichedEvent], config: RulesConfig | None = None) -> list[Any]:
    pipeline = Pipeline(config)
    pipeline.feed(*(e for m in moves for e in m))
    return pipeline.alerted("trade_migration")


def test_two_subjects_are_no_trade_migration_three_are() -> None:
    assert migrations(move(1, 0), move(2, 5)) == []
    [alert] = migrations(move(1, 0), move(2, 5), move(3, 10))
    assert (alert.sector, alert.from_sector) == (ROSA, HALLES)
    assert alert.subjects == sorted(ref(n) for n in (1, 2, 3))
    assert len(alert.evidence) == 6
    assert (alert.window.start, alert.window.end) == (at(1), at(11))
    assert alert.reason == (
        "3 distinct subjects moved from les-halles to rosa-parks between 2025-09-10 and "
        "2025-09-20 (3 or more within 30 days)."
    )


def test_arrivals_more_than_30_days_apart_are_not_one_migration() -> None:
    assert migrations(move(1, 0), move(2, 15), move(3, 31)) == []
    assert migrations(move(1, 0), move(2, 15), move(3, 30))


def test_the_same_subject_twice_counts_once() -> None:
    assert migrations(move(1, 0), move(2, 5), move(1, 10)) == []


def test_once_per_pair_of_sectors_per_period() -> None:
    found = migrations(move(1, 0), move(2, 2), move(3, 4), move(4, 6), move(5, 8, to=HALLES))
    assert len(found) == 1
    back = migrations(*(move(n, n, origin=ROSA, to=HALLES) for n in (1, 2, 3)), move(4, 6))
    assert [(a.from_sector, a.sector) for a in back] == [(ROSA, HALLES)]


def test_destination_override_of_the_subject_count() -> None:
    config = rules(cojc_trade_migration={"sectors": {ROSA: {"min_subjects": 2}}})
    assert len(migrations(move(1, 0), move(2, 5), config=config)) == 1
    assert migrations(move(1, 0, to=HALLES, origin=ROSA), move(2, 5, to=HALLES, origin=ROSA)) == []


def displacement(subject: int, origin_id: str, arrival_id: str, day: float) -> Displacement:
    return Displacement(
        subject=ref(subject),
        from_sector=HALLES,
        to_sector=ROSA,
        from_event_id=origin_id,
        from_at=at(day - 1),
        to_event_id=arrival_id,
        to_at=at(day),
    )


def test_ledger_keeps_one_row_per_arrival_and_forgets_only_by_sweep() -> None:
    store: dict[str, Any] = {}
    ledger = MigrationLedger(store)
    ledger.record(displacement(1, "A1", "B1", 0))
    rows = ledger.record(displacement(1, "A2", "B1", 0))
    assert [(r.to_event_id, r.from_event_id) for r in rows] == [("B1", "A2")]
    assert store == {f"{ROSA}|displaced|{HALLES}": [["2025-09-09T00:00:00Z", ref(1), "B1", "A2"]]}
    rows = ledger.record(displacement(2, "A3", "B3", 38))
    # an arrival far behind the newest is kept: it may still be on time at its source
    assert [r.to_event_id for r in rows] == ["B1", "B3"]
    assert ledger.sweep(at(38)) == 1
    assert [r.to_event_id for r in ledger.record(displacement(3, "A4", "B4", 40))] == ["B3", "B4"]
