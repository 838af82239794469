"""One case as the store keeps it, and its snapshot as a case event.

Everything a case accumulates is a sorted set union (and a min/max for the time span), so the
content a case ends with does not depend on the order its matches were applied in.

Plain frozen dataclasses, not pydantic models: a network case holds hundreds of subjects and
evidence ids and is rebuilt on every match, and validating it each time cost most of the case
manager's time (measured with ``benchmarks/bench_e2e.py``). Its parts come from validated
matches and from the store, which only this module writes; what is published, the
``CaseEvent``, is validated once per event.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

from schemas.cases import Anchor, CaseEvent, CaseEventType, Section
from schemas.common import format_utc
from streams.matches import MatchSubject, RuleMatch

#: A subject of a case: its reference and the sorted union of its roles.
Subject = tuple[str, tuple[str, ...]]


def _union(*parts: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set().union(*parts)))


def _subjects(subjects: Iterable[Subject]) -> tuple[Subject, ...]:
    """One entry per subject reference, with the union of its roles, sorted by reference."""
    roles: dict[str, set[str]] = {}
    for ref, its_roles in subjects:
        roles.setdefault(ref, set()).update(its_roles)
    return tuple((ref, tuple(sorted(roles[ref]))) for ref in sorted(roles))


def _pairs(subjects: Iterable[MatchSubject]) -> Iterable[Subject]:
    return ((s.ref, s.roles) for s in subjects)


def _utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).astimezone(dt.UTC)


@dataclass(frozen=True, slots=True)
class Content:
    """What a case holds: rules, subjects, addresses, evidence and the event-time span."""

    rule_ids: tuple[str, ...]
    subjects: tuple[Subject, ...]
    addresses: tuple[str, ...]
    evidence: tuple[str, ...]
    procedure_refs: tuple[str, ...]
    first_event_at: dt.datetime
    last_event_at: dt.datetime

    @classmethod
    def of(cls, match: RuleMatch) -> Content:
        return cls(
            rule_ids=(match.rule_id,),
            subjects=_subjects(_pairs(match.subjects)),
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

    def without(self, refs: Iterable[str]) -> Content:
        """The same content without the subjects ``refs`` (cleared by a court outcome)."""
        gone = set(refs)
        return replace(self, subjects=tuple(s for s in self.subjects if s[0] not in gone))

    def dump(self) -> dict[str, Any]:
        return {
            "rule_ids": list(self.rule_ids),
            "subjects": [{"ref": ref, "roles": list(roles)} for ref, roles in self.subjects],
            "addresses": list(self.addresses),
            "evidence": list(self.evidence),
            "procedure_refs": list(self.procedure_refs),
            "first_event_at": format_utc(self.first_event_at),
            "last_event_at": format_utc(self.last_event_at),
        }

    @classmethod
    def load(cls, value: dict[str, Any]) -> Content:
        return cls(
            rule_ids=tuple(value["rule_ids"]),
            subjects=tuple((s["ref"], tuple(s["roles"])) for s in value["subjects"]),
            addresses=tuple(value["addresses"]),
            evidence=tuple(value["evidence"]),
            procedure_refs=tuple(value["procedure_refs"]),
            first_event_at=_utc(value["first_event_at"]),
            last_event_at=_utc(value["last_event_at"]),
        )


@dataclass(frozen=True, slots=True)
class CaseState:
    """The latest state of one case; ``version`` is that of the last event it emitted."""

    case_id: str
    anchor: Anchor
    section: Section
    content: Content
    version: int
    #: The section the case last left (``None`` until it moves); repeated on later events.
    previous_section: Section | None = None
    #: When a court outcome closed it (``emitted_at`` of its ``case_closed``); ``None``: open.
    closed_at: dt.datetime | None = None

    @property
    def subject_refs(self) -> tuple[str, ...]:
        return tuple(ref for ref, _roles in self.content.subjects)

    @classmethod
    def load(cls, value: dict[str, Any]) -> CaseState:
        """From the store's decoded JSON, as ``dump`` wrote it."""
        return cls(
            case_id=value["case_id"],
            anchor=Anchor.model_validate(value["anchor"]),
            section=value["section"],
            previous_section=value["previous_section"],
            content=Content.load(value["content"]),
            version=value["version"],
            closed_at=None if value.get("closed_at") is None else _utc(value["closed_at"]),
        )

    def dump(self) -> dict[str, Any]:
        return {
            "case_id": self.case_id,
            "anchor": self.anchor.model_dump(mode="json"),
            "section": self.section,
            "previous_section": self.previous_section,
            "content": self.content.dump(),
            "version": self.version,
            "closed_at": None if self.closed_at is None else format_utc(self.closed_at),
        }

    def evolve(self, **changes: Any) -> CaseState:
        """A copy with ``changes`` (``version``, ``section``, ``content``, ...)."""
        return replace(self, **changes)

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
        """The published snapshot: validated here, once, as a whole."""
        content = self.content.dump()
        return CaseEvent.model_validate(
            {
                **content,
                "first_event_at": self.content.first_event_at,
                "last_event_at": self.content.last_event_at,
                "event_type": event_type,
                "case_id": self.case_id,
                "section": self.section,
                "previous_section": self.previous_section,
                "transferred_to": transferred_to,
                "merged_into": merged_into,
                "anchor": self.anchor,
                "sector": sector,
                "reason": reason,
                "version": self.version,
                "emitted_at": emitted_at,
            }
        )
