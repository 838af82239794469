"""The link graph behind ``f3.network`` (SPEC 6): subjects joined within 60 days, as one case.

It runs in ONE agent over a single-partition links topic. A connected component can join
subjects whose events sit on every partition, so one owner must hold all the links, in one
total order; link volume is low enough for that.

Links, between events at most ``window`` apart on event time:

- ``operation``: subjects of events sharing an ``operation_ref`` (and of one such event);
- ``seizure``: persons on one seizure;
- ``address``: a person arrested at an address key (for any offence: SPEC 6 says "arrests",
  where other rules say "narcotics arrests") and a dealing-address report at that key within
  ``window`` of it; ``occupant``: the occupant of such a report, once an arrest is near it.
  Both join the subject to the report's *place* node (``@`` + the report's
  event id), not to other subjects: those arrested near one report, and its occupant, meet
  there, at a cost linear in the arrests. A street address alone links nobody, nor do two
  occupants of one address without an arrest between them (SPEC 6).

A network is a component over the edges of one ``window``-long span of event time holding at
least ``min_subjects`` subjects (places are not members). When an event is observed, every
span that holds it is judged (one starting at each edge time within ``window`` before it), by
a walk from the nodes the event touched, so its cost is the component's, not the store's. The
event that completes a component finds it whichever event of it arrives last. The first time,
a network's id is ``stable_id("N", smallest member)``; members keep it as it grows; when
components holding two networks join, the smaller id survives and the match lists the other
in ``absorbs``.

Order: for the same events in any order, the graph, the components found and so the members
and evidence of each network end the same. What may depend on order is the network id (which
members first reached the threshold, hence which id survives a merge) and the intermediate
matches. A member keeps its network id after its links expire, so a later component it joins
carries that id on (until ``sweep`` forgets the member).

Store layout (``streams.state.keyspace``; values are the records below, encoded as JSON lists,
times in µs since the epoch, written by assignment):

- ``op|{ref}``, ``addr|{key}``: ``[Seen]`` events seen with that operation or at that address;
- ``adj|{node}``: ``[Edge]`` edges of a subject or a place;
- ``ev|{event_id}``: a ``Linked`` record. Written last, it makes ``observe`` idempotent: a
  replayed event returns the matches it returned the first time (nothing new: the graph already
  has it), so a match lost in a crash is sent again and the case manager drops it if it was not;
- ``net|{subject}``: the network the subject belongs to; ``alias|{network}``: the network that
  absorbed it;
- ``erased|count``: how many erasures changed the graph (what a network's evidence says is
  folded as it grows, ``streams.network_evidence``; an erasure makes it folded again).

Nothing is pruned as events arrive (an event on time at its source may arrive after much
newer ones); ``sweep`` forgets what lies behind the stage's low watermark minus the window.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_right
from collections.abc import Callable, Hashable, Iterable, MutableMapping
from dataclasses import dataclass
from itertools import chain
from typing import Any

from schemas.enriched import EnrichedEvent
from streams.matches import RuleMatch, match_subject, stable_id
from streams.network_evidence import EvidenceMemo
from streams.state._common import from_us, span_us, to_us
from streams.state._links import (
    Brings,
    Edge,
    Linked,
    LinkKind,
    Seen,
    decode_match,
    encode_match,
)
from streams.state.keyspace import (
    ADDRESS,
    ADJACENCY,
    ALIAS,
    GRAPH_ERASURES,
    LINKING_EVENT,
    NETWORK,
    OPERATION,
)

RULE_ID = "f3.network"
ERASURES = GRAPH_ERASURES.key("count")

LABELS: dict[LinkKind, str] = {
    "operation": "a shared operation",
    "seizure": "a shared seizure",
    "address": "arrests at a reported dealing address",
    "occupant": "the occupant of a reported dealing address",
}
#: Nodes that stand for a dealing-address report, not a person: never a network's member.
PLACE = "@"


@dataclass(frozen=True)
class NetworkConfig:
    """The rule's numbers (``f3.network`` in the rules file) and the lateness bound."""

    min_subjects: int = 4
    window: dt.timedelta = dt.timedelta(days=60)
    #: How late an event may arrive (SPEC 6).
    lateness: dt.timedelta = dt.timedelta(days=7)


@dataclass(frozen=True)
class _Component:
    #: Subjects only: places are walked through, never members.
    members: frozenset[str]
    evidence: frozenset[str]
    kinds: frozenset[LinkKind]
    #: The earliest times of its edges (µs): where the spans that may hold a network start.
    starts: frozenset[int]
    #: The latest times of its edges (µs).
    ends: frozenset[int]


def _edge(neighbour: str, kind: LinkKind, ends: Iterable[Seen]) -> Edge:
    """An adjacency entry witnessed by one or two index entries."""
    ends = sorted(ends, key=lambda end: end.at)
    return Edge(neighbour, kind, sorted({end.event_id for end in ends}), ends[0].at, ends[-1].at)


#: The events indexed by their address key, and what each brings there.
_AT_ADDRESS: dict[str, Brings] = {"arrest": "arrest", "dealing_address": "report"}


def _entries(event: EnrichedEvent, base: Seen) -> dict[str, Seen]:
    """The index entries an event adds: by operation, and by address for arrests and reports."""
    entries = {}
    if event.operation_ref is not None and base.subjects:
        entries[OPERATION.key(event.operation_ref)] = base._replace(brings="operation")
    brings = _AT_ADDRESS.get(event.kind)
    if event.address_key is not None and brings is not None:
        entries[ADDRESS.key(event.address_key)] = base._replace(brings=brings)
    return entries


def can_link(event: EnrichedEvent) -> bool:
    """Whether ``event`` may link anyone, now or once other events arrive: an index entry
    (``_entries``) or persons linked on the event itself. Routing sends the network stage these
    events only; ``observe`` stores nothing for the others."""
    if event.address_key is not None and event.kind in _AT_ADDRESS:
        return True  # a report links those arrested near it, with or without an occupant
    if not event.subjects:
        return False
    if event.operation_ref is not None:
        return True
    return event.kind == "seizure" and len({subject.ref for subject in event.subjects}) > 1


def is_member(node: str) -> bool:
    return not node.startswith(PLACE)


def _entry_id(entry: list[Any]) -> Hashable:
    return Seen.decode(entry).event_id


def _edge_id(edge: Edge) -> Hashable:
    return (edge.neighbour, edge.kind, *edge.events)


def _stored_edge_id(edge: list[Any]) -> Hashable:
    return _edge_id(Edge.decode(edge))


class NetworkGraph:
    """Turns linking events into ``f3.network`` matches for components of 4 or more subjects."""

    def __init__(
        self, store: MutableMapping[str, Any], config: NetworkConfig | None = None
    ) -> None:
        self.store = store
        self.config = config or NetworkConfig()
        self._window = span_us(self.config.window)
        self._evidence = EvidenceMemo()

    def observe(self, event: EnrichedEvent) -> list[RuleMatch]:
        """The network matches ``event`` causes; a replayed event gives the same ones again."""
        if not can_link(event):
            return []  # links nothing, now or later
        done = self._linked(event.event_id)
        if done is not None:
            return [decode_match(match) for match in done.matches]
        subjects = sorted({subject.ref for subject in event.subjects})
        at = to_us(event.occurred_at)
        base = Seen(event.event_id, at, "operation", subjects)
        mine = _entries(event, base)
        adjacency = self._links(event, base, mine)
        for key, entry in mine.items():
            self._append(key, [entry.encode()], _entry_id)
        for node, edges in adjacency.items():
            new = [edge.encode() for edge in edges.values()]
            self._append(ADJACENCY.key(node), new, _stored_edge_id)
        record = Linked(
            at=at,
            roles={subject.ref: subject.role for subject in event.subjects},
            address=event.address_key,
            procedure=event.procedure_ref,
            matches=[],
        )
        matches = [
            self._match(event, record, component)
            for component in self._networks(sorted(adjacency), at)
        ]
        done = record._replace(matches=[encode_match(m) for m in matches])
        self.store[LINKING_EVENT.key(event.event_id)] = done.encode()
        return matches

    def network_of(self, subject: str) -> str | None:
        network = self.store.get(NETWORK.key(subject))
        return None if network is None else self._resolve(network)

    def erase(self, subject: str) -> int:
        """Forget ``subject`` (a court cleared them): their node, edges and network, and their
        place in every indexed event; a linking event keeps its other subjects but no longer
        replays its matches (they listed the subject). How many keys changed."""
        changed = 0
        for key, value in list(self.store.items()):
            if key in (ADJACENCY.key(subject), NETWORK.key(subject)):
                del self.store[key]
            elif ADJACENCY.owns(key):
                kept = [edge for edge in value if Edge.decode(edge).neighbour != subject]
                if kept == value:
                    continue
                if kept:
                    self.store[key] = kept
                else:
                    del self.store[key]
            elif OPERATION.owns(key) or ADDRESS.owns(key):
                entries = [Seen.decode(entry) for entry in value]
                if not any(subject in entry.subjects for entry in entries):
                    continue
                self.store[key] = [
                    entry._replace(subjects=[s for s in entry.subjects if s != subject]).encode()
                    for entry in entries
                ]
            elif LINKING_EVENT.owns(key) and subject in (linked := Linked.decode(value)).roles:
                held = {ref: role for ref, role in linked.roles.items() if ref != subject}
                self.store[key] = linked._replace(roles=held, matches=[]).encode()
            else:
                continue
            changed += 1
        if changed:  # roles were stripped: no fold of evidence made before holds
            self.store[ERASURES] = self.store.get(ERASURES, 0) + 1
        return changed

    def sweep(self, before: dt.datetime) -> int:
        """Forget links and events older than ``before`` (retention); returns keys removed."""
        cut = to_us(before)
        removed = 0
        self._evidence.clear()
        for key, value in list(self.store.items()):
            if LINKING_EVENT.owns(key):
                stale = Linked.decode(value).at < cut
            elif OPERATION.owns(key) or ADDRESS.owns(key) or ADJACENCY.owns(key):
                since: Callable[[list[Any]], int] = (
                    (lambda x: Edge.decode(x).lo)
                    if ADJACENCY.owns(key)
                    else (lambda x: Seen.decode(x).at)
                )
                kept = [x for x in value if since(x) >= cut]
                if kept and len(kept) < len(value):
                    self.store[key] = kept
                stale = not kept
            else:
                continue
            if stale:
                del self.store[key]
                removed += 1
        for key in [k for k in list(self.store) if NETWORK.owns(k)]:
            if ADJACENCY.key(NETWORK.parse(key)) not in self.store:
                del self.store[key]
                removed += 1
        return removed

    def _linked(self, event_id: str) -> Linked | None:
        value = self.store.get(LINKING_EVENT.key(event_id))
        return None if value is None else Linked.decode(value)

    def _links(
        self, event: EnrichedEvent, base: Seen, mine: dict[str, Seen]
    ) -> dict[str, dict[Hashable, Edge]]:
        """New adjacency entries per node: within this event, and with indexed events."""
        adjacency: dict[str, dict[Hashable, Edge]] = {}

        def connect(kind: LinkKind, a: str, b: str, ends: tuple[Seen, ...]) -> None:
            for node, other in ((a, b), (b, a)):
                edge = _edge(other, kind, ends)
                adjacency.setdefault(node, {})[_edge_id(edge)] = edge

        def pairwise(kind: LinkKind, ours: Seen, theirs: Seen) -> None:
            for a in ours.subjects:
                for b in theirs.subjects:
                    if a < b or (a > b and ours is not theirs):
                        connect(kind, a, b, (ours, theirs))

        if base.subjects and (event.kind == "seizure" or event.operation_ref is not None):
            pairwise("seizure" if event.kind == "seizure" else "operation", base, base)
        for key, ours in mine.items():
            for stored in self.store.get(key, []):
                theirs = Seen.decode(stored)
                close = abs(theirs.at - base.at) <= self._window
                if not close or theirs.event_id == event.event_id:
                    continue
                if ours.brings == theirs.brings == "operation":
                    pairwise("operation", ours, theirs)
                elif {ours.brings, theirs.brings} == {"arrest", "report"}:
                    arrest, report = (ours, theirs) if ours.brings == "arrest" else (theirs, ours)
                    # the report's node: its occupant and those arrested near it meet there
                    place = PLACE + report.event_id
                    for occupant in report.subjects:
                        connect("occupant", occupant, place, (report,))
                    for arrested in arrest.subjects:
                        connect("address", arrested, place, (arrest, report))
        return adjacency

    def _append(
        self, key: str, new: list[list[Any]], identity: Callable[[list[Any]], Hashable]
    ) -> None:
        """Append ``new`` to the list at ``key``, each entry once."""
        kept = list(self.store.get(key, []))
        known = {identity(x) for x in kept}
        for entry in new:
            if identity(entry) not in known:
                known.add(identity(entry))
                kept.append(entry)
        self.store[key] = kept

    def _networks(self, touched: list[str], at: int) -> list[_Component]:
        """The components of ``min_subjects`` or more in every ``window`` span holding ``at``.

        A span's component lies within the component of ``[at - window, at + window]``, so
        that wider walk says whether any span can hold a network and where spans may start.
        """
        window, least = self._window, self.config.min_subjects
        edges = self._edges_once()  # every span walks the same nodes: decode each list once
        wide = [
            c
            for c in self._components(touched, at - window, at + window, edges)
            if len(c.members) >= least
        ]
        starts = sorted({s for c in wide for s in c.starts if at - window <= s <= at})
        ends = sorted({e for c in wide for e in c.ends})
        # where the edges of the wide components start and end
        first = min((s for c in wide for s in c.starts), default=0)
        last = max(ends, default=0)
        found: dict[tuple[frozenset[str], frozenset[str]], _Component] = {}
        reach: int | None = None  # where the last span walked ends
        for start in starts:
            later = bisect_right(ends, start + window)
            if reach is not None and later == bisect_right(ends, reach):
                # No edge ends in (reach, start + window]: every edge of this span lies in the
                # last one walked (it starts later), so its components lie within those and add
                # nothing below. Events in time order make every span after the first one so.
                continue
            reach = start + window
            # A span holding every edge of the wide components walks just those edges: its
            # components are the wide ones. Events in time order make the first span so.
            fits = start <= first and last <= start + window
            spans = wide if fits else self._components(touched, start, start + window, edges)
            for component in spans:
                if len(component.members) >= least:
                    found.setdefault((component.members, component.evidence), component)
        if len(found) < 2:  # mostly: nothing to compare nor order
            return list(found.values())
        # a component inside another adds nothing to the network's case
        kept = [
            key
            for key in found
            if not any(
                key != other and key[0] <= other[0] and key[1] <= other[1] for other in found
            )
        ]
        return [found[key] for key in sorted(kept, key=lambda k: (sorted(k[0]), sorted(k[1])))]

    def _edges_once(self) -> Callable[[str], list[list[Any]]]:
        """A node's stored edges (as stored: ``Edge.encode``), read the first time they are
        asked for. Walks read them undecoded: decoding every edge of a component of hundreds
        of subjects, on every event that touches it, cost more than the walk."""
        read: dict[str, list[list[Any]]] = {}

        def edges(node: str) -> list[list[Any]]:
            found = read.get(node)
            if found is None:
                found = read[node] = self.store.get(ADJACENCY.key(node), [])
            return found

        return edges

    def _components(
        self,
        touched: list[str],
        low: int,
        high: int,
        edges: Callable[[str], list[list[Any]]],
    ) -> list[_Component]:
        """Components of the touched nodes over the edges lying within ``[low, high]`` (µs)."""
        components, remaining = [], set(touched)
        while remaining:
            start = min(remaining)
            nodes, queue, inside = {start}, [start], []
            while queue:
                node = queue.pop()
                for edge in edges(node):  # an Edge, encoded: neighbour, kind, events, lo, hi
                    if low <= edge[3] and edge[4] <= high:
                        neighbour = edge[0]
                        if neighbour not in nodes:
                            nodes.add(neighbour)
                            queue.append(neighbour)
                        # Every edge is stored at both its ends, and a component holds both:
                        # what it brings is taken from one side.
                        if node < neighbour:
                            inside.append(edge)
            remaining -= nodes
            components.append(
                _Component(
                    members=frozenset(filter(is_member, nodes)),
                    evidence=frozenset(chain.from_iterable(edge[2] for edge in inside)),
                    kinds=frozenset(edge[1] for edge in inside),
                    starts=frozenset(edge[3] for edge in inside),
                    ends=frozenset(edge[4] for edge in inside),
                )
            )
        return components

    def _resolve(self, network: str) -> str:
        seen = {network}
        while (target := self.store.get(ALIAS.key(network))) is not None and target not in seen:
            seen.add(target)
            network = target
        return network

    def _identify(self, members: frozenset[str]) -> tuple[str, list[str]]:
        """The component's network id (kept as it grows, smallest on a merge), what it absorbs."""
        stored = {m: self.store.get(NETWORK.key(m)) for m in members}
        ids = {self._resolve(net) for net in set(stored.values()) if net is not None}
        survivor = min(ids) if ids else stable_id("N", min(members))
        absorbed = sorted(ids - {survivor})
        for network in absorbed:
            self.store[ALIAS.key(network)] = survivor
        for member in sorted(members):
            if stored[member] != survivor:
                self.store[NETWORK.key(member)] = survivor
        return survivor, absorbed

    def _match(self, event: EnrichedEvent, record: Linked, component: _Component) -> RuleMatch:
        network, absorbed = self._identify(component.members)
        members = component.members
        stored, key = self.store.get, LINKING_EVENT.key

        def read(eid: str) -> Any:
            # as stored, not decoded: a network's evidence runs into the thousands
            return record if eid == event.event_id else stored(key(eid))

        erasures = self.store.get(ERASURES, 0)
        found = self._evidence.of(network, component.evidence, erasures, read)
        roles = found.roles
        # the event's own record is always among them
        assert found.first is not None
        assert found.last is not None
        first, last = from_us(found.first), from_us(found.last)
        links = ", ".join(LABELS[k] for k in sorted(component.kinds))
        reason = (
            f"{len(component.members)} subjects linked through {links} within "
            f"{self.config.window.days} days: {len(component.evidence)} events from "
            f"{first:%Y-%m-%d} to {last:%Y-%m-%d}, latest {event.event_id} "
            f"({event.sector or 'outside any sector'})"
        )
        return RuleMatch(
            rule_id=RULE_ID,
            anchor_kind="network",
            anchor_ref=network,
            section="F3",
            subjects=tuple(
                match_subject(m, tuple(sorted(roles.get(m, ())))) for m in sorted(members)
            ),
            addresses=tuple(sorted(found.addresses)),
            evidence=tuple(sorted(component.evidence)),
            procedure_refs=tuple(sorted(found.procedures)),
            sector=event.sector,
            trigger_event_id=event.event_id,
            occurred_at=event.occurred_at,
            first_event_at=first,
            last_event_at=last,
            reason=reason,
            absorbs=tuple(absorbed),
        )
