"""Order independence (SPEC 6, 7): any arrival order of the same events, within the lateness
bound, ends with the same matches; the same order gives the same output, byte for byte."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.enriched import EnrichedEvent
from tests.unit.streams.rules.builders import (
    ADDRESS,
    HALLES,
    ROSA,
    STALINGRAD,
    arrest,
    at,
    dealing_address,
    seizure,
)
from tests.unit.streams.rules.memory import Pipeline, rules

#: Lateness wide enough that no permutation of a 120-day history has a late event; sector
#: overrides so that the choice of the sector whose numbers apply is exercised too.
CONFIG = rules(
    lateness_days=400,
    p20_recurrence={"sectors": {ROSA: {"min_arrests": 2, "window_days": 12}}},
    p20_dealing_address={"sectors": {STALINGRAD: {"min_events": 3, "window_days": 20}}},
    cojc_displacement={"sectors": {STALINGRAD: {"window_days": 25, "once_per_days": 30}}},
    cojc_trade_migration={"min_subjects": 2, "sectors": {HALLES: {"window_days": 10}}},
)

sectors = st.sampled_from([HALLES, ROSA, STALINGRAD, None])
addresses = st.sampled_from([ADDRESS, "3 RUE DE LA LUNE 75002 PARIS", None])
when = st.builds(at, st.integers(0, 120), st.sampled_from([0, 6, 12, 18]))


@st.composite
def histories(draw: st.DrawFn) -> list[EnrichedEvent]:
    events = []
    for i in range(draw(st.integers(1, 22))):
        common: dict[str, Any] = {
            "event_id": f"E-{i:03d}",
            "sector": draw(sectors),
            "address": draw(addresses),
        }
        kind = draw(st.sampled_from(["arrest", "arrest", "arrest", "seizure", "address"]))
        if kind == "arrest":
            e = arrest(
                draw(st.integers(1, 4)),
                draw(when),
                offense=draw(st.sampled_from(["trafficking", "possession", "use", "violence"])),
                flagrant=draw(st.booleans()),
                delay_h=draw(st.sampled_from([1.0, 60.0])),
                **common,
            )
        elif kind == "seizure":
            e = seizure(
                draw(when),
                persons=tuple(draw(st.sets(st.integers(1, 4), max_size=2))),
                quantity_g=draw(st.sampled_from([10.0, 49.9, 50.0])),
                weapons=draw(st.integers(0, 1)),
                **common,
            )
        else:
            common["address"] = common["address"] or ADDRESS
            e = dealing_address(draw(when), occupant=draw(st.none() | st.integers(1, 4)), **common)
        events.append(e)
    return events


def outcome(events: list[EnrichedEvent]) -> set[tuple[str, str, str]]:
    """(rule, anchor kind, anchor) matched, and (type, alert_id) of order-independent alerts."""
    pipeline = Pipeline(CONFIG)
    pipeline.feed(*events)
    return {(m.rule_id, m.anchor_kind, m.anchor_ref) for m in pipeline.matches} | {
        (a.alert_type, "alert", a.alert_id)
        for a in pipeline.alerts
        if a.alert_type != "surge"  # judged at each event's own time: see sector.surge
    }


@settings(max_examples=120)
@given(st.data())
def test_any_arrival_order_matches_the_same_anchors(data: st.DataObject) -> None:
    events = data.draw(histories())
    shuffled = data.draw(st.permutations(events))
    in_time_order = sorted(events, key=lambda e: (e.occurred_at, e.event_id))
    assert outcome(shuffled) == outcome(in_time_order)


@settings(max_examples=30)
@given(histories())
def test_the_same_order_gives_the_same_output(events: list[EnrichedEvent]) -> None:
    def run() -> list[str]:
        pipeline = Pipeline(CONFIG)
        return [o.model_dump_json() for o in pipeline.feed(*events)]

    assert run() == run()
