"""The link graph's stored records (``streams.network``): index entries, adjacency edges and
linking events, each a JSON list in its table, encoded and decoded here only."""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

from streams.matches import RuleMatch, match_subject
from streams.state._common import from_us, to_us

LinkKind = Literal["operation", "seizure", "address", "occupant"]
#: What an indexed event brings: an operation, a narcotics arrest or a dealing-address report.
Brings = Literal["operation", "arrest", "report"]


class Seen(NamedTuple):
    """An event in an ``op|`` or ``addr|`` index: its id, time (µs), what it brings, subjects."""

    event_id: str
    at: int
    brings: Brings
    subjects: list[str]

    @classmethod
    def decode(cls, value: list[Any]) -> Seen:
        return cls(*value)

    def encode(self) -> list[Any]:
        return [self.event_id, self.at, self.brings, self.subjects]


class Edge(NamedTuple):
    """An adjacency entry: neighbour, link kind, the one or two event ids behind it and their
    earliest and latest times (µs)."""

    neighbour: str
    kind: LinkKind
    events: list[str]
    lo: int
    hi: int

    @classmethod
    def decode(cls, value: list[Any]) -> Edge:
        return cls(*value)

    def encode(self) -> list[Any]:
        return [self.neighbour, self.kind, self.events, self.lo, self.hi]


class Linked(NamedTuple):
    """A linking event's record (``ev|``): its time (µs), subjects with roles, address key,
    procedure ref, and the matches it produced (``encode_match``)."""

    at: int
    roles: dict[str, str]
    address: str | None
    procedure: str | None
    matches: list[Any]

    @classmethod
    def decode(cls, value: list[Any]) -> Linked:
        return cls(*value)

    def encode(self) -> list[Any]:
        return [self.at, self.roles, self.address, self.procedure, self.matches]


def encode_match(match: RuleMatch) -> tuple[Any, ...]:
    """A network match as its linking event's record keeps it for a replay: its fields in
    order, subjects as ``(ref, roles)``, times in µs. The tuples are the match's own: a
    network's match lists thousands of evidence ids, and no JSON is made of them here."""
    return (
        match.rule_id,
        match.anchor_kind,
        match.anchor_ref,
        match.section,
        match.minor,
        tuple((s.ref, s.roles) for s in match.subjects),
        match.addresses,
        match.evidence,
        match.procedure_refs,
        match.sector,
        match.trigger_event_id,
        to_us(match.occurred_at),
        to_us(match.first_event_at),
        to_us(match.last_event_at),
        match.reason,
        match.absorbs,
    )


def decode_match(value: tuple[Any, ...] | list[Any]) -> RuleMatch:
    """The match ``encode_match`` kept (or its JSON), validated again."""
    (
        rule_id,
        anchor_kind,
        anchor_ref,
        section,
        minor,
        subjects,
        addresses,
        evidence,
        procedure_refs,
        sector,
        trigger_event_id,
        occurred_at,
        first_event_at,
        last_event_at,
        reason,
        absorbs,
    ) = value
    return RuleMatch(
        rule_id=rule_id,
        anchor_kind=anchor_kind,
        anchor_ref=anchor_ref,
        section=section,
        minor=minor,
        subjects=tuple(match_subject(ref, tuple(roles)) for ref, roles in subjects),
        addresses=tuple(addresses),
        evidence=tuple(evidence),
        procedure_refs=tuple(procedure_refs),
        sector=sector,
        trigger_event_id=trigger_event_id,
        occurred_at=from_us(occurred_at),
        first_event_at=from_us(first_event_at),
        last_event_at=from_us(last_event_at),
        reason=reason,
        absorbs=tuple(absorbs),
    )
