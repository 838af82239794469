"""Event logs keyed by subject reference or address key, bounded by a retention window.

A key's value is a JSON list of ``[occurred_at_us, event_id, event_json]`` sorted by
``(occurred_at_us, event_id)``: one small value per key, so an update decodes and rewrites that
key only, and a window query bisects it. ``event_json`` is ``EnrichedEvent.model_dump_json()``;
rebuilding with ``model_validate_json`` stays strict and measured as fast as any alternative.

A key keeps only the events no more than ``retention`` older than its newest event. The kept
set depends on the set of events recorded, not on their order, so replays and out-of-order
input end in the same value.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import MutableMapping
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any

from schemas.enriched import EnrichedEvent
from streams.state._common import Recorded, is_reserved, span_us, to_us

_at = itemgetter(0)


def _order(item: list[Any]) -> tuple[int, str]:
    return item[0], item[1]


class _EventLog:
    """The shared mechanics; the public classes name their key as the rules think of it."""

    def __init__(self, store: MutableMapping[str, Any], retention: timedelta) -> None:
        self._store = store
        self._retention_us = span_us(retention)
        #: How far back a caller's periodic ``sweep`` may cut: its watermark minus this.
        self.retention = retention

    def _record(self, key: str, event: EnrichedEvent, late: bool) -> Recorded:
        items: list[list[Any]] = self._store.get(key) or []
        event_id = event.event_id
        if any(item[1] == event_id for item in items):
            return Recorded(new=False, late=late)
        moment = to_us(event.occurred_at)
        horizon = max(moment, items[-1][0] if items else moment) - self._retention_us
        if moment < horizon:
            # Already outside this key's retention: it could join no rule window, keep nothing.
            return Recorded(new=False, late=late)
        position = bisect_right(items, (moment, event_id), key=_order)
        keep_from = bisect_left(items, horizon, key=_at)
        entry = [moment, event_id, event.model_dump_json()]
        # A fresh list assigned to the key: a Faust table records only assignments.
        self._store[key] = [*items[keep_from:position], entry, *items[position:]]
        return Recorded(new=True, late=late)

    def _events(self, key: str, start: datetime, end: datetime) -> list[EnrichedEvent]:
        items: list[list[Any]] = self._store.get(key) or []
        low = bisect_left(items, to_us(start), key=_at)
        high = bisect_right(items, to_us(end), key=_at)
        return [EnrichedEvent.model_validate_json(item[2]) for item in items[low:high]]

    def _purge(self, key: str, before: datetime) -> int:
        items: list[list[Any]] | None = self._store.get(key)
        if not items:
            return 0
        cut = bisect_left(items, to_us(before), key=_at)
        if cut == len(items):
            del self._store[key]
        elif cut:
            self._store[key] = items[cut:]
        return cut

    def sweep(self, before: datetime) -> int:
        """Purge every key (a periodic scan); emptied keys are deleted, reserved keys skipped."""
        keys = [key for key in self._store if not is_reserved(key)]
        return sum(self._purge(key, before) for key in keys)


class SubjectState(_EventLog):
    """Per subject reference: their narcotics events, for the subject and displacement rules.

    Windows: ``events`` is closed ``[start, end]``; ``purge`` drops ``occurred_at < before``.
    ``Recorded.new`` is False for a replay and for an event more than ``retention`` older
    than the subject's newest event (it is not kept).
    """

    def __init__(
        self, store: MutableMapping[str, Any], retention: timedelta = timedelta(days=97)
    ) -> None:
        super().__init__(store, retention)

    def record(self, ref: str, event: EnrichedEvent, late: bool = False) -> Recorded:
        return self._record(ref, event, late)

    def events(self, ref: str, start: datetime, end: datetime) -> list[EnrichedEvent]:
        """Events with occurred_at in ``[start, end]``, sorted by (occurred_at, event_id)."""
        return self._events(ref, start, end)

    def purge(self, ref: str, before: datetime) -> int:
        """Drop events with occurred_at < before; return how many."""
        return self._purge(ref, before)


class AddressState(_EventLog):
    """Per address key: its arrests, seizures and dealing-address reports.

    Same conventions as ``SubjectState``; ``around`` is closed ``[t - days, t + days]``.
    """

    def __init__(
        self, store: MutableMapping[str, Any], retention: timedelta = timedelta(days=97)
    ) -> None:
        super().__init__(store, retention)

    def record(self, key: str, event: EnrichedEvent, late: bool = False) -> Recorded:
        return self._record(key, event, late)

    def events(self, key: str, start: datetime, end: datetime) -> list[EnrichedEvent]:
        """Events with occurred_at in ``[start, end]``, sorted by (occurred_at, event_id)."""
        return self._events(key, start, end)

    def purge(self, key: str, before: datetime) -> int:
        """Drop events with occurred_at < before; return how many."""
        return self._purge(key, before)

    def around(self, key: str, t: datetime, days: int) -> list[EnrichedEvent]:
        """Events with occurred_at in ``[t - days, t + days]``, sorted like ``events``."""
        span = timedelta(days=days)
        return self._events(key, t - span, t + span)
