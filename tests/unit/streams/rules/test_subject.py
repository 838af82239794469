"""p12.flagrant and p20.recurrence at their boundaries."""

from __future__ import annotations

from itertools import permutations

import pytest

from schemas.field import Offense
from streams.rules import RulesConfig, flagrant, recurrence
from tests.unit.streams.rules.builders import HALLES, ROSA, arrest, at, ref
from tests.unit.streams.rules.memory import MemoryState, Pipeline, rules

FLAGRANT = RulesConfig().rules.flagrant
RECURRENCE = RulesConfig().rules.recurrence


@pytest.mark.parametrize(
    ("offense", "delay_h", "fires"),
    [
        ("trafficking", 1.0, True),
        ("possession", 48.0, True),
        ("facilitation", 48.0 + 1 / 3600, False),
        ("use", 1.0, False),
        ("violence", 1.0, False),
    ],
)
def test_flagrant_offense_and_report_delay(offense: Offense, delay_h: float, fires: bool) -> None:
    e = arrest(1, at(0), offense=offense, flagrant=True, delay_h=delay_h)
    assert bool(flagrant(e, ref(1), FLAGRANT)) is fires


def test_flagrant_match_is_a_p12_subject_case() -> None:
    e = arrest(1, at(0), flagrant=True, role="lookout", address="1 RUE X", procedure="PV-1")
    [m] = flagrant(e, ref(1), FLAGRANT)
    assert (m.section, m.anchor_kind, m.anchor_ref, m.minor) == ("P12", "subject", ref(1), False)
    assert m.evidence == (e.event_id,)
    assert (m.addresses, m.procedure_refs) == (("1 RUE X",), ("PV-1",))
    assert m.subjects[0].roles == ("lookout",)
    assert m.reason == (
        f"Flagrant trafficking arrest of {ref(1)} on 2025-09-09 in les-halles, "
        "reported 1.0 h later."
    )


def test_a_non_flagrant_arrest_is_not_p12() -> None:
    assert flagrant(arrest(1, at(0), flagrant=False), ref(1), FLAGRANT) == []


@pytest.mark.parametrize(("minor", "flag"), [(True, True), (False, False), (None, False)])
def test_minor_flag_comes_from_the_subject_ref(minor: bool | None, flag: bool) -> None:
    """17 or 18 years old is decided at enrichment; an unknown birth date counts as adult."""
    [m] = flagrant(arrest(1, at(0), flagrant=True, minor=minor), ref(1), FLAGRANT)
    assert m.minor is flag


def run_recurrence(*arrests_at: float, config: RulesConfig | None = None) -> list[int]:
    """Which arrival positions of the subject's arrests fired p20.recurrence."""
    params = (config or RulesConfig()).rules.recurrence
    state = MemoryState()
    fired = []
    for i, day in enumerate(arrests_at):
        e = arrest(1, at(day))
        state.record(e)
        if recurrence(e, ref(1), state, params):
            fired.append(i)
    return fired


def test_two_arrests_are_not_recurrence_three_are() -> None:
    assert run_recurrence(0, 10) == []
    assert run_recurrence(0, 10, 29) == [2]


@pytest.mark.parametrize("order", list(permutations([0, 10, 29])))
def test_recurrence_fires_whichever_arrest_arrives_last(order: tuple[int, ...]) -> None:
    assert run_recurrence(*order) == [2]


@pytest.mark.parametrize("order", list(permutations([0, 10, 31])))
def test_arrests_spread_over_31_days_never_fire(order: tuple[int, ...]) -> None:
    assert run_recurrence(*order) == []


def test_exactly_30_days_is_within_the_window() -> None:
    assert run_recurrence(0, 10, 30) == [2]


def test_only_narcotics_arrests_count() -> None:
    state = MemoryState([arrest(1, at(0)), arrest(1, at(1), offense="violence")])
    last = arrest(1, at(2))
    state.record(last)
    assert recurrence(last, ref(1), state, RECURRENCE) == []


def test_recurrence_match_names_the_window() -> None:
    state = MemoryState([arrest(1, at(0)), arrest(1, at(10), minor=True, role="runner")])
    last = arrest(1, at(29), sector=ROSA, minor=True)
    state.record(last)
    [m] = recurrence(last, ref(1), state, RECURRENCE)
    assert (m.section, m.anchor_ref, m.minor, m.sector) == ("P20", ref(1), True, ROSA)
    assert len(m.evidence) == 3
    assert (m.first_event_at, m.last_event_at) == (at(0), at(29))
    assert m.subjects[0].roles == ("runner", "seller")
    assert m.reason == (
        f"3 narcotics arrests of {ref(1)} from 2025-09-09 to 2025-10-08 "
        "(3 or more within 30 days), the last in rosa-parks."
    )


@pytest.mark.parametrize("order", list(permutations([0, 10, 20])))
def test_a_subject_turning_18_in_the_window_is_judged_on_its_last_arrest(
    order: tuple[int, ...],
) -> None:
    """Under 18 on days 0 and 10, adult on day 20: the window is completed by an adult's
    arrest, so no minors' case, whatever the arrival order (the minor flag was that of the
    arriving arrest: P4 when day 0 or 10 came last, P20 otherwise)."""
    state = MemoryState()
    found = []
    for day in order:
        e = arrest(1, at(day), minor=day < 20)
        state.record(e)
        found += recurrence(e, ref(1), state, RECURRENCE)
    [m] = found
    assert m.minor is False


def test_a_window_completed_while_still_a_minor_is_a_minors_case() -> None:
    state = MemoryState([arrest(1, at(0), minor=True), arrest(1, at(10), minor=True)])
    last = arrest(1, at(20), minor=True)
    state.record(arrest(1, at(25), minor=False))  # a later window, ending on an adult's arrest
    state.record(last)
    [m] = recurrence(last, ref(1), state, RECURRENCE)
    assert m.minor is True


def test_a_fourth_arrest_updates_with_the_windows_that_hold_it() -> None:
    state = MemoryState([arrest(1, at(d)) for d in (0, 10, 29)])
    fourth = arrest(1, at(35))
    state.record(fourth)
    [m] = recurrence(fourth, ref(1), state, RECURRENCE)
    assert (m.first_event_at, m.last_event_at, len(m.evidence)) == (at(10), at(35), 3)


def test_sector_override_takes_the_sector_of_the_windows_last_arrest() -> None:
    config = rules(p20_recurrence={"sectors": {ROSA: {"min_arrests": 2, "window_days": 10}}})
    params = config.rules.recurrence
    state = MemoryState([arrest(1, at(0), sector=HALLES)])
    into_rosa = arrest(1, at(9), sector=ROSA)
    state.record(into_rosa)
    assert recurrence(into_rosa, ref(1), state, params)
    state = MemoryState([arrest(1, at(9), sector=ROSA)])
    into_halles = arrest(1, at(12), sector=HALLES)
    state.record(into_halles)
    assert recurrence(into_halles, ref(1), state, params) == []
    # Too far apart for rosa-parks' 10 days.
    assert run_recurrence(0, 11, config=config) == []


def test_a_sector_may_switch_the_rule_off() -> None:
    config = rules(p20_recurrence={"sectors": {HALLES: {"enabled": False}}})
    assert run_recurrence(0, 1, 2, config=config) == []


@pytest.mark.parametrize(("late_by", "fires"), [(6, True), (7, True), (8, False)])
def test_a_completing_arrest_late_by_more_than_7_days_does_not_trigger(
    late_by: int, fires: bool
) -> None:
    pipeline = Pipeline()
    pipeline.feed(arrest(1, at(0)), arrest(1, at(5)), arrest(2, at(8 + late_by)))
    pipeline.feed(arrest(1, at(8)))
    assert (ref(1) in pipeline.fired("p20.recurrence")) is fires


def test_a_late_arrest_takes_no_part_in_any_later_pattern() -> None:
    """Late at its source: recorded as late, and it neither triggers nor completes anything,
    so no outcome depends on whether it was processed before or after its neighbours."""
    pipeline = Pipeline()
    late = arrest(1, at(8))
    pipeline.feed(arrest(1, at(0)), arrest(2, at(16)), late)
    assert pipeline.late == [late.event_id]
    pipeline.feed(arrest(1, at(17)))
    assert pipeline.fired("p20.recurrence") == set()
