"""Deduplication on ``event_id`` that is safe under at-least-once delivery.

A redelivery with the same payload is dropped and counted; another payload under a known
``event_id`` is a conflict. But the *same record* read again after a crash (same topic,
partition and offset) is a replay, not a duplicate: it is forwarded again, because its first
forward may never have reached the broker. Downstream stages are idempotent on ``event_id``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import MutableMapping
from enum import StrEnum
from typing import Any


class Decision(StrEnum):
    FIRST = "first"  # never seen: forward
    REPLAY = "replay"  # the same record again (crash recovery): forward again
    DUPLICATE = "duplicate"  # same payload from another record: drop, count
    CONFLICT = "conflict"  # another payload under a known event_id: dead-letter


Position = tuple[str, int, int]


class Deduplicator:
    """Remembers, per event_id, the payload fingerprint and the record that first carried it."""

    def __init__(self, store: MutableMapping[str, Any]) -> None:
        self.store = store

    def check(
        self, event_id: str, fingerprint: str, position: Position, occurred_at: dt.datetime
    ) -> Decision:
        seen = self.store.get(event_id)
        if seen is None:
            self.store[event_id] = {
                "fp": fingerprint,
                "pos": list(position),
                "t": int(occurred_at.timestamp()),
            }
            return Decision.FIRST
        if seen["fp"] != fingerprint:
            return Decision.CONFLICT
        if tuple(seen["pos"]) == position:
            return Decision.REPLAY
        return Decision.DUPLICATE

    def sweep(self, before: dt.datetime) -> int:
        """Forget event ids that occurred before ``before``; returns how many."""
        cutoff = before.timestamp()
        stale = [k for k, v in list(self.store.items()) if v["t"] < cutoff]
        for key in stale:
            del self.store[key]
        return len(stale)
