"""What a network's evidence says (``streams.network``): the roles its events give each subject,
their time span, addresses and procedures, folded over the linking events' records.

A network of hundreds of members grows by an event or two at a time, and each growth is
matched again with all its evidence: ``EvidenceMemo`` keeps each network's last fold and adds
only the events new to it, instead of reading thousands of records for every event. A fold is
of stored records that never change but by an erasure (``NetworkGraph.erase``, which strips
a subject's roles), so a fold is reused only under the same count of erasures as the store
holds: a worker that erased, or took the partition over from one that did, folds again.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

#: A linking event's record as stored (``streams.state._links.Linked``, or its encoded list).
Read = Callable[[str], Any]


@dataclass(frozen=True, slots=True)
class Evidence:
    """The fold of the linking events ``events``: every subject they name with its roles,
    the earliest and latest event times (µs), addresses and procedures."""

    events: frozenset[str]
    roles: dict[str, frozenset[str]]
    first: int | None
    last: int | None
    addresses: frozenset[str]
    procedures: frozenset[str]


NOTHING = Evidence(frozenset(), {}, None, None, frozenset(), frozenset())


def fold(base: Evidence, events: Iterable[str], read: Read) -> Evidence:
    """``base`` with the records of ``events`` (ids it does not hold) added; an event without
    a record adds nothing but its id."""
    ids = set(base.events)
    roles = dict(base.roles)
    times: list[int] = [t for t in (base.first, base.last) if t is not None]
    addresses: set[str | None] = set(base.addresses)
    procedures: set[str | None] = set(base.procedures)
    for eid in events:
        ids.add(eid)
        linked = read(eid)
        if linked is None:
            continue
        at, its_roles, address, procedure, _matches = linked  # a Linked, or as encoded
        times.append(at)
        for ref, role in its_roles.items():
            held = roles.get(ref)
            if held is None or role not in held:
                roles[ref] = frozenset((role,)) if held is None else held | {role}
        addresses.add(address)
        procedures.add(procedure)
    return Evidence(
        events=frozenset(ids),
        roles=roles,
        first=min(times, default=None),
        last=max(times, default=None),
        addresses=frozenset(a for a in addresses if a is not None),
        procedures=frozenset(p for p in procedures if p is not None),
    )


class EvidenceMemo:
    """The last fold of each network's evidence, grown by what is new to it."""

    def __init__(self, capacity: int = 4096) -> None:
        self.capacity = capacity
        self._folds: dict[str, tuple[int, Evidence]] = {}

    def of(self, network: str, events: frozenset[str], erasures: int, read: Read) -> Evidence:
        """The fold of ``events``, the evidence of ``network``'s component, after ``erasures``
        erasures in the store."""
        known = self._folds.get(network)
        if known is not None and known[0] == erasures and known[1].events <= events:
            base = known[1]
            evidence = fold(base, events - base.events, read) if events != base.events else base
        else:
            evidence = fold(NOTHING, events, read)
        if len(self._folds) >= self.capacity and network not in self._folds:
            self._folds.clear()
        self._folds[network] = (erasures, evidence)
        return evidence

    def clear(self) -> None:
        self._folds.clear()
