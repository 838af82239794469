import copy
import datetime as dt
import re
from typing import Any

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.cases import CaseEvent
from schemas.codec import dumps
from streams.cases import CaseManager, case_id_for, section_topic
from streams.matches import RuleMatch
from tests.unit.streams.case_builders import (
    ADDRESS,
    EMITTED,
    OTHER_ADDRESS,
    match,
    network,
    subject,
)

LATER = EMITTED + dt.timedelta(hours=1)
CASE_1 = case_id_for("subject", subject(1))


def summary(events: list[CaseEvent]) -> list[tuple[str, str, int]]:
    return [(e.event_type, section_topic(e.section), e.version) for e in events]


def test_first_match_opens_a_case_on_its_section_topic() -> None:
    [opened] = CaseManager({}).apply(match("p12.flagrant", evidence=("e1",)), EMITTED)
    assert summary([opened]) == [("case_opened", "court.p12.cases.v1", 1)]
    assert opened.case_id == CASE_1
    assert re.fullmatch(r"C-[0-9a-f]+", opened.case_id)
    assert (opened.anchor.kind, opened.anchor.ref) == ("subject", subject(1))
    assert opened.previous_section is None
    assert opened.rule_ids == ["p12.flagrant"]
    assert opened.evidence == ["e1"]
    assert [(s.ref, s.roles) for s in opened.subjects] == [(subject(1), ["seller"])]
    assert opened.sector == "rosa-parks"
    assert opened.emitted_at == EMITTED
    assert opened.reason == "Opened in P12: p12.flagrant matched on 2026-04-01 in rosa-parks."


def test_case_id_depends_on_the_anchor_alone() -> None:
    first = CaseManager({}).apply(match(evidence=("e1",)), EMITTED)[0]
    other = CaseManager({}).apply(match("f3.seizure", evidence=("e9",)), LATER)[0]
    assert first.case_id == other.case_id == CASE_1
    assert case_id_for("address", ADDRESS) != case_id_for("subject", ADDRESS)


def test_new_evidence_updates_the_case_with_sorted_unions() -> None:
    manager = CaseManager({})
    manager.apply(
        match(evidence=("e2",), addresses=(OTHER_ADDRESS,), procedure_refs=("PV-2",), days=(5, 5)),
        EMITTED,
    )
    [updated] = manager.apply(
        match(
            evidence=("e3", "e1"),
            roles=("buyer",),
            addresses=(ADDRESS,),
            procedure_refs=("PV-1",),
            days=(1, 9),
        ),
        LATER,
    )
    assert summary([updated]) == [("case_updated", "court.p12.cases.v1", 2)]
    assert updated.evidence == ["e1", "e2", "e3"]
    assert updated.subjects[0].roles == ["buyer", "seller"]
    assert updated.addresses == [ADDRESS, OTHER_ADDRESS]
    assert updated.procedure_refs == ["PV-1", "PV-2"]
    assert (updated.first_event_at.day, updated.last_event_at.day) == (2, 10)
    assert updated.reason.startswith("Updated in P12: ")


def test_escalation_p12_p20_f3_transfers_on_the_old_topic() -> None:
    manager = CaseManager({})
    manager.apply(match("p12.flagrant", evidence=("e1",)), EMITTED)
    to_p20 = manager.apply(match("p20.recurrence", evidence=("e1", "e2", "e3")), EMITTED)
    assert summary(to_p20) == [
        ("case_transferred", "court.p12.cases.v1", 2),
        ("case_escalated", "court.p20.cases.v1", 3),
    ]
    transferred, escalated = to_p20
    assert (transferred.section, transferred.transferred_to) == ("P12", "P20")
    assert transferred.evidence == ["e1"]  # what P12 already had, nothing more
    assert (escalated.section, escalated.previous_section) == ("P20", "P12")
    assert escalated.evidence == ["e1", "e2", "e3"]
    assert escalated.rule_ids == ["p12.flagrant", "p20.recurrence"]
    assert transferred.reason.startswith("Transferred from P12 to P20: p20.recurrence")
    assert escalated.reason.startswith("Escalated from P12 to P20: p20.recurrence")

    to_f3 = manager.apply(match("f3.seizure", evidence=("e4",)), EMITTED)
    assert summary(to_f3) == [
        ("case_transferred", "court.p20.cases.v1", 4),
        ("case_escalated", "court.f3.cases.v1", 5),
    ]
    assert to_f3[0].transferred_to == "F3"
    assert to_f3[1].previous_section == "P20"


def test_a_case_never_moves_down() -> None:
    manager = CaseManager({})
    manager.apply(match("f3.seizure", evidence=("e1",)), EMITTED)
    assert summary(manager.apply(match("p12.flagrant", evidence=("e2",)), EMITTED)) == [
        ("case_updated", "court.f3.cases.v1", 2)
    ]
    [updated] = manager.apply(match("p20.recurrence", evidence=("e3",)), EMITTED)
    assert summary([updated]) == [("case_updated", "court.f3.cases.v1", 3)]
    assert updated.rule_ids == ["f3.seizure", "p12.flagrant", "p20.recurrence"]


def test_minors_go_to_p4_and_f3_still_ranks_above() -> None:
    manager = CaseManager({})
    steps = [
        match("p12.flagrant", evidence=("e1",), minor=True),
        match("p20.recurrence", evidence=("e2",), minor=True),
        match("f3.seizure", evidence=("e3",), minor=True),
        match("p12.flagrant", evidence=("e4",), minor=True),
    ]
    assert [summary(manager.apply(m, EMITTED)) for m in steps] == [
        [("case_opened", "court.p4.cases.v1", 1)],
        [("case_updated", "court.p4.cases.v1", 2)],
        [("case_transferred", "court.p4.cases.v1", 3), ("case_escalated", "court.f3.cases.v1", 4)],
        [("case_updated", "court.f3.cases.v1", 5)],
    ]


def test_a_later_match_that_finds_a_minor_moves_the_case_to_p4_and_it_stays() -> None:
    # P4 sits at P20's level and wins the tie: whichever order, the subject ends in P4.
    manager = CaseManager({})
    manager.apply(match("p12.flagrant", evidence=("e1",)), EMITTED)
    assert summary(manager.apply(match(evidence=("e2",), minor=True), EMITTED)) == [
        ("case_transferred", "court.p12.cases.v1", 2),
        ("case_escalated", "court.p4.cases.v1", 3),
    ]
    assert summary(manager.apply(match("p20.recurrence", evidence=("e3",)), EMITTED)) == [
        ("case_updated", "court.p4.cases.v1", 4)
    ]
    lateral = CaseManager({})
    lateral.apply(match("p20.recurrence", evidence=("e1",)), EMITTED)
    moved = lateral.apply(match(evidence=("e2",), minor=True), EMITTED)
    assert [(e.event_type, e.section) for e in moved] == [
        ("case_transferred", "P20"),
        ("case_escalated", "P4"),
    ]


def test_replay_gives_byte_identical_events_and_changes_nothing() -> None:
    store: dict[str, Any] = {}
    manager = CaseManager(store)
    first = match(evidence=("e1",))
    second = match("p20.recurrence", evidence=("e1", "e2"))
    original = [dumps(e) for e in manager.apply(first, EMITTED)]
    escalation = [dumps(e) for e in manager.apply(second, LATER)]
    before = copy.deepcopy(store)

    replay_at = LATER + dt.timedelta(days=3)
    assert [dumps(e) for e in manager.apply(first, replay_at)] == original
    assert [dumps(e) for e in manager.apply(second, replay_at)] == escalation
    assert store == before
    # the store as a Faust table hands it back: decoded JSON
    rebuilt = CaseManager(orjson.loads(orjson.dumps(store)))
    assert [dumps(e) for e in rebuilt.apply(second, replay_at)] == escalation
    assert summary(rebuilt.apply(match(evidence=("e5",)), replay_at)) == [
        ("case_updated", "court.p20.cases.v1", 4)
    ]


def test_a_record_read_again_publishes_its_events_again_even_after_later_versions() -> None:
    """A crash replays the matches topic from the last committed offset, in order: each
    record's events are published again, the first record's before the later ones'."""
    manager = CaseManager({})
    first, second = match(evidence=("e1",)), match("p20.recurrence", evidence=("e1", "e2"))
    original = [dumps(e) for e in manager.apply(first, EMITTED, source=10)]
    escalation = [dumps(e) for e in manager.apply(second, LATER, source=11)]
    assert [dumps(e) for e in manager.apply(first, LATER, source=10)] == original
    assert [dumps(e) for e in manager.apply(second, LATER, source=11)] == escalation


def test_the_same_match_from_another_record_publishes_nothing() -> None:
    """A stage that judges a span again may find a match it found before, unchanged: its
    events were published when the first record was read, and publishing version 1 again
    after version 3 would leave it last on the case's compacted topic."""
    store: dict[str, Any] = {}
    manager = CaseManager(store)
    first = match(evidence=("e1",))
    manager.apply(first, EMITTED, source=10)
    manager.apply(match("p20.recurrence", evidence=("e1", "e2")), LATER, source=11)
    before = copy.deepcopy(store)
    assert manager.apply(first, LATER, source=12) == []
    assert store == before


def test_a_match_that_adds_nothing_is_a_no_op_even_under_another_id() -> None:
    store: dict[str, Any] = {}
    manager = CaseManager(store)
    manager.apply(match(evidence=("e1", "e2"), days=(0, 3)), EMITTED)
    before = copy.deepcopy(store)
    rederived = match(evidence=("e2",), days=(3, 3))  # same rule, evidence already there
    assert rederived.match_id != match(evidence=("e1", "e2")).match_id
    assert manager.apply(rederived, LATER) == []
    assert store == before
    # a rule not yet recorded is news even on known evidence
    assert summary(manager.apply(match("f3.seizure", evidence=("e2",)), LATER)) == [
        ("case_transferred", "court.p12.cases.v1", 2),
        ("case_escalated", "court.f3.cases.v1", 3),
    ]


def test_versions_rise_by_one_per_event_of_each_case() -> None:
    manager = CaseManager({})
    versions = [
        e.version
        for m in (
            match(evidence=("e1",)),
            match(evidence=("e2",)),
            match("p20.recurrence", evidence=("e3",)),
            match(evidence=("e4",)),
            match("f3.seizure", evidence=("e5",)),
        )
        for e in manager.apply(m, EMITTED)
    ]
    assert versions == [1, 2, 3, 4, 5, 6, 7]
    other = manager.apply(match(evidence=("e9",), ref=subject(2)), EMITTED)
    assert [e.version for e in other] == [1]


def test_a_replay_repairs_a_case_key_the_crash_lost() -> None:
    store: dict[str, Any] = {}
    manager = CaseManager(store)
    manager.apply(match(evidence=("e1",)), EMITTED)
    stale = copy.deepcopy(store[f"case|{CASE_1}"])
    escalation = manager.apply(match("p20.recurrence", evidence=("e2",)), EMITTED)
    store[f"case|{CASE_1}"] = stale  # the outbox reached the changelog, the case did not

    assert manager.apply(match("p20.recurrence", evidence=("e2",)), LATER) == escalation
    assert manager.case(CASE_1).version == 3  # type: ignore[union-attr]
    assert summary(manager.apply(match(evidence=("e3",)), LATER)) == [
        ("case_updated", "court.p20.cases.v1", 4)
    ]


def test_same_matches_in_the_same_order_give_the_same_events_emitted_at_aside() -> None:
    matches = [
        match(evidence=("e1",)),
        match("p20.recurrence", evidence=("e2",), ref=subject(2)),
        match("f3.seizure", evidence=("e3",)),
    ]

    def run(emitted_at: dt.datetime) -> list[dict[str, Any]]:
        manager = CaseManager({})
        events = [e for m in matches for e in manager.apply(m, emitted_at)]
        return [e.model_dump(exclude={"emitted_at"}) for e in events]

    assert run(EMITTED) == run(LATER)


NET_A, NET_B = sorted((network(1), network(5)))
CASE_A, CASE_B = case_id_for("network", NET_A), case_id_for("network", NET_B)


def net_match(ref: str, evidence: tuple[str, ...], absorbs: tuple[str, ...] = ()) -> RuleMatch:
    return match("f3.network", kind="network", ref=ref, evidence=evidence, absorbs=absorbs)


def test_a_network_absorbing_another_merges_and_closes_it() -> None:
    manager = CaseManager({})
    manager.apply(net_match(NET_A, ("e1", "e2")), EMITTED)
    manager.apply(net_match(NET_B, ("e5", "e6")), EMITTED)
    merge = manager.apply(net_match(NET_A, ("e1", "e2", "e7"), absorbs=(NET_B,)), LATER)
    assert [(e.event_type, e.case_id, e.version) for e in merge] == [
        ("case_updated", CASE_A, 2),
        ("case_merged", CASE_B, 2),
    ]
    survivor, merged = merge
    assert survivor.evidence == ["e1", "e2", "e5", "e6", "e7"]  # takes over the absorbed case
    assert section_topic(merged.section) == "court.f3.cases.v1"
    assert merged.merged_into == CASE_A
    assert merged.evidence == ["e5", "e6"]
    assert merged.reason.startswith(f"Merged into {CASE_A}: f3.network")
    assert manager.resolve(CASE_B) == CASE_A

    # a later match for the absorbed network goes to the surviving case
    [forwarded] = manager.apply(net_match(NET_B, ("e8",)), LATER)
    assert (forwarded.event_type, forwarded.case_id, forwarded.version) == (
        "case_updated",
        CASE_A,
        3,
    )
    assert forwarded.reason.startswith(f"Updated in F3 via merged case {CASE_B}: ")
    assert manager.case(CASE_B).version == 2  # type: ignore[union-attr]


def test_absorbing_a_case_never_opened_still_forwards_its_later_matches() -> None:
    manager = CaseManager({})
    [opened] = manager.apply(net_match(NET_A, ("e1",), absorbs=(NET_B,)), EMITTED)
    assert (opened.event_type, opened.case_id) == ("case_opened", CASE_A)
    [updated] = manager.apply(net_match(NET_B, ("e5",)), EMITTED)
    assert (updated.event_type, updated.case_id, updated.evidence) == (
        "case_updated",
        CASE_A,
        ["e1", "e5"],
    )
    assert manager.case(CASE_B) is None


def test_sweep_purges_old_outbox_records_only() -> None:
    store: dict[str, Any] = {}
    manager = CaseManager(store)
    manager.apply(match(evidence=("e1",)), EMITTED)
    second = manager.apply(match(evidence=("e2",)), LATER)
    assert manager.sweep(LATER) == 1
    assert manager.apply(match(evidence=("e1",)), LATER) == []  # already in the case: no-op
    assert manager.apply(match(evidence=("e2",)), LATER) == second


ANCHORED = [
    ("subject", subject(1)),
    ("subject", subject(2)),
    ("address", ADDRESS),
    ("network", NET_A),
    ("network", NET_B),
]


EVENTS = [f"e{i}" for i in range(6)]


@st.composite
def match_lists(draw: st.DrawFn) -> list[RuleMatch]:
    """Matches as rules make them: everything but the rule and anchor follows from the evidence
    (same rule, anchor and evidence is the same match), times, roles and minority included."""
    minor_events = draw(st.sets(st.sampled_from(EVENTS)))
    event_roles = {e: draw(st.sampled_from([("seller",), ("buyer",), ()])) for e in EVENTS}
    result = []
    for _ in range(draw(st.integers(0, 10))):
        kind, ref = draw(st.sampled_from(ANCHORED))
        rule = draw(st.sampled_from(["p12.flagrant", "p20.recurrence", "f3.seizure", "f3.network"]))
        evidence = sorted(draw(st.sets(st.sampled_from(EVENTS), min_size=1)))
        days = [3 * EVENTS.index(e) for e in evidence]
        result.append(
            match(
                rule,
                kind=kind,  # type: ignore[arg-type]
                ref=ref,
                evidence=evidence,
                minor=kind == "subject" and evidence[-1] in minor_events,
                roles=sorted({role for e in evidence for role in event_roles[e]}),
                days=(min(days), max(days)),
                # as the link graph does it: the smaller network id survives
                absorbs=(NET_B,) if ref == NET_A and "e0" in evidence else (),
            )
        )
    return result


def final_cases(sequence: list[RuleMatch]) -> dict[str, Any]:
    manager = CaseManager({})
    for m in sequence:
        manager.apply(m, EMITTED)
    result = {}
    for kind, ref in ANCHORED:
        target = manager.resolve(case_id_for(kind, ref))
        state = manager.case(target)
        result[ref] = None if state is None else (target, state.section, state.content)
    return result


@settings(max_examples=100)
@given(match_lists(), st.data())
def test_any_order_of_the_same_matches_ends_in_the_same_cases(
    sequence: list[RuleMatch], data: st.DataObject
) -> None:
    shuffled = data.draw(st.permutations(sequence))
    assert final_cases(shuffled) == final_cases(sequence)
