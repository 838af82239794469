"""The whole correlation pipeline in memory: order independence and determinism (SPEC 7)."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.enriched import EnrichedEvent
from schemas.field import Offense
from streams.eventtime import FeedProgress, Progress
from streams.pipeline import Pipeline
from streams.rules import load_rules
from streams.stages import (
    Store,
    SubjectStage,
    address_retention,
    sector_retention,
    subject_retention,
)
from tests.scenario import differences, final_cases, outcome
from tests.unit.streams.rules.builders import (
    ADDRESS,
    HALLES,
    ROSA,
    STALINGRAD,
    arrest,
    at,
    dealing_address,
    ref,
    seizure,
)
from tests.unit.streams.rules.memory import rules

FIXED = dt.datetime(2026, 6, 1, tzinfo=dt.UTC)
SECTORS = (HALLES, ROSA, STALINGRAD, None)
#: Age is a fact of the person: subject 6 is a minor, subject 5's birth date is unknown.
MINOR = {1: False, 2: False, 3: False, 4: False, 5: None, 6: True}
RULES = load_rules()


@st.composite
def event_sets(draw: st.DrawFn, days: int = 6, most: int = 14) -> list[EnrichedEvent]:
    """Events about 6 subjects within ``days`` (within 6, any order is within the lateness
    bound)."""
    events: list[EnrichedEvent] = []
    for _ in range(draw(st.integers(3, most))):
        when = at(days=draw(st.integers(0, days * 24)) / 24)
        sector = draw(st.sampled_from(SECTORS))
        address = draw(st.sampled_from([None, ADDRESS, "3 RUE X PARIS 75019"]))
        kind = draw(st.sampled_from(["arrest", "arrest", "arrest", "seizure", "dealing"]))
        if kind == "arrest":
            who = draw(st.integers(1, 6))
            event = arrest(
                who,
                when,
                sector=sector,
                address=address,
                flagrant=draw(st.booleans()),
                minor=MINOR[who],
                offense=draw(st.sampled_from(["trafficking", "possession", "use", "violence"])),
                operation=draw(st.sampled_from([None, "OP-1"])),
            )
        elif kind == "seizure":
            event = seizure(
                when,
                sector=sector,
                address=address,
                persons=tuple(draw(st.sets(st.integers(1, 6), max_size=4))),
                quantity_g=draw(st.sampled_from([5.0, 49.9, 50.0, 120.0])),
            )
        else:
            occupant = draw(st.sampled_from([None, 5, 6]))
            event = dealing_address(when, sector=sector, address=ADDRESS, occupant=occupant)
        events.append(event)
    return events


def run(events: list[EnrichedEvent]) -> Pipeline:
    return Pipeline(rules=RULES, clock=lambda: FIXED).feed(events)


@settings(max_examples=120)
@given(events=event_sets(), order=st.randoms(use_true_random=False))
def test_any_order_within_the_lateness_bound_gives_the_same_cases_and_alerts(
    events: list[EnrichedEvent], order: object
) -> None:
    """Final state of every case (section, anchor, subjects and roles, addresses, evidence,
    rules; networks by content) and the alert ids (SPEC 7), whichever order they come in."""
    shuffled = list(events)
    order.shuffle(shuffled)  # type: ignore[attr-defined]
    in_order = run(sorted(events, key=lambda e: (e.occurred_at, e.event_id)))
    other = run(shuffled)
    expected = outcome(in_order.case_events, in_order.alerts)
    assert differences(expected, outcome(other.case_events, other.alerts)) == []
    assert other.highest_sections() == in_order.highest_sections()


@settings(max_examples=120)
@given(events=event_sets(days=120, most=30), data=st.data())
def test_any_order_that_keeps_each_event_on_time_at_its_source_gives_the_same_outcome(
    events: list[EnrichedEvent], data: st.DataObject
) -> None:
    """Four months of events, each moved by up to the lateness bound: none is late, and the
    windows of 30 to 90 days see their events arrive in any order."""
    bound = RULES.lateness.total_seconds()
    shifts = st.floats(0, bound, exclude_max=True)
    jitter = data.draw(st.lists(shifts, min_size=len(events), max_size=len(events)))
    moved = sorted(
        zip(events, jitter, strict=True), key=lambda p: p[0].occurred_at.timestamp() + p[1]
    )
    in_order = run(sorted(events, key=lambda e: (e.occurred_at, e.event_id)))
    other = run([e for e, _ in moved])
    assert other.late == []
    expected = outcome(in_order.case_events, in_order.alerts)
    assert differences(expected, outcome(other.case_events, other.alerts)) == []


@settings(max_examples=40)
@given(events=event_sets())
def test_the_same_input_in_the_same_order_gives_the_same_events(
    events: list[EnrichedEvent],
) -> None:
    first, second = run(events), run(events)
    assert first.case_events == second.case_events
    assert first.alerts == second.alerts


def test_replaying_the_input_adds_no_new_case_version() -> None:
    events = [arrest(1, at(d), flagrant=d == 0) for d in (0, 3, 6)]
    pipeline = run(events)
    before = final_cases(pipeline.case_events)
    count = len(pipeline.case_events)
    pipeline.feed(events)  # a crash replay: the same events again
    assert final_cases(pipeline.case_events) == before
    replayed = pipeline.case_events[count:]
    assert all(e in pipeline.case_events[:count] for e in replayed)  # byte-identical only


def test_the_flagrant_dealer_goes_p12_then_p20_with_a_transfer_on_the_old_topic() -> None:
    events = [arrest(1, at(d), flagrant=d == 0) for d in (0, 3, 6)]
    path = [(e.event_type, e.section) for e in run(events).case_events]
    assert path == [
        ("case_opened", "P12"),
        ("case_transferred", "P12"),
        ("case_escalated", "P20"),
    ]


@pytest.mark.parametrize("offense", ["possession", "violence"])
@pytest.mark.parametrize("occupant", [None, 9])
def test_arrests_at_a_reported_dealing_address_make_a_network_with_or_without_an_occupant(
    occupant: int | None, offense: Offense
) -> None:
    # SPEC 6: "arrests at one address key that has a dealing-address report within those 60
    # days", for any offence (other rules say "narcotics arrests"); routing once sent the
    # network stage only events with subjects, so a report without an occupant never reached it
    report = dealing_address(at(0), occupant=occupant)
    arrests = [arrest(n, at(n), address=ADDRESS, offense=offense) for n in range(1, 5)]
    for events in ([report, *arrests], [*arrests, report]):
        f3 = [e for e in run(events).case_events if e.section == "F3"]
        assert f3, "no network case"
        assert {s.ref for s in f3[-1].subjects} >= {ref(n) for n in range(1, 5)}


def test_a_network_match_found_again_in_another_span_publishes_no_old_version() -> None:
    """The last arrest links nobody in the span that also holds the later report: the network
    stage finds the opening match there again, unchanged. Publishing its version 1 again,
    after the later versions, left version 1 last on the compacted F3 topic."""
    second = "9 RUE DE LA LUNE 75002 PARIS"
    events = [
        dealing_address(at(0), event_id="R-X"),
        *(arrest(n, at(0), address=ADDRESS, event_id=f"A-{n}") for n in range(1, 5)),
        dealing_address(at(61), address=second, event_id="R-Y"),
        arrest(1, at(1), address=second, event_id="A-1Y"),
    ]
    pipeline = Pipeline(rules=RULES, clock=lambda: FIXED)
    pipeline.feed(events, lambda e: e.event_id)  # each its own feed: none is late
    assert pipeline.late == []
    published = [(e.case_id, e.version) for e in pipeline.case_events if e.section == "F3"]
    assert published, "no network case"
    assert len(set(published)) == len(published)
    for case_id in {case_id for case_id, _ in published}:
        versions = [v for c, v in published if c == case_id]
        assert versions == sorted(versions)


@pytest.mark.parametrize(("window_days", "alerted"), [(90, False), (120, True)])
def test_state_keeps_what_the_widest_configured_window_needs(
    window_days: int, alerted: bool
) -> None:
    """A 100-day move: outside the default 90-day displacement window, inside a Rosa Parks
    override of 120 days, whose history the subject state must then keep."""
    config = rules(cojc_displacement={"sectors": {ROSA: {"window_days": window_days}}})
    events = [arrest(1, at(0), sector=HALLES), arrest(1, at(100), sector=ROSA)]
    found = Pipeline(rules=config, clock=lambda: FIXED).feed(events).alerts
    assert [a.alert_type for a in found] == (["displacement"] if alerted else [])


def test_retentions_follow_the_rules_and_the_lateness_bound() -> None:
    config = rules(
        lateness_days=10,
        p20_recurrence={"window_days": 40},
        cojc_displacement={"window_days": 20, "sectors": {ROSA: {"window_days": 75}}},
        p20_dealing_address={"sectors": {ROSA: {"window_days": 45}}},
    )
    days = dt.timedelta(days=1)
    assert subject_retention(config) == 85 * days
    assert address_retention(config) == 55 * days
    assert sector_retention(config) == 18 * days
    assert subject_retention(RULES) == 97 * days  # the defaults: 90-day displacement + 7


def test_lateness_is_judged_per_feed_in_the_order_the_feed_carried_it() -> None:
    """8 days behind its own feed's newest: late, triggers nothing. The same event on a feed
    that never went further is on time, whatever the other feeds carried."""
    late, on_time = (
        Pipeline(rules=RULES, clock=lambda: FIXED),
        Pipeline(rules=RULES, clock=lambda: FIXED),
    )
    newest, old = arrest(1, at(20), flagrant=True), arrest(2, at(12), flagrant=True)
    late.feed([newest, old])
    on_time.feed([newest, old], feed_of=lambda e: e.event_id)
    assert late.late == [old.event_id]
    assert on_time.late == []
    assert {m.subjects[0].ref for m in on_time.case_events} == {ref(1), ref(2)}
    assert {m.subjects[0].ref for m in late.case_events} == {ref(1)}


def test_a_stage_purges_nothing_until_every_feed_has_been_heard_of() -> None:
    clock = [0.0]
    feeds = frozenset({"a:0", "b:0"})
    progress = FeedProgress({}, RULES.lateness, feeds, idle_s=60, monotonic=lambda: clock[0])
    stage = SubjectStage({}, {}, RULES, progress=progress)
    for day in (0, 200):
        stage.process(ref(1), arrest(1, at(day)), 0, FIXED, Progress("a:0", at(day)))

    def whole(store: Store) -> Store:
        return store

    assert stage.purge(0, whole) == 0  # feed b may still carry an event of day 0
    clock[0] = 61.0  # b silent for longer than the idle limit: it holds nothing back
    stage.progress.observe(0, Progress("a:0", at(200)))
    assert stage.purge(0, whole) == 1
