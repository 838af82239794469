"""p20.dealing_address: the report and its arrests or seizures, in any order."""

from __future__ import annotations

from itertools import permutations

import pytest

from schemas.enriched import EnrichedEvent
from streams.rules import RulesConfig, dealing_address
from tests.unit.streams.rules.builders import ADDRESS, ROSA, arrest, at, ref, seizure
from tests.unit.streams.rules.builders import dealing_address as report
from tests.unit.streams.rules.memory import MemoryState, Pipeline, rules

PARAMS = RulesConfig().rules.dealing_address


def fired_at(events: list[EnrichedEvent], config: RulesConfig | None = None) -> list[int]:
    """Which arrival positions fired p20.dealing_address."""
    params = (config or RulesConfig()).rules.dealing_address
    state = MemoryState()
    fired = []
    for i, e in enumerate(events):
        state.record(e)
        if dealing_address(e, state, params):
            fired.append(i)
    return fired


def scene(second_at: float = 20) -> list[EnrichedEvent]:
    return [
        report(at(10), occupant=9),
        arrest(1, at(0), address=ADDRESS, role="lookout"),
        seizure(at(second_at), address=ADDRESS, persons=(2,), quantity_g=5),
    ]


@pytest.mark.parametrize("order", list(permutations(range(3))))
def test_fires_whichever_of_the_three_comes_last(order: tuple[int, ...]) -> None:
    events = scene()
    assert fired_at([events[i] for i in order]) == [2]


@pytest.mark.parametrize("order", list(permutations(range(3))))
def test_activity_more_than_30_days_from_the_report_does_not_count(
    order: tuple[int, ...],
) -> None:
    events = scene(second_at=10 + 31)
    assert fired_at([events[i] for i in order]) == []


@pytest.mark.parametrize("order", list(permutations(range(3))))
def test_activity_exactly_30_days_either_side_of_the_report_counts(
    order: tuple[int, ...],
) -> None:
    events = [
        report(at(40), occupant=9),
        arrest(1, at(10), address=ADDRESS, role="lookout"),
        seizure(at(70), address=ADDRESS, persons=(2,), quantity_g=5),
    ]
    assert fired_at([events[i] for i in order]) == [2]


def test_one_arrest_is_not_enough() -> None:
    assert fired_at(scene()[:2]) == []


def test_no_report_no_case() -> None:
    assert fired_at(scene()[1:]) == []


def test_an_address_case_with_occupant_and_arrested_persons() -> None:
    state = MemoryState(scene())
    trigger = arrest(3, at(12), address=ADDRESS, role="seller", procedure="PV-7")
    state.record(trigger)
    [m] = dealing_address(trigger, state, PARAMS)
    assert (m.section, m.anchor_kind, m.anchor_ref, m.minor) == ("P20", "address", ADDRESS, False)
    assert {s.ref: s.roles for s in m.subjects} == {
        ref(9): ("facilitator",),
        ref(1): ("lookout",),
        ref(3): ("seller",),
    }
    assert len(m.evidence) == 4
    assert m.procedure_refs == ("PV-7",)
    assert m.reason == (
        f"{ADDRESS} reported as a dealing address on 2025-09-19, with 2 arrest(s) and "
        "1 seizure(s) there from 2025-09-09 to 2025-09-29 (within 30 days of a report)."
    )


def test_the_report_sector_override_applies() -> None:
    config = rules(p20_dealing_address={"sectors": {ROSA: {"min_events": 3}}})
    events = [report(at(10), sector=ROSA), *scene()[1:]]
    assert fired_at(events, config) == []
    assert fired_at([*events, arrest(4, at(11), address=ADDRESS)], config) == [3]


def test_a_late_completing_event_does_not_trigger() -> None:
    pipeline = Pipeline()
    pipeline.feed(report(at(10)), arrest(1, at(11), address=ADDRESS), arrest(5, at(30)))
    pipeline.feed(arrest(2, at(12), address=ADDRESS))
    assert pipeline.fired("p20.dealing_address") == set()
