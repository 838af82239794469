"""One case as the store keeps it, and its snapshot as a case event.

Everything a case accumulates is a sorted set union (and a min/max for the time span), so the
content a case ends with does not depend on the order its matches were applied in.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from schemas.cases import Anchor, CaseEvent, CaseEventType, CaseSubject, Section
from schemas.common import StrictModel, UtcDatetime
from streams.matches import MatchSubject, RuleMatch


def _union(*parts: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set().union(*parts)))


def _subjects(subjects: Iterable[MatchSubject]) -> tuple[MatchSubject, ...]:
    """One entry per subject reference, with the union of its roles, sorted by reference."""
    roles: dict[str, set[str]] = {}
    for subject in subjects:
        roles.setdefault(subject.ref, set()).update(subject.roles)
    return tuple(MatchSubject(ref=ref, roles=tuple(sorted(roles[ref]))) for ref in sorted(roles))


class Content(StrictModel):
    """What a case holds: rules, subjects, addresses, evidence and the event-time span."""

    rule_ids: tuple[str, ...]
    subjects: tuple[MatchSubject, ...]
    addresses: tuple[str, ...]
    evidence: tuple[str, ...]
    procedure_refs: tuple[str, ...]
    first_event_at: UtcDatetime
    last_event_at: UtcDatetime

    @classmethod
    def of(cls, match: RuleMatch) -> Content:
        return cls(
            rule_ids=(match.rule_id,),
            subjects=_subjects(match.subjects),
            addresses=_union(match.addresses),
            evidence=_union(match.evidence),
            procedure_refs=_union(match.procedure_refs),
            first_event_at=match.first_event_at,
            last_event_at=match.last_event_at,
        )

    def union(self, other: Content) -> Content:
        return Content(
            rule_ids=_union(self.rule_ids, other.rule_ids),
            subjects=_subjects((*self.subjects, *other.subjects)),
            addresses=_union(self.addresses, other.addresses),
            evidence=_union(self.evidence, other.evidence),
            procedure_refs=_union(self.procedure_refs, other.procedure_refs),
            first_event_at=min(self.first_event_at, other.first_event_at),
            last_event_at=max(self.last_event_at, other.last_event_at),
        )


class CaseState(StrictModel):
    """The latest state of one case; ``version`` is that of the last event it emitted."""

    case_id: str
    anchor: Anchor
    section: Section
    #: The section the case last left (``None`` until it moves); repeated on later events.
    previous_section: Section | None = None
    content: Content
    version: int

    @classmethod
    def load(cls, value: Any) -> CaseState:
        """From the store's decoded JSON (timestamps as strings, tuples as lists)."""
        return cls.model_validate(value, strict=False)

    def dump(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def to_event(
        self,
        event_type: CaseEventType,
        *,
        reason: str,
        sector: str | None,
        emitted_at: dt.datetime,
        transferred_to: Section | None = None,
        merged_into: str | None = None,
    ) -> CaseEvent:
        content = self.content
        return CaseEvent(
            event_type=event_type,
            case_id=self.case_id,
            section=self.section,
            previous_section=self.previous_section,
            transferred_to=transferred_to,
            merged_into=merged_into,
            anchor=self.anchor,
            sector=sector,
            rule_ids=list(content.rule_ids),
            reason=reason,
            subjects=[CaseSubject(ref=s.ref, roles=list(s.roles)) for s in content.subjects],
            addresses=list(content.addresses),
            evidence=list(content.evidence),
            procedure_refs=list(content.procedure_refs),
            first_event_at=content.first_event_at,
            last_event_at=content.last_event_at,
            version=self.version,
            emitted_at=emitted_at,
        )
