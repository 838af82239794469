"""The case state's merges and records, against a straightforward recomputation."""

import datetime as dt

import orjson
from hypothesis import given
from hypothesis import strategies as st

from streams.cases.state import (
    CaseState,
    Content,
    Subject,
    _event_subjects,
    _merge,
    _merge_subjects,
    _subjects,
    anchor_of,
)
from tests.unit.streams.case_builders import subject

REFS = st.sampled_from([f"S-{n:02d}" for n in range(12)])
ROLES = st.lists(st.sampled_from(["buyer", "facilitator", "seller"]), max_size=3)
PAIRS = st.lists(st.tuples(REFS, ROLES.map(tuple)), max_size=10)
IDS = st.lists(st.sampled_from([f"E-{n}" for n in range(20)]), max_size=12)
AT = dt.datetime(2026, 3, 1, tzinfo=dt.UTC)


def _naive_subjects(*parts: tuple[Subject, ...]) -> tuple[Subject, ...]:
    roles: dict[str, set[str]] = {}
    for part in parts:
        for ref, its_roles in part:
            roles.setdefault(ref, set()).update(its_roles)
    return tuple((ref, tuple(sorted(roles[ref]))) for ref in sorted(roles))


@given(PAIRS, PAIRS)
def test_merging_subjects_is_the_union_of_their_roles(a: list[Subject], b: list[Subject]) -> None:
    held, more = _subjects(a), _subjects(b)
    merged = _merge_subjects(held, more)
    assert merged == _naive_subjects(held, more)
    if merged == held:
        assert merged is held  # an unchanged case keeps its tuple (and its events' subjects)


@given(PAIRS)
def test_subjects_sent_again_change_nothing(a: list[Subject]) -> None:
    held = _subjects(a)
    again = tuple((ref, tuple(roles)) for ref, roles in held)  # equal, not the same objects
    assert _merge_subjects(held, again) is held


@given(IDS, IDS)
def test_merging_sorted_ids_is_their_sorted_union(a: list[str], b: list[str]) -> None:
    held, more = tuple(sorted(set(a))), tuple(sorted(set(b)))
    merged = _merge(held, more)
    assert merged == tuple(sorted({*a, *b}))
    if merged == held:
        assert merged is held


def _state(subjects: tuple[Subject, ...]) -> CaseState:
    content = Content(
        rule_ids=("f3.network",),
        subjects=subjects,
        addresses=("A-1",),
        evidence=("E-1", "E-2"),
        procedure_refs=(),
        first_event_at=AT,
        last_event_at=AT + dt.timedelta(days=1),
    )
    return CaseState(
        case_id="C-1", anchor=anchor_of("network", "N-1"), section="F3", content=content, version=3
    )


def test_a_state_decodes_alike_from_memory_and_from_json() -> None:
    state = _state((("S-01", ("seller",)), ("S-02", ("buyer", "seller"))))
    encoded = state.encode()
    assert CaseState.decode(encoded) == state
    assert CaseState.decode(orjson.loads(orjson.dumps(encoded))) == state
    assert CaseState.stored_version(encoded) == 3


def test_an_events_subjects_are_made_once_per_subjects_tuple() -> None:
    big = tuple(sorted((subject(n), ("seller",)) for n in range(50)))
    first, second = _event_subjects(big), _event_subjects(big)
    assert first == second
    assert first is not second  # each event has a list of its own
    assert all(a is b for a, b in zip(first, second, strict=True))  # the same shared models
    assert [(s.ref, tuple(s.roles)) for s in first] == list(big)
    fewer = big[:3]
    assert [(s.ref, tuple(s.roles)) for s in _event_subjects(fewer)] == list(fewer)
