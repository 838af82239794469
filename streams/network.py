"""The link graph behind ``f3.network`` (SPEC 6): subjects joined within 60 days, as one case.

It runs in ONE agent over a single-partition links topic. A connected component can join
subjects whose events sit on every partition, so one owner must hold all the links, in one
total order; link volume is low enough for that.

Links, between events at most ``window`` apart on event time:

- ``operation``: subjects of events sharing an ``operation_ref`` (and of one such event);
- ``seizure``: persons on one seizure;
- ``address``: a person of a narcotics arrest at an address key and a dealing-address report
  at that key within ``window`` of it; ``occupant``: the occupant of such a report, once an
  arrest is near it. Both join the subject to the report's *place* node (``@`` + the report's
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

Store layout (JSON values, written by assignment):

- ``op|{ref}``, ``addr|{key}``: ``[{e, t, k, s}]`` events seen with that operation or at that
  address (id, time, what they bring: operation / arrest / report, subjects);
- ``adj|{node}``: ``[{n, k, e, lo, hi}]`` edges of a subject or a place: neighbour, link kind,
  the one or two event ids behind it and their earliest and latest times;
- ``ev|{event_id}``: a linking event's time, subjects with roles, address key, procedure ref
  and the matches it produced. Written last, it makes ``observe`` idempotent: a replayed event
  returns the matches it returned the first time (nothing new: the graph already has it), so
  a match lost in a crash is sent again and the case manager drops it if it was not;
- ``net|{subject}``: the network the subject belongs to; ``alias|{network}``: the network that
  absorbed it.

Nothing is pruned as events arrive (an event on time at its source may arrive after much
newer ones); ``sweep`` forgets what lies behind the stage's low watermark minus the window.
"""

from __future__ import annotations

import datetime as dt
import functools
from collections.abc import Callable, Hashable, Iterable, MutableMapping
from dataclasses import dataclass
from typing import Any, Literal

from schemas.codec import dumps, loads
from schemas.common import format_utc
from schemas.enriched import EnrichedEvent
from streams.matches import MatchSubject, RuleMatch, stable_id

RULE_ID = "f3.network"
OP, ADDR, ADJ, EV, NET, ALIAS = "op|", "addr|", "adj|", "ev|", "net|", "alias|"

LinkKind = Literal["operation", "seizure", "address", "occupant"]
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
    #: The earliest times of its edges: where the spans that may hold a network start.
    starts: frozenset[dt.datetime]


@functools.lru_cache(maxsize=65536)
def _at(value: str) -> dt.datetime:
    """Stored times are strings; a component walk reads the same ones again and again."""
    return dt.datetime.fromisoformat(value)


def _edge(neighbour: str, kind: LinkKind, ends: Iterable[dict[str, Any]]) -> dict[str, Any]:
    """An adjacency entry witnessed by one or two index entries (``{e, t}``)."""
    ends = sorted(ends, key=lambda end: _at(end["t"]))
    return {
        "n": neighbour,
        "k": kind,
        "e": sorted({end["e"] for end in ends}),
        "lo": ends[0]["t"],
        "hi": ends[-1]["t"],
    }


def _entries(event: EnrichedEvent, base: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The index entries an event adds: by operation, and by address for arrests and reports."""
    entries = {}
    if event.operation_ref is not None and base["s"]:
        entries[OP + event.operation_ref] = {**base, "k": "operation"}
    if event.address_key is not None:
        if event.kind == "arrest" and event.narcotics:
            entries[ADDR + event.address_key] = {**base, "k": "arrest"}
        elif event.kind == "dealing_address":
            entries[ADDR + event.address_key] = {**base, "k": "report"}
    return entries


def is_member(node: str) -> bool:
    return not node.startswith(PLACE)


def _entry_id(entry: dict[str, Any]) -> Hashable:
    return str(entry["e"])


def _edge_id(edge: dict[str, Any]) -> Hashable:
    return (edge["n"], edge["k"], *edge["e"])


class NetworkGraph:
    """Turns linking events into ``f3.network`` matches for components of 4 or more subjects."""

    def __init__(
        self, store: MutableMapping[str, Any], config: NetworkConfig | None = None
    ) -> None:
        self.store = store
        self.config = config or NetworkConfig()

    def observe(self, event: EnrichedEvent) -> list[RuleMatch]:
        """The network matches ``event`` causes; a replayed event gives the same ones again."""
        done = self.store.get(EV + event.event_id)
        if done is not None:
            return [loads(RuleMatch, match) for match in done["m"]]
        subjects = sorted({subject.ref for subject in event.subjects})
        base = {"e": event.event_id, "t": format_utc(event.occurred_at), "s": subjects}
        mine = _entries(event, base)
        adjacency = self._links(event, base, mine)
        if not mine and not adjacency:
            return []  # links nothing, now or later
        for key, entry in mine.items():
            self._append(key, [entry], _entry_id)
        for node, edges in adjacency.items():
            self._append(ADJ + node, list(edges.values()), _edge_id)
        record = {
            "t": format_utc(event.occurred_at),
            "s": {subject.ref: subject.role for subject in event.subjects},
            "a": event.address_key,
            "p": event.procedure_ref,
        }
        matches = [
            self._match(event, record, component)
            for component in self._networks(sorted(adjacency), event.occurred_at)
        ]
        self.store[EV + event.event_id] = {**record, "m": [dumps(m).decode() for m in matches]}
        return matches

    def network_of(self, subject: str) -> str | None:
        network = self.store.get(NET + subject)
        return None if network is None else self._resolve(network)

    def erase(self, subject: str) -> int:
        """Forget ``subject`` (a court cleared them): their node, edges and network, and their
        place in every indexed event; a linking event keeps its other subjects but no longer
        replays its matches (they listed the subject). How many keys changed."""
        changed = 0
        for key, value in list(self.store.items()):
            if key in (ADJ + subject, NET + subject):
                del self.store[key]
            elif key.startswith(ADJ):
                kept = [edge for edge in value if edge["n"] != subject]
                if kept == value:
                    continue
                if kept:
                    self.store[key] = kept
                else:
                    del self.store[key]
            elif key.startswith((OP, ADDR)):
                if not any(subject in entry["s"] for entry in value):
                    continue
                self.store[key] = [
                    {**entry, "s": [s for s in entry["s"] if s != subject]} for entry in value
                ]
            elif key.startswith(EV) and subject in value["s"]:
                held = {ref: role for ref, role in value["s"].items() if ref != subject}
                self.store[key] = {**value, "s": held, "m": []}
            else:
                continue
            changed += 1
        return changed

    def sweep(self, before: dt.datetime) -> int:
        """Forget links and events older than ``before`` (retention); returns keys removed."""
        removed = 0
        for key, value in list(self.store.items()):
            if key.startswith(EV):
                stale = _at(value["t"]) < before
            elif key.startswith((OP, ADDR, ADJ)):
                time = "lo" if key.startswith(ADJ) else "t"
                kept = [x for x in value if _at(x[time]) >= before]
                if kept and len(kept) < len(value):
                    self.store[key] = kept
                stale = not kept
            else:
                continue
            if stale:
                del self.store[key]
                removed += 1
        for key in [k for k in list(self.store) if k.startswith(NET)]:
            if ADJ + key.removeprefix(NET) not in self.store:
                del self.store[key]
                removed += 1
        return removed

    def _links(
        self, event: EnrichedEvent, base: dict[str, Any], mine: dict[str, dict[str, Any]]
    ) -> dict[str, dict[Hashable, dict[str, Any]]]:
        """New adjacency entries per node: within this event, and with indexed events."""
        adjacency: dict[str, dict[Hashable, dict[str, Any]]] = {}

        def connect(kind: LinkKind, a: str, b: str, ends: tuple[dict[str, Any], ...]) -> None:
            for node, other in ((a, b), (b, a)):
                edge = _edge(other, kind, ends)
                adjacency.setdefault(node, {})[_edge_id(edge)] = edge

        def pairwise(kind: LinkKind, ours: dict[str, Any], theirs: dict[str, Any]) -> None:
            for a in ours["s"]:
                for b in theirs["s"]:
                    if a < b or (a > b and ours is not theirs):
                        connect(kind, a, b, (ours, theirs))

        if base["s"] and (event.kind == "seizure" or event.operation_ref is not None):
            pairwise("seizure" if event.kind == "seizure" else "operation", base, base)
        for key, ours in mine.items():
            for theirs in self.store.get(key, []):
                close = abs(_at(theirs["t"]) - event.occurred_at) <= self.config.window
                if not close or theirs["e"] == event.event_id:
                    continue
                if ours["k"] == theirs["k"] == "operation":
                    pairwise("operation", ours, theirs)
                elif {ours["k"], theirs["k"]} == {"arrest", "report"}:
                    arrest, report = (ours, theirs) if ours["k"] == "arrest" else (theirs, ours)
                    # the report's node: its occupant and those arrested near it meet there
                    place = PLACE + report["e"]
                    for occupant in report["s"]:
                        connect("occupant", occupant, place, (report,))
                    for arrested in arrest["s"]:
                        connect("address", arrested, place, (arrest, report))
        return adjacency

    def _append(
        self, key: str, new: list[dict[str, Any]], identity: Callable[[dict[str, Any]], Hashable]
    ) -> None:
        """Append ``new`` to the list at ``key``, each entry once."""
        kept = list(self.store.get(key, []))
        known = {identity(x) for x in kept}
        for entry in new:
            if identity(entry) not in known:
                known.add(identity(entry))
                kept.append(entry)
        self.store[key] = kept

    def _networks(self, touched: list[str], at: dt.datetime) -> list[_Component]:
        """The components of ``min_subjects`` or more in every ``window`` span holding ``at``.

        A span's component lies within the component of ``[at - window, at + window]``, so
        that wider walk says whether any span can hold a network and where spans may start.
        """
        window, least = self.config.window, self.config.min_subjects
        wide = [
            c
            for c in self._components(touched, at - window, at + window)
            if len(c.members) >= least
        ]
        starts = sorted({s for c in wide for s in c.starts if at - window <= s <= at})
        found: dict[tuple[frozenset[str], frozenset[str]], _Component] = {}
        for start in starts:
            for component in self._components(touched, start, start + window):
                if len(component.members) >= least:
                    found.setdefault((component.members, component.evidence), component)
        # a component inside another adds nothing to the network's case
        kept = [
            key
            for key in found
            if not any(
                key != other and key[0] <= other[0] and key[1] <= other[1] for other in found
            )
        ]
        return [found[key] for key in sorted(kept, key=lambda k: (sorted(k[0]), sorted(k[1])))]

    def _components(
        self, touched: list[str], low: dt.datetime, high: dt.datetime
    ) -> list[_Component]:
        """Components of the touched nodes over the edges lying within ``[low, high]``."""
        components, remaining = [], set(touched)
        while remaining:
            start = min(remaining)
            nodes, evidence, kinds, starts, queue = {start}, set(), set(), set(), [start]
            while queue:
                for edge in self.store.get(ADJ + queue.pop(), []):
                    lo = _at(edge["lo"])
                    if low <= lo and _at(edge["hi"]) <= high:
                        evidence.update(edge["e"])
                        kinds.add(edge["k"])
                        starts.add(lo)
                        if edge["n"] not in nodes:
                            nodes.add(edge["n"])
                            queue.append(edge["n"])
            remaining -= nodes
            components.append(
                _Component(
                    members=frozenset(filter(is_member, nodes)),
                    evidence=frozenset(evidence),
                    kinds=frozenset(kinds),
                    starts=frozenset(starts),
                )
            )
        return components

    def _resolve(self, network: str) -> str:
        seen = {network}
        while (target := self.store.get(ALIAS + network)) is not None and target not in seen:
            seen.add(target)
            network = target
        return network

    def _identify(self, members: frozenset[str]) -> tuple[str, list[str]]:
        """The component's network id (kept as it grows, smallest on a merge), what it absorbs."""
        ids = {net for m in members if (net := self.network_of(m)) is not None}
        survivor = min(ids) if ids else stable_id("N", min(members))
        absorbed = sorted(ids - {survivor})
        for network in absorbed:
            self.store[ALIAS + network] = survivor
        for member in sorted(members):
            if self.store.get(NET + member) != survivor:
                self.store[NET + member] = survivor
        return survivor, absorbed

    def _match(
        self, event: EnrichedEvent, record: dict[str, Any], component: _Component
    ) -> RuleMatch:
        network, absorbed = self._identify(component.members)
        records = [
            record if eid == event.event_id else self.store.get(EV + eid, {})
            for eid in sorted(component.evidence)
        ]
        records = [r for r in records if r]
        roles: dict[str, set[str]] = {m: set() for m in component.members}
        for r in records:
            for ref, role in r["s"].items():
                if ref in roles:
                    roles[ref].add(role)
        times = [_at(r["t"]) for r in records]
        first, last = min(times), max(times)
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
                MatchSubject(ref=m, roles=tuple(sorted(roles[m]))) for m in sorted(roles)
            ),
            addresses=tuple(sorted({r["a"] for r in records if r["a"] is not None})),
            evidence=tuple(sorted(component.evidence)),
            procedure_refs=tuple(sorted({r["p"] for r in records if r["p"] is not None})),
            sector=event.sector,
            trigger_event_id=event.event_id,
            occurred_at=event.occurred_at,
            first_event_at=first,
            last_event_at=last,
            reason=reason,
            absorbs=tuple(absorbed),
        )
