"""Per-partition event-time watermark: which events are late."""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import datetime, timedelta
from typing import Any

from streams.state._common import from_us, span_us, to_us

_PREFIX = "__wm__:"


class Watermark:
    """Per input partition: highest event time seen minus the lateness bound (default 7 days).

    The store keeps the highest event time seen (epoch microseconds) under ``__wm__:{partition}``,
    not the watermark itself, so a changed lateness bound applies from the next restart. An event
    is late when ``occurred_at < watermark`` (strictly): exactly ``lateness`` behind is on time.
    """

    def __init__(
        self, store: MutableMapping[str, Any], lateness: timedelta = timedelta(days=7)
    ) -> None:
        self._store = store
        self._lateness_us = span_us(lateness)

    def observe(self, partition: int, occurred_at: datetime) -> bool:
        """Advance the watermark; True if the event is late (judged before advancing)."""
        key = f"{_PREFIX}{partition}"
        moment = to_us(occurred_at)
        highest = self._store.get(key)
        if highest is None or moment > highest:
            self._store[key] = moment  # written only when it advances: no changelog chatter
        return highest is not None and moment < highest - self._lateness_us

    def current(self, partition: int) -> datetime | None:
        """The watermark, or None before the partition's first event."""
        highest = self._store.get(f"{_PREFIX}{partition}")
        return None if highest is None else from_us(highest - self._lateness_us)
