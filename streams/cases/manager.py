"""The case manager: turns rule matches into case events, once per match (SPEC 7).

Store layout (keys from ``streams.state.keyspace``; JSON values, always written by assignment
so that a Faust table records them):

- ``case|{case_id}``: the case's latest :class:`~streams.cases.state.CaseState`, encoded;
- ``fwd|{case_id}``: the case that absorbed this one; its later matches are applied there;
- ``out|{match_id}``: what applying the match decided, the outbox: ``at`` (its
  ``emitted_at``), ``events`` (the case events, each as the state it snapshots and what it
  adds: ``streams.cases.state.outbox_entry``), ``cases`` and ``fwd`` (the states and forwards
  it wrote), and ``src``, the position of the matches record that carried it. It is written
  first; a replay (the same record read again) re-writes any case key still behind it and
  returns the very same events, so a crash between two writes neither loses a version nor
  numbers two different events alike. The same match from another record returns nothing
  (``apply``). ``sweep`` purges old outbox records.

Versions: each case event takes the case's next version. An escalation is two events:
``case_transferred`` (version v+1, on the old section's topic, with the content that section
already had) then ``case_escalated`` (v+2, on the new one, with everything). A merge gives the
absorbed case one ``case_merged`` event (its v+1); it is then closed: a ``fwd|`` key sends any
later match for it to the surviving case, which also takes over its content.

Court outcomes (``settle``, see ``streams.cases.outcomes``) are applied once per
``outcome_id`` through the same outbox (``out|outcome|{outcome_id}``, which also keeps the
payload's fingerprint and the subjects erased). A case closed by the court keeps its ``case|``
key (``closed_at`` set) until ``sweep_closed``; a later match for its anchor reopens it:
``case_opened`` at its next version, with the match's content alone (what it held before the
closure is not carried over: the court has decided on that).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from schemas.cases import Anchor, CaseEvent, CaseEventType, Section
from schemas.common import format_utc
from schemas.outcomes import Outcome
from streams.cases.outcomes import Settled, decide_outcome
from streams.cases.sections import effective_section, higher
from streams.cases.state import CaseState, Content, from_outbox, outbox_entry
from streams.errors import Reason, RejectedInput
from streams.matches import RuleMatch, stable_id
from streams.state.keyspace import CASE, FORWARD, OUTBOX, OUTCOME_OUTBOX


def case_id_for(anchor_kind: str, anchor_ref: str) -> str:
    """One case per anchor, whoever asks and however often: ``C-`` + a hash of the anchor."""
    return stable_id("C", anchor_kind, anchor_ref)


@dataclass(frozen=True)
class _Emitter:
    """What every event caused by one match shares: its reason, sector and emission time."""

    match: RuleMatch
    emitted_at: dt.datetime

    def __call__(
        self,
        state: CaseState,
        event_type: CaseEventType,
        head: str,
        *,
        transferred_to: Section | None = None,
        merged_into: str | None = None,
    ) -> CaseEvent:
        reason = f"{head}: {self.match.reason.strip().rstrip('.')}."
        return state.event(
            event_type,
            reason=reason,
            sector=self.match.sector,
            emitted_at=self.emitted_at,
            transferred_to=transferred_to,
            merged_into=merged_into,
        )


class CaseManager:
    """Opens, updates, escalates and merges cases; pure, over a JSON key-value store."""

    def __init__(self, store: MutableMapping[str, Any]) -> None:
        self.store = store

    def apply(
        self, match: RuleMatch, emitted_at: dt.datetime, source: int | None = None
    ) -> list[CaseEvent]:
        """The case events ``match`` causes; a match applied before gives its events again
        when it comes from the same record (``source``: its position on the matches topic).

        A record read again after a crash must publish its events again: they may not have
        reached the broker. Another record with a match applied before (a stage judging a
        span again finds the match it found then) publishes nothing: the first record's
        events were published before it was read, and publishing them again, after the
        case's later versions, would leave a stale version last on the compacted case topic.
        """
        key = OUTBOX.key(match.match_id)
        done = self._once(key, lambda: self._decide(match, emitted_at, source), source)
        return [] if done is None else done[1]

    def settle(self, outcome: Outcome, fingerprint: str, emitted_at: dt.datetime) -> Settled:
        """What a court outcome does to its case; an outcome applied before does it again,
        byte for byte. Unknown case or subject, or a known ``outcome_id`` with another
        payload: ``Settled.rejected`` says why, and nothing changes."""
        key = OUTCOME_OUTBOX.key(outcome.outcome_id)
        known = self.store.get(key)
        if known is not None:
            if known["fp"] != fingerprint:
                detail = (
                    f"outcome_id {outcome.outcome_id!r} was already received with another payload"
                )
                return Settled.refused(RejectedInput(Reason.CONFLICTING_DUPLICATE, detail))
            return self._settled(known)
        target_id = self.resolve(outcome.case_id)
        decided = decide_outcome(outcome, self.case(target_id), emitted_at)
        if decided.rejected is not None:
            return decided
        done = self._once(
            key, lambda: ({**decided.record(emitted_at), "fp": fingerprint}, decided.events)
        )
        return decided if done is None else self._settled(*done)

    def case(self, case_id: str) -> CaseState | None:
        value = self.store.get(CASE.key(case_id))
        return None if value is None else CaseState.decode(value)

    def resolve(self, case_id: str) -> str:
        """The case that stands for ``case_id``: itself, or the case that absorbed it."""
        seen = {case_id}
        while (target := self.store.get(FORWARD.key(case_id))) is not None and target not in seen:
            seen.add(target)
            case_id = target
        return case_id

    def sweep(self, before: dt.datetime) -> int:
        """Purge outbox records emitted before ``before``; a later replay of one is a no-op."""
        stale = [
            key
            for key, value in list(self.store.items())
            if OUTBOX.owns(key) and dt.datetime.fromisoformat(value["at"]) < before
        ]
        for key in stale:
            del self.store[key]
        return len(stale)

    def sweep_closed(self, before: dt.datetime) -> list[tuple[str, Section]]:
        """Forget cases the court closed before ``before`` (retention after closure, contract
        §8), with the forwards into them and the cases they had absorbed; returns each
        forgotten case's id and last section (its section topic gets a tombstone)."""
        gone = {
            CASE.parse(key)
            for key, value in list(self.store.items())
            if CASE.owns(key)
            and (closed := CaseState.stored_closed_at(value)) is not None
            and closed < before
        }
        forwards = {
            FORWARD.parse(key): target
            for key, target in list(self.store.items())
            if FORWARD.owns(key)
        }
        grew = True
        while grew:  # absorbed cases go with the case that absorbed them, transitively
            absorbed = {case_id for case_id, target in forwards.items() if target in gone}
            grew = not absorbed <= gone
            gone |= absorbed
        forgotten = []
        for case_id in sorted(gone):
            case = self.store.get(CASE.key(case_id))
            if case is not None:
                forgotten.append((case_id, CaseState.stored_section(case)))
                del self.store[CASE.key(case_id)]
            if FORWARD.key(case_id) in self.store:
                del self.store[FORWARD.key(case_id)]
        return forgotten

    def _once(
        self,
        key: str,
        decide: Callable[[], tuple[dict[str, Any], list[CaseEvent]]],
        source: int | None = None,
    ) -> tuple[dict[str, Any], list[CaseEvent]] | None:
        """The outbox record under ``key`` and its events, decided and stored the first time,
        then committed (again); ``None`` when the decision changes nothing (no version, nothing
        to replay), or when the record came from another ``source`` than the one given. A
        replay makes the events again from the record, as they were made."""
        record = self.store.get(key)
        if record is not None and source is not None and record.get("src", source) != source:
            return None
        if record is None:
            record, events = decide()
            if not record["cases"] and not record["fwd"] and not record.get("erased"):
                return None
            self.store[key] = record
        else:
            events = self._events(record)
        self._commit(record)
        return record, events

    def _settled(self, record: dict[str, Any], events: list[CaseEvent] | None = None) -> Settled:
        """An outcome's effect as its outbox record holds it (committed again): the first
        application's events, erasures and time, whenever and however often it is replayed."""
        if events is None:
            self._commit(record)
            events = self._events(record)
        at = dt.datetime.fromisoformat(record["at"])
        return Settled(events=events, erased=tuple(record["erased"]), at=at)

    @staticmethod
    def _events(record: dict[str, Any]) -> list[CaseEvent]:
        at = dt.datetime.fromisoformat(record["at"])
        return [from_outbox(entry, at) for entry in record["events"]]

    def _commit(self, record: dict[str, Any]) -> None:
        for case_id, state in record["cases"].items():
            current = self.store.get(CASE.key(case_id))
            stored = CaseState.stored_version
            if current is None or stored(current) < stored(state):
                self.store[CASE.key(case_id)] = state
        for case_id, target in record["fwd"].items():
            if self.store.get(FORWARD.key(case_id)) != target:
                self.store[FORWARD.key(case_id)] = target

    def _decide(
        self, match: RuleMatch, emitted_at: dt.datetime, source: int | None = None
    ) -> tuple[dict[str, Any], list[CaseEvent]]:
        """Compute, without writing, the events and states ``match`` leads to."""
        emit = _Emitter(match, emitted_at)
        own_id = case_id_for(match.anchor_kind, match.anchor_ref)
        target_id = self.resolve(own_id)
        current = self.case(target_id)
        if current is None:
            target_id = own_id  # only the match's own case can be unopened
        absorbed_ids = sorted(
            {self.resolve(case_id_for("network", ref)) for ref in match.absorbs} - {target_id}
        )
        found = [state for state in map(self.case, absorbed_ids) if state is not None]
        # a case the court closed stays closed: the court has decided on what it held
        shut = {state.case_id for state in found if state.closed_at is not None}
        absorbed = [state for state in found if state.case_id not in shut]
        absorbed_ids = [case_id for case_id in absorbed_ids if case_id not in shut]

        content, section = Content.of(match), effective_section(match)
        for state in absorbed:
            content, section = content.union(state.content), higher(section, state.section)
        via = "" if target_id == own_id else f" via merged case {own_id}"
        emitted, survivor = self._advance(current, target_id, match, content, section, emit, via)
        encoded = {} if survivor is None else {id(survivor): survivor.encode()}
        cases = {} if survivor is None else {target_id: encoded[id(survivor)]}
        for state in absorbed:
            closed = state.evolve(version=state.version + 1)
            merged = emit(closed, "case_merged", f"Merged into {target_id}", merged_into=target_id)
            emitted.append((closed, merged))
            cases[state.case_id] = encoded[id(closed)] = closed.encode()
        entries = tuple(
            outbox_entry(encoded.get(id(state)) or state.encode(), event)
            for state, event in emitted
        )
        record: dict[str, Any] = {
            "at": format_utc(emitted_at),
            "events": entries,
            "cases": cases,
            "fwd": dict.fromkeys(absorbed_ids, target_id),
        }
        if source is not None:
            record["src"] = source
        return record, [event for _state, event in emitted]

    @staticmethod
    def _advance(
        current: CaseState | None,
        case_id: str,
        match: RuleMatch,
        content: Content,
        section: Section,
        emit: _Emitter,
        via: str,
    ) -> tuple[list[tuple[CaseState, CaseEvent]], CaseState | None]:
        """Open (or reopen), escalate or update the surviving case: each event with the state
        it is a snapshot of, and the new state, ``None`` when nothing changes."""
        if current is None or current.closed_at is not None:
            anchor = Anchor(kind=match.anchor_kind, ref=match.anchor_ref)
            version, head = 1, f"Opened in {section}"
            if current is not None:  # closed by the court: a new life, from this match alone
                anchor, version = current.anchor, current.version + 1
                head = f"Reopened in {section} after its closure"
            new = CaseState(
                case_id=case_id, anchor=anchor, section=section, content=content, version=version
            )
            return [(new, emit(new, "case_opened", head))], new
        merged = current.content.union(content)
        top = higher(current.section, section)
        version = current.version
        if top != current.section:
            leaving = current.evolve(version=version + 1)
            new = current.evolve(
                section=top, previous_section=current.section, content=merged, version=version + 2
            )
            move = f"from {current.section} to {top}{via}"
            return [
                (
                    leaving,
                    emit(leaving, "case_transferred", f"Transferred {move}", transferred_to=top),
                ),
                (new, emit(new, "case_escalated", f"Escalated {move}")),
            ], new
        if merged == current.content:
            return [], None
        new = current.evolve(content=merged, version=version + 1)
        return [(new, emit(new, "case_updated", f"Updated in {top}{via}"))], new
