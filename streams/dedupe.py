"""Deduplication on ``event_id`` that is safe under at-least-once delivery.

A redelivery with the same payload is dropped and counted; another payload under a known
``event_id`` is a conflict. But the *same record* read again after a crash (same topic,
partition and offset) is a replay, not a duplicate: it is forwarded again, because its first
forward may never have reached the broker. Downstream stages are idempotent on ``event_id``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

from streams.eventtime import Verdict
from streams.state._common import from_us
from streams.state.keyspace import ENTRY, is_reserved


class Decision(StrEnum):
    FIRST = "first"  # never seen: forward
    REPLAY = "replay"  # the same record again (crash recovery): forward again
    DUPLICATE = "duplicate"  # same payload from another record: drop, count
    CONFLICT = "conflict"  # another payload under a known event_id: dead-letter


Position = tuple[str, int, int]
#: An event id's entry key, and back (``keyspace.ENTRY``: no id takes a reserved key's place).
entry_key = ENTRY.key
event_id_of = ENTRY.parse


Judge = Callable[[], Verdict]


class Entry(NamedTuple):
    """What is kept per event id (under ``keyspace.ENTRY``), stored as a JSON list: the payload
    fingerprint, the record that first carried it, its time (epoch seconds) and, when the
    source judged it, its verdict (late, and the feed's high mark in µs)."""

    fingerprint: str
    position: Position
    occurred_s: int
    late: bool | None = None
    high: int | None = None

    @classmethod
    def decode(cls, value: list[Any]) -> Entry:
        fingerprint, topic, partition, offset, occurred_s, late, high = value
        return cls(fingerprint, (topic, partition, offset), occurred_s, late, high)

    def encode(self) -> list[Any]:
        return [self.fingerprint, *self.position, self.occurred_s, self.late, self.high]

    @property
    def verdict(self) -> Verdict | None:
        return None if self.high is None else Verdict(bool(self.late), from_us(self.high))


@dataclass(frozen=True)
class Admitted:
    decision: Decision
    #: The source's verdict on a record forwarded (FIRST, or the same one again on a REPLAY).
    verdict: Verdict | None = None


class Deduplicator:
    """Remembers, per event_id, the payload fingerprint and the record that first carried it,
    and the source's verdict on it (``streams.eventtime``), so a replay is judged alike."""

    def __init__(self, store: MutableMapping[str, Any]) -> None:
        self.store = store

    def admit(
        self,
        event_id: str,
        fingerprint: str,
        position: Position,
        occurred_at: dt.datetime,
        judge: Judge | None = None,
    ) -> Admitted:
        """Classify a record; ``judge`` runs only for a record never seen before."""
        key = entry_key(event_id)
        stored = self.store.get(key)
        if stored is None:
            verdict = None if judge is None else judge()
            occurred_s = int(occurred_at.timestamp())
            if verdict is None:
                entry = Entry(fingerprint, position, occurred_s)
            else:
                entry = Entry(fingerprint, position, occurred_s, verdict.late, verdict.high_us)
            self.store[key] = entry.encode()
            return Admitted(Decision.FIRST, verdict)
        seen = Entry.decode(stored)
        if seen.fingerprint != fingerprint:
            return Admitted(Decision.CONFLICT)
        if seen.position == position:
            return Admitted(Decision.REPLAY, seen.verdict)
        return Admitted(Decision.DUPLICATE)

    def sweep(self, before: dt.datetime) -> int:
        """Forget event ids that occurred before ``before``; returns how many."""
        cutoff = before.timestamp()
        stale = [
            key
            for key, value in list(self.store.items())
            if not is_reserved(key) and Entry.decode(value).occurred_s < cutoff
        ]
        for key in stale:
            del self.store[key]
        return len(stale)
