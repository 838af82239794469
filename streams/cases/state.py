"""One case as the store keeps it, and its snapshot as a case event.

Everything a case accumulates is a sorted set union (and a min/max for the time span), so the
content a case ends with does not depend on the order its matches were applied in.

Plain frozen dataclasses, not pydantic models: a network case holds hundreds of subjects and
evidence ids and is rebuilt on every match, and validating it each time cost most of the case
manager's time (measured with ``benchmarks/bench_e2e.py``). Its parts come from validated
matches and from the store, which only this module writes; what is published, the
``CaseEvent``, is validated once per event, from Python objects: its subjects and anchor are
models validated once and shared (immutable), so a case of hundreds of subjects costs about
what a small one does, where decoding its JSON cost a regular expression per subject.

Stored (``case|{case_id}``, the outbox's ``cases``, and with each event it snapshots in the
outbox's ``events``, see ``outbox_entry``) as a JSON list, times in µs since the
epoch: ``[case_id, anchor kind, anchor ref, section, previous section, content, version,
closed_at or null]``, the content ``[rule_ids, [[ref, roles], ...], addresses, evidence,
procedure_refs, first_event_at, last_event_at]`` (``encode``/``decode``). ``encode`` writes
tuples that hold the state's own tuples (JSON makes them lists): nothing of a case is copied
to store it, and a store in memory holds no list for the garbage collector to walk, which a
full collection does for every object the process holds.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, replace
from functools import lru_cache
from itertools import pairwise
from typing import Any

from schemas.cases import Anchor, CaseEvent, CaseEventType, CaseSubject, Section
from streams.matches import MatchSubject, RuleMatch
from streams.state._common import from_us, to_us

#: A subject of a case: its reference and the sorted union of its roles.
Subject = tuple[str, tuple[str, ...]]
#: A stored record: a tuple as written here, a list as JSON gives it back.
Encoded = tuple[Any, ...] | list[Any]


def _union(*parts: Iterable[str]) -> tuple[str, ...]:
    return tuple(sorted(set().union(*parts)))


def _merge(held: tuple[str, ...], more: tuple[str, ...]) -> tuple[str, ...]:
    """The sorted union of two sorted unions; ``held`` itself when ``more`` adds nothing (a
    case mostly gets back what it holds: equal contents then compare by identity)."""
    if more is held or not more or more == held:
        return held
    if not held:
        return more
    known = set(held)
    if known.issuperset(more):
        return held
    return tuple(sorted(known.union(more)))


def _ascending(items: Iterable[str]) -> bool:
    return all(a < b for a, b in pairwise(items))


def _subjects(subjects: Iterable[Subject]) -> tuple[Subject, ...]:
    """One entry per subject reference, with the union of its roles, sorted by reference."""
    pairs = tuple(subjects)
    # What a rule sends is mostly in that form already (a network's hundreds of members):
    # checking costs less than building it again.
    if _ascending([ref for ref, _roles in pairs]) and all(
        len(its_roles) < 2 or _ascending(its_roles) for _ref, its_roles in pairs
    ):
        return pairs
    roles: dict[str, set[str]] = {}
    for ref, its_roles in pairs:
        roles.setdefault(ref, set()).update(its_roles)
    return tuple((ref, tuple(sorted(roles[ref]))) for ref in sorted(roles))


def _merge_subjects(held: tuple[Subject, ...], more: tuple[Subject, ...]) -> tuple[Subject, ...]:
    """``_subjects`` of both, for two results of ``_subjects``: ``held`` when ``more`` adds
    nothing."""
    if more is held or not more or more == held:  # a network's members, sent again
        return held
    if not held:
        return more
    # A network's match lists its hundreds of members every time, a few of them new: only the
    # pairs the case does not hold already are looked at one by one.
    extra = set(more).difference(held)
    if not extra:
        return held
    roles = dict(held)
    changed = False
    for ref, its_roles in extra:
        mine = roles.get(ref)
        if mine is None:
            roles[ref] = its_roles
        elif not set(its_roles).issubset(mine):
            roles[ref] = tuple(sorted({*mine, *its_roles}))
        else:
            continue
        changed = True
    return tuple(sorted(roles.items())) if changed else held


@lru_cache(maxsize=1 << 16)
def _case_subject(ref: str, roles: tuple[str, ...]) -> CaseSubject:
    """A case event's subject, validated once and shared by the events that list it."""
    return CaseSubject(ref=ref, roles=list(roles))


@lru_cache(maxsize=1 << 16)
def anchor_of(kind: str, ref: str) -> Anchor:
    """A case's anchor, validated once and shared."""
    return Anchor.model_validate({"kind": kind, "ref": ref})


#: The subjects of the last big cases made into events (see ``_event_subjects``), by identity.
_EVENT_SUBJECTS: dict[int, tuple[tuple[Subject, ...], list[CaseSubject]]] = {}
_EVENT_SUBJECTS_MAX = 1024
#: Fewer subjects than this are cheaper to make again than to look up.
_EVENT_SUBJECTS_MIN = 8


def _event_subjects(subjects: tuple[Subject, ...]) -> list[CaseSubject]:
    """A case event's subjects. A case's subjects tuple is shared by its versions until one
    adds a subject (``_merge_subjects`` hands ``held`` back), so a network case of hundreds of
    members makes their list once, not once per event."""
    if len(subjects) < _EVENT_SUBJECTS_MIN:
        return [_case_subject(ref, roles) for ref, roles in subjects]
    known = _EVENT_SUBJECTS.get(id(subjects))
    if known is None or known[0] is not subjects:
        if len(_EVENT_SUBJECTS) >= _EVENT_SUBJECTS_MAX:
            # all at once: taking the oldest one by one walks every slot deleted before it
            _EVENT_SUBJECTS.clear()
        made = [_case_subject(ref, roles) for ref, roles in subjects]
        known = _EVENT_SUBJECTS[id(subjects)] = (subjects, made)
    return list(known[1])  # the event's own list: the cached one stays as it is


def _pairs(subjects: Iterable[MatchSubject]) -> Iterable[Subject]:
    return ((s.ref, s.roles) for s in subjects)


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
            rule_ids=_merge(self.rule_ids, other.rule_ids),
            subjects=_merge_subjects(self.subjects, other.subjects),
            addresses=_merge(self.addresses, other.addresses),
            evidence=_merge(self.evidence, other.evidence),
            procedure_refs=_merge(self.procedure_refs, other.procedure_refs),
            first_event_at=min(self.first_event_at, other.first_event_at),
            last_event_at=max(self.last_event_at, other.last_event_at),
        )

    def without(self, refs: Iterable[str]) -> Content:
        """The same content without the subjects ``refs`` (cleared by a court outcome)."""
        gone = set(refs)
        return replace(self, subjects=tuple(s for s in self.subjects if s[0] not in gone))

    def fields(self) -> dict[str, Any]:
        """The content as a case event holds it, to validate as one."""
        return {
            "rule_ids": list(self.rule_ids),
            "subjects": _event_subjects(self.subjects),
            "addresses": list(self.addresses),
            "evidence": list(self.evidence),
            "procedure_refs": list(self.procedure_refs),
            "first_event_at": self.first_event_at,
            "last_event_at": self.last_event_at,
        }

    def encode(self) -> Encoded:
        """Its parts as they are (tuples, which JSON writes as lists): nothing is copied, so
        encoding a case of thousands of evidence ids costs what a small one does."""
        return (
            self.rule_ids,
            self.subjects,
            self.addresses,
            self.evidence,
            self.procedure_refs,
            to_us(self.first_event_at),
            to_us(self.last_event_at),
        )

    @classmethod
    def decode(cls, value: Encoded) -> Content:
        """From ``encode``'s tuple as it is, or from its JSON (lists)."""
        rule_ids, subjects, addresses, evidence, procedure_refs, first, last = value
        if type(subjects) is not tuple:  # decoded JSON: pairs as lists
            subjects = tuple((ref, tuple(roles)) for ref, roles in subjects)
        return cls(
            rule_ids=tuple(rule_ids),
            subjects=subjects,
            addresses=tuple(addresses),
            evidence=tuple(evidence),
            procedure_refs=tuple(procedure_refs),
            first_event_at=from_us(first),
            last_event_at=from_us(last),
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
    def decode(cls, value: Encoded) -> CaseState:
        """From ``encode``'s tuple, or the store's decoded JSON of it."""
        case_id, kind, ref, section, previous, content, version, closed = value
        return cls(
            case_id=case_id,
            anchor=anchor_of(kind, ref),
            section=section,
            previous_section=previous,
            content=Content.decode(content),
            version=version,
            closed_at=None if closed is None else from_us(closed),
        )

    def encode(self) -> Encoded:
        return (
            self.case_id,
            self.anchor.kind,
            self.anchor.ref,
            self.section,
            self.previous_section,
            self.content.encode(),
            self.version,
            None if self.closed_at is None else to_us(self.closed_at),
        )

    @staticmethod
    def stored_version(value: Encoded) -> int:
        """The version of a stored case, without decoding the rest."""
        version: int = value[6]
        return version

    @staticmethod
    def stored_section(value: Encoded) -> Section:
        section: Section = value[3]
        return section

    @staticmethod
    def stored_closed_at(value: Encoded) -> dt.datetime | None:
        closed: int | None = value[7]
        return None if closed is None else from_us(closed)

    def evolve(self, **changes: Any) -> CaseState:
        """A copy with ``changes`` (``version``, ``section``, ``content``, ...)."""
        return replace(self, **changes)

    def event(
        self,
        event_type: CaseEventType,
        *,
        reason: str,
        sector: str | None,
        emitted_at: dt.datetime,
        transferred_to: Section | None = None,
        merged_into: str | None = None,
    ) -> CaseEvent:
        """The published snapshot, validated."""
        return CaseEvent.model_validate(
            {
                **self.content.fields(),
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
            },
            strict=True,
        )


def outbox_entry(state: Encoded, event: CaseEvent) -> Encoded:
    """How the case manager's outbox keeps ``event``: the encoded state it is a snapshot of
    (the very list stored for the case, when it is its latest) and what the event adds; its
    ``emitted_at`` is the record's. ``from_outbox`` makes the same event again."""
    return (
        state,
        event.event_type,
        event.reason,
        event.sector,
        event.transferred_to,
        event.merged_into,
    )


def from_outbox(entry: Encoded, emitted_at: dt.datetime) -> CaseEvent:
    state, event_type, reason, sector, transferred_to, merged_into = entry
    return CaseState.decode(state).event(
        event_type,
        reason=reason,
        sector=sector,
        emitted_at=emitted_at,
        transferred_to=transferred_to,
        merged_into=merged_into,
    )
