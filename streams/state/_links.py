"""The link graph's stored records (``streams.network``): index entries, adjacency edges and
linking events, each a JSON list in its table, encoded and decoded here only."""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

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
    procedure ref, and the matches it produced (serialised)."""

    at: int
    roles: dict[str, str]
    address: str | None
    procedure: str | None
    matches: list[str]

    @classmethod
    def decode(cls, value: list[Any]) -> Linked:
        return cls(*value)

    def encode(self) -> list[Any]:
        return [self.at, self.roles, self.address, self.procedure, self.matches]
