"""What a court outcome does to its case (contract §8). Pure: the case manager stores it.

- ``closed`` or ``convicted`` for the whole case: ``case_closed`` (the content is kept);
- ``dismissed`` or ``acquitted`` of one subject: the subject leaves the case (``case_updated``)
  and is erased from fieldcourt's state; the whole case: every subject leaves and is erased;
  a case left without subjects closes (one ``case_closed``, its subjects empty);
- ``closed`` or ``convicted`` of one subject: the case goes on for the others; nothing changes;
- an outcome for a closed case: a clearing one still takes its subjects out (``case_updated``,
  the case stays closed) and erases them; ``closed``/``convicted`` changes nothing more;
- an unknown case, or a subject the case does not hold: rejected (dead-lettered).

Outcomes follow a merge: one for an absorbed case applies to the case that absorbed it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from schemas.cases import CaseEvent, CaseEventType
from schemas.common import format_utc
from schemas.outcomes import CLEARING, Outcome
from streams.cases.state import CaseState, outbox_entry
from streams.errors import Reason, RejectedInput


@dataclass(frozen=True)
class Settled:
    """An outcome's effect: the case events, the subjects to erase, or why it was refused."""

    events: list[CaseEvent]
    erased: tuple[str, ...] = ()
    rejected: RejectedInput | None = None
    #: The case's new state, when it has one (what the outbox record commits).
    state: CaseState | None = None
    #: When the outcome was first applied: its events' ``emitted_at``, its erasures' time.
    at: dt.datetime | None = None

    @classmethod
    def refused(cls, rejected: RejectedInput) -> Settled:
        return cls(events=[], rejected=rejected)

    def record(self, at: dt.datetime) -> dict[str, Any]:
        """The case manager's outbox record (same layout as a match's)."""
        encoded = None if self.state is None else self.state.encode()
        return {
            "at": format_utc(at),
            # every event of an outcome is a snapshot of the case's new state
            "events": [outbox_entry(encoded or [], event) for event in self.events],
            "cases": {} if self.state is None else {self.state.case_id: encoded},
            "fwd": {},
            "erased": list(self.erased),
        }


def decide_outcome(outcome: Outcome, case: CaseState | None, at: dt.datetime) -> Settled:
    """The effect of ``outcome`` on ``case`` (the case it names, or the one that absorbed it),
    its events emitted at ``at``."""
    if case is None:
        return Settled.refused(
            RejectedInput(
                Reason.UNKNOWN_CASE,
                f"fieldcourt holds no case {outcome.case_id!r} (never opened, or closed and "
                "swept after its retention)",
            )
        )
    held = case.subject_refs
    if outcome.subject_ref is not None and outcome.subject_ref not in held:
        return Settled.refused(
            RejectedInput(
                Reason.UNKNOWN_CASE,
                f"case {case.case_id} holds no subject {outcome.subject_ref} (never held, or "
                "already removed)",
            )
        )
    what = _describe(outcome)
    if outcome.outcome not in CLEARING:
        if outcome.subject_ref is not None or case.closed_at is not None:
            return Settled(events=[])  # the case goes on for the others / is closed already
        closed = case.evolve(version=case.version + 1, closed_at=at)
        return _settled(closed, "case_closed", f"Closed in {case.section}: {what}", at)
    cleared = held if outcome.subject_ref is None else (outcome.subject_ref,)
    if not cleared:
        return Settled(events=[])  # a subjectless case already closed: nothing left to clear
    content = case.content.without(cleared)
    gone = f"{', '.join(cleared)} removed and erased from fieldcourt's state"
    if case.closed_at is None and not content.subjects:
        closed = case.evolve(content=content, version=case.version + 1, closed_at=at)
        head = f"Closed in {case.section}, no subject left: {what}; {gone}"
        return _settled(closed, "case_closed", head, at, cleared)
    updated = case.evolve(content=content, version=case.version + 1)
    return _settled(
        updated, "case_updated", f"Updated in {case.section}: {what}; {gone}", at, cleared
    )


def _settled(
    state: CaseState,
    event_type: CaseEventType,
    reason: str,
    at: dt.datetime,
    erased: tuple[str, ...] = (),
) -> Settled:
    event = state.event(event_type, reason=reason + ".", sector=None, emitted_at=at)
    return Settled(events=[event], erased=erased, state=state, at=at)


def _describe(outcome: Outcome) -> str:
    whom = "the whole case" if outcome.subject_ref is None else outcome.subject_ref
    return (
        f"{whom} {outcome.outcome} by the court on {format_utc(outcome.decided_at)} "
        f"(procedure {outcome.procedure_ref}, outcome {outcome.outcome_id})"
    )
