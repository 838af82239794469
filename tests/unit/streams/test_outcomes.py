"""Court outcomes (contract §8): parsing, what the case manager does with them, and erasure."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pytest

from schemas.codec import dumps, dumps_obj
from schemas.outcomes import OutcomeCommand
from streams.cases import CaseManager, case_id_for
from streams.errors import Reason, RejectedInput
from streams.ingest import Accepted, parse_outcome
from streams.matches import MatchSubject
from streams.pipeline import Pipeline
from streams.state import SubjectState
from tests.factories import raw_outcome
from tests.scenario import outcome_command_of
from tests.unit.streams import case_builders as cb
from tests.unit.streams.rules.builders import ADDRESS, HALLES, ROSA, arrest, at, ref, seizure
from tests.unit.streams.rules.builders import dealing_address as report

NOW = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)


def command(case_id: str, **overrides: Any) -> OutcomeCommand:
    """An outcome as ingest hands it to the case manager."""
    return outcome_command_of(raw_outcome(case_id, **overrides))


# parsing: the field topics' path, with the outcome's own key and time


def test_a_valid_outcome_is_accepted_with_its_fingerprint() -> None:
    raw = raw_outcome("C-abc", outcome="acquitted", subject_ref=ref(1))
    accepted = parse_outcome(b"C-abc", dumps_obj(raw), NOW)
    assert isinstance(accepted, Accepted)
    assert accepted.event.subject_ref == ref(1)
    assert accepted.event.outcome == "acquitted"
    same = parse_outcome(b"C-abc", orjson.dumps(raw, option=orjson.OPT_INDENT_2), NOW)
    assert isinstance(same, Accepted)
    assert same.fingerprint == accepted.fingerprint


@pytest.mark.parametrize(
    ("key", "overrides", "reason", "names"),
    [
        (b"C-other", {}, Reason.KEY_MISMATCH, "case_id"),
        (b"C-abc", {"outcome": "pardoned"}, Reason.SCHEMA_VIOLATION, "outcome"),
        (b"C-abc", {"subject_ref": "Jean Dupont"}, Reason.SCHEMA_VIOLATION, "subject_ref"),
        (b"C-abc", {"procedure_ref": None}, Reason.SCHEMA_VIOLATION, "procedure_ref"),
        (b"C-abc", {"decided_at": "2027-06-01T00:00:00Z"}, Reason.FUTURE_EVENT, "decided_at"),
    ],
)
def test_a_bad_outcome_is_rejected_with_its_reason(
    key: bytes, overrides: dict[str, Any], reason: Reason, names: str
) -> None:
    rejected = parse_outcome(key, dumps_obj(raw_outcome("C-abc", **overrides)), NOW)
    assert isinstance(rejected, RejectedInput)
    assert rejected.reason is reason
    assert names in rejected.detail
    assert "Dupont" not in rejected.detail


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (b"", Reason.EMPTY_VALUE),
        (b"{not json", Reason.INVALID_JSON),
        (b"[1]", Reason.NOT_AN_OBJECT),
        (b"\xff", Reason.INVALID_ENCODING),
    ],
)
def test_garbage_on_the_outcomes_topic_is_rejected_like_a_field_record(
    value: bytes, reason: Reason
) -> None:
    rejected = parse_outcome(b"C-abc", value, NOW)
    assert isinstance(rejected, RejectedInput)
    assert rejected.reason is reason


# the case manager


def opened(manager: CaseManager, *matches: Any) -> str:
    for found in matches:
        manager.apply(found, cb.EMITTED)
    return case_id_for(matches[0].anchor_kind, matches[0].anchor_ref)


def address_case(manager: CaseManager) -> str:
    """An address case holding subjects 1 (arrested) and 2 (occupant)."""
    return opened(
        manager,
        cb.match("p20.dealing_address", kind="address", ref=cb.ADDRESS).model_copy(
            update={
                "subjects": (
                    MatchSubject(ref=cb.subject(1), roles=("seller",)),
                    MatchSubject(ref=cb.subject(2), roles=("facilitator",)),
                )
            }
        ),
    )


def test_a_closure_of_the_whole_case_emits_case_closed_once() -> None:
    manager = CaseManager({})
    case_id = opened(manager, cb.match(), cb.match(evidence=("e1", "e2")))
    closure = command(case_id, outcome="convicted")
    settled = manager.settle(closure.outcome, closure.fingerprint, NOW)
    (event,) = settled.events
    assert (event.event_type, event.version, event.section) == ("case_closed", 3, "P12")
    assert [s.ref for s in event.subjects] == [cb.subject(1)]  # a conviction keeps the content
    assert "convicted" in event.reason
    assert settled.erased == ()
    again = manager.settle(closure.outcome, closure.fingerprint, NOW + dt.timedelta(hours=1))
    assert [dumps(e) for e in again.events] == [dumps(event)]  # a replay: byte-identical
    other = command(case_id, outcome="closed")
    assert manager.settle(other.outcome, other.fingerprint, NOW).events == []  # closed already


def test_an_acquittal_removes_the_subject_and_names_it_for_erasure() -> None:
    manager = CaseManager({})
    case_id = address_case(manager)
    acquittal = command(case_id, outcome="acquitted", subject_ref=cb.subject(1))
    settled = manager.settle(acquittal.outcome, acquittal.fingerprint, NOW)
    (event,) = settled.events
    assert event.event_type == "case_updated"
    assert event.version == 2
    assert [s.ref for s in event.subjects] == [cb.subject(2)]
    assert settled.erased == (cb.subject(1),)
    case = manager.case(case_id)
    assert case is not None
    assert case.closed_at is None
    replay = manager.settle(acquittal.outcome, acquittal.fingerprint, NOW)
    assert [dumps(e) for e in replay.events] == [dumps(event)]
    assert replay.erased == (cb.subject(1),)


def test_a_case_left_without_subjects_closes() -> None:
    manager = CaseManager({})
    case_id = address_case(manager)
    for n, version in ((1, 2), (2, 3)):
        dismissal = command(case_id, outcome="dismissed", subject_ref=cb.subject(n))
        settled = manager.settle(dismissal.outcome, dismissal.fingerprint, NOW)
        (event,) = settled.events
        assert event.version == version
    assert event.event_type == "case_closed"
    assert event.subjects == []


def test_a_dismissal_of_the_whole_case_clears_every_subject() -> None:
    manager = CaseManager({})
    case_id = address_case(manager)
    dismissal = command(case_id, outcome="dismissed")
    settled = manager.settle(dismissal.outcome, dismissal.fingerprint, NOW)
    assert [e.event_type for e in settled.events] == ["case_closed"]
    assert sorted(settled.erased) == sorted((cb.subject(1), cb.subject(2)))


def test_a_conviction_of_one_subject_changes_nothing() -> None:
    manager = CaseManager({})
    case_id = address_case(manager)
    conviction = command(case_id, outcome="convicted", subject_ref=cb.subject(1))
    settled = manager.settle(conviction.outcome, conviction.fingerprint, NOW)
    assert (settled.events, settled.erased, settled.rejected) == ([], (), None)


@pytest.mark.parametrize(
    ("case", "overrides", "says"),
    [
        ("C-0000", {}, "holds no case"),
        (None, {"outcome": "acquitted", "subject_ref": cb.subject(9)}, "holds no subject"),
    ],
)
def test_an_outcome_for_an_unknown_case_or_subject_is_refused(
    case: str | None, overrides: dict[str, Any], says: str
) -> None:
    manager = CaseManager({})
    case_id = case or opened(manager, cb.match())
    before = dict(manager.store)
    unknown = command(case_id, **overrides)
    settled = manager.settle(unknown.outcome, unknown.fingerprint, NOW)
    assert settled.rejected is not None
    assert settled.rejected.reason is Reason.UNKNOWN_CASE
    assert says in settled.rejected.detail
    assert settled.events == []
    assert manager.store == before


def test_a_known_outcome_id_with_another_payload_is_a_conflict() -> None:
    manager = CaseManager({})
    case_id = opened(manager, cb.match())
    first = command(case_id, outcome_id="O-1")
    manager.settle(first.outcome, first.fingerprint, NOW)
    second = command(case_id, outcome_id="O-1", outcome="convicted")
    settled = manager.settle(second.outcome, second.fingerprint, NOW)
    assert settled.rejected is not None
    assert settled.rejected.reason is Reason.CONFLICTING_DUPLICATE


def test_a_closed_case_reopens_on_a_new_match_with_that_match_alone() -> None:
    manager = CaseManager({})
    case_id = opened(manager, cb.match(), cb.match("f3.seizure", evidence=("e2",)))
    closure = command(case_id)
    manager.settle(closure.outcome, closure.fingerprint, NOW)
    (event,) = manager.apply(cb.match(evidence=("e9",)), NOW + dt.timedelta(days=1))
    assert (event.event_type, event.section, event.version) == ("case_opened", "P12", 5)
    assert (event.rule_ids, event.evidence) == (["p12.flagrant"], ["e9"])
    assert event.reason.startswith("Reopened in P12")


def test_closed_cases_are_swept_after_their_retention_with_what_they_absorbed() -> None:
    manager = CaseManager({})
    small = opened(manager, cb.match("f3.network", kind="network", ref=cb.network(2)))
    big = opened(
        manager,
        cb.match("f3.network", kind="network", ref=cb.network(1), absorbs=(cb.network(2),)),
    )
    kept = opened(manager, cb.match(ref=cb.subject(7)))
    closure = command(big)
    manager.settle(closure.outcome, closure.fingerprint, NOW)
    assert manager.sweep_closed(NOW) == []  # closed at NOW: not before it
    forgotten = manager.sweep_closed(NOW + dt.timedelta(seconds=1))
    assert sorted(forgotten) == sorted([(big, "F3"), (small, "F3")])
    assert not [key for key in manager.store if key.startswith("fwd|")]
    assert manager.case(big) is None
    assert manager.case(small) is None
    assert manager.resolve(small) == small
    assert manager.case(kept) is not None


# erasure through the pipeline


def stages_text(pipeline: Pipeline) -> bytes:
    """Every stage's state (not the case manager's, not ingest's dedupe), as bytes."""
    stores = {k: v for k, v in pipeline.stores.items() if k not in ("cases", "dedupe")}
    return orjson.dumps(stores)


def settle(pipeline: Pipeline, case_id: str, **overrides: Any) -> None:
    settled = pipeline.settle(command(case_id, **overrides))
    assert settled.rejected is None, settled.rejected


def test_an_acquittal_erases_the_subject_from_every_stage_and_nobody_else() -> None:
    events = [
        arrest(1, at(0), flagrant=True, address=ADDRESS, operation="OP-1"),
        arrest(2, at(0, 2), flagrant=True, address=ADDRESS, operation="OP-1"),
        report(at(1), occupant=3),
        seizure(at(2), persons=(1, 3, 4), address=ADDRESS, operation="OP-1", weapons=1),
        arrest(1, at(3), sector=ROSA),  # a displacement les-halles -> rosa-parks
        arrest(1, at(4), address=ADDRESS),
    ]
    pipeline = Pipeline(clock=lambda: NOW).feed(events)
    assert ref(1).encode() in stages_text(pipeline)
    case_id = case_id_for("subject", ref(1))
    settle(pipeline, case_id, outcome="acquitted", subject_ref=ref(1))
    assert ref(1).encode() not in stages_text(pipeline)
    for other in (2, 3, 4):
        assert ref(other).encode() in stages_text(pipeline)
    assert pipeline.erasures == [(case_id, ref(1))]
    assert pipeline.case_events[-1].event_type == "case_closed"


def recurrence_after(acquitted: bool) -> Pipeline:
    pipeline = Pipeline(clock=lambda: NOW)
    pipeline.feed([arrest(1, at(0), flagrant=True), arrest(1, at(1), sector=HALLES)])
    if acquitted:
        settle(pipeline, case_id_for("subject", ref(1)), outcome="acquitted", subject_ref=ref(1))
    return pipeline.feed([arrest(1, at(2))])


def test_events_after_an_erasure_start_from_nothing() -> None:
    rules = {r for e in recurrence_after(acquitted=False).case_events for r in e.rule_ids}
    assert "p20.recurrence" in rules  # the control: three arrests in 30 days
    pipeline = recurrence_after(acquitted=True)
    assert all("p20.recurrence" not in e.rule_ids for e in pipeline.case_events)
    state = SubjectState(pipeline.stores["subject"])
    assert len(state.events(ref(1), at(-100), at(100))) == 1


def test_an_outcome_processed_again_after_a_crash_emits_the_same_bytes() -> None:
    pipeline = Pipeline(clock=lambda: NOW)
    pipeline.feed([arrest(1, at(0), flagrant=True)])
    acquittal = command(case_id_for("subject", ref(1)), outcome="acquitted", subject_ref=ref(1))
    first = pipeline.settle(acquittal)
    pipeline.clock = lambda: NOW + dt.timedelta(hours=5)
    second = pipeline.settle(acquittal)
    assert [dumps(e) for e in second.events] == [dumps(e) for e in first.events]
    assert second.erased == first.erased == (ref(1),)
    assert second.at == first.at == NOW  # the erasure's record is the same too
