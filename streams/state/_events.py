"""Event logs keyed by subject reference or address key, bounded by a retention window.

A key's events are split into week buckets: ``{key}|{week}`` holds a JSON list of
``[occurred_at_us, event_id, event_json]`` sorted by ``(occurred_at_us, event_id)`` for the
events of that week (weeks counted from the epoch), and ``{key}`` itself holds the newest
``occurred_at_us`` recorded for the key. An update reads and rewrites one week, so its cost and
the size of the value written (a changelog record, at most 1 MB on a default broker) depend on
the events of one key in one week, not on all it holds: one value per key grew with a busy
address until its changelog record would no longer fit. A window query reads the weeks it
spans (a 90-day window: 14 of them). ``event_json`` is ``EnrichedEvent.model_dump_json()``;
rebuilding with ``model_validate_json`` stays strict and measured as fast as any alternative.

A key keeps only the events no more than ``retention`` older than its newest event: when the
newest moves on, the weeks left wholly behind are deleted and the week across the horizon is
trimmed. The kept set depends on the set of events recorded, not on their order, so replays
and out-of-order input end in the same values.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import MutableMapping
from datetime import datetime, timedelta
from functools import lru_cache
from operator import itemgetter
from typing import Any

from schemas.enriched import EnrichedEvent
from streams.state._common import Recorded, is_reserved, span_us, to_us

_at = itemgetter(0)
WEEK_US = span_us(timedelta(days=7))
_SEPARATOR = "|"


@lru_cache(maxsize=8192)
def _decoded(event_json: str) -> EnrichedEvent:
    """A stored event, decoded once while it stays in use: the windows of a busy key overlap
    from one query to the next, and decoding dominated their cost (``bench_state.py``). The
    model is frozen and the rules never change the lists it holds, so sharing it is safe."""
    return EnrichedEvent.model_validate_json(event_json)


def _order(item: list[Any]) -> tuple[int, str]:
    return item[0], item[1]


def _week_key(key: str, week: int) -> str:
    return f"{key}{_SEPARATOR}{week}"


class _EventLog:
    """The shared mechanics; the public classes name their key as the rules think of it."""

    def __init__(self, store: MutableMapping[str, Any], retention: timedelta) -> None:
        self._store = store
        self._retention_us = span_us(retention)
        #: How far back a caller's periodic ``sweep`` may cut: its watermark minus this.
        self.retention = retention

    def _weeks(self, key: str, low: int, high: int) -> list[tuple[str, list[list[Any]]]]:
        """The stored weeks of ``key`` that hold moments in ``[low, high]`` (microseconds)."""
        found = []
        for week in range(low // WEEK_US, high // WEEK_US + 1):
            name = _week_key(key, week)
            items = self._store.get(name)
            if items:
                found.append((name, items))
        return found

    def _record(self, key: str, event: EnrichedEvent, late: bool) -> Recorded:
        moment = to_us(event.occurred_at)
        newest: int | None = self._store.get(key)
        top = moment if newest is None else max(newest, moment)
        horizon = top - self._retention_us
        if moment < horizon:
            # Already outside this key's retention: it could join no rule window, keep nothing.
            return Recorded(new=False, late=late)
        name = _week_key(key, moment // WEEK_US)
        items: list[list[Any]] = self._store.get(name) or []
        event_id = event.event_id
        if any(item[1] == event_id for item in items):
            return Recorded(new=False, late=late)
        position = bisect_right(items, (moment, event_id), key=_order)
        # A fresh list assigned to the key: a Faust table records only assignments.
        self._store[name] = [*items[:position], [moment, event_id, event.model_dump_json()],
                             *items[position:]]  # fmt: skip
        if newest is None or moment > newest:
            self._store[key] = moment
            if newest is not None:
                self._cut(key, newest - self._retention_us, horizon)
        return Recorded(new=True, late=late)

    def _cut(self, key: str, since: int, before: int) -> int:
        """Drop the events of ``key`` older than ``before``, all of them in weeks from that of
        ``since`` on; how many."""
        dropped = 0
        for name, items in self._weeks(key, since, before):
            cut = bisect_left(items, before, key=_at)
            if cut == len(items):
                del self._store[name]
            elif cut:
                self._store[name] = items[cut:]
            dropped += cut
        return dropped

    def _events(self, key: str, start: datetime, end: datetime) -> list[EnrichedEvent]:
        start_us, end_us = to_us(start), to_us(end)
        newest: int | None = self._store.get(key)
        if newest is None:
            return []
        low, high = max(start_us, newest - self._retention_us), min(end_us, newest)
        return [
            _decoded(item[2])
            for _, items in self._weeks(key, low, high)
            for item in items[bisect_left(items, low, key=_at) : bisect_right(items, high, key=_at)]
        ]

    def _purge(self, key: str, before: datetime) -> int:
        newest: int | None = self._store.get(key)
        if newest is None:
            return 0
        cutoff = to_us(before)
        dropped = self._cut(key, newest - self._retention_us, min(cutoff, newest + 1))
        if newest < cutoff:
            del self._store[key]
        return dropped

    def sweep(self, before: datetime) -> int:
        """Purge every key (a periodic scan); emptied keys are deleted, reserved keys skipped."""
        keys = {k.split(_SEPARATOR, 1)[0] for k in self._store if not is_reserved(k)}
        return sum(self._purge(key, before) for key in sorted(keys))


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
