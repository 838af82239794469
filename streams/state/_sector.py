"""Per-sector narcotics event counts by hour, for the surge rule.

Key ``{sector}|{hour}`` (``keyspace.SECTOR_HOUR``), ``hour`` the hour's start in epoch seconds;
value a JSON object ``{event_id: microseconds into the hour}``. Its size is the hour's count,
its keys make a replay a no-op, and the offsets let a window cut an hour exactly. An update
touches one small value; ``trailing`` reads the at most 193 hours that eight days can straddle.

Windows: ``count`` is half-open ``[start, end)``. ``trailing(t)`` looks back from the event at
``t``, so it includes ``t``: its windows are ``(t - 24h, t]`` and the seven days before it,
``(t - (k+1)·24h, t - k·24h]``. Event times are whole microseconds, so ``(a, b]`` is exactly
``[a + 1 µs, b + 1 µs)``: ``trailing(t)[0] == count(t - 24h + 1 µs, t + 1 µs)``, and the tests
hold both to a brute-force count.
"""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from datetime import datetime, timedelta
from itertools import accumulate, repeat
from typing import Any

from schemas.enriched import EnrichedEvent
from streams.state._common import NEW, REPLAY, Recorded, from_us, to_us
from streams.state.keyspace import SECTOR_HOUR, is_reserved

_HOUR = 3_600_000_000
_DAY = 24 * _HOUR
_DAYS_BEFORE = 7
#: An hour with no events, as ``trailing_many`` reads it (never written to).
_NO_EVENTS: dict[str, int] = {}


def _build_keys(sector: str, hours: range) -> list[str]:
    """The store keys of a sector's hours (hour numbers since the epoch), built in one go."""
    prefix = SECTOR_HOUR.key(sector, "")
    return list(map(prefix.__add__, map(str, range(hours.start * 3600, hours.stop * 3600, 3600))))


class _HourKeys:
    """The keys of each sector's hours, sliced from a run of ``RUN`` hours built at once: a
    surge reads the 200 hours behind every event, mostly the same ones as the event before."""

    RUN = 1024

    def __init__(self) -> None:
        self._runs: dict[str, tuple[int, list[str]]] = {}

    def __call__(self, sector: str, hours: range) -> list[str]:
        first, keys = self._runs.get(sector, (0, []))
        if not first <= hours.start <= hours.stop <= first + len(keys):
            first = hours.start - self.RUN // 4
            span = range(first, max(hours.stop, first + self.RUN))
            self._runs[sector] = (first, keys := _build_keys(sector, span))
        return keys[hours.start - first : hours.stop - first]


class SectorState:
    """Per sector: narcotics event counts per hour, trailing eight days and more."""

    def __init__(
        self, store: MutableMapping[str, Any], retention: timedelta = timedelta(days=15)
    ) -> None:
        self._store = store
        #: How far back a caller's periodic ``sweep`` may cut: its watermark minus this.
        self.retention = retention
        self._keys = _HourKeys()

    def record(self, sector: str, event: EnrichedEvent) -> Recorded:
        """Count the event in its hour, once per event_id."""
        moment = to_us(event.occurred_at)
        hour = moment // _HOUR
        (key,) = self._keys(sector, range(hour, hour + 1))
        seen: dict[str, int] = self._store.get(key) or {}
        if event.event_id in seen:
            return REPLAY
        # A fresh dict assigned to the key: a Faust table records only assignments.
        self._store[key] = {**seen, event.event_id: moment - hour * _HOUR}
        return NEW

    def count(self, sector: str, start: datetime, end: datetime) -> int:
        """Events with occurred_at in ``[start, end)``; reads one key per hour of the range."""
        low, high = to_us(start), to_us(end)
        total = 0
        get = self._store.get
        hours = range(low // _HOUR, -(-high // _HOUR))
        for hour, key in zip(hours, self._keys(sector, hours), strict=True):
            seen: dict[str, int] | None = get(key)
            if not seen:
                continue
            first = hour * _HOUR
            if low <= first and first + _HOUR <= high:
                total += len(seen)
            else:
                total += sum(low <= first + offset < high for offset in seen.values())
        return total

    def moments(self, sector: str, after: datetime, before: datetime) -> list[tuple[datetime, str]]:
        """``(occurred_at, event_id)`` of the events in ``(after, before)``, in that order."""
        low, high = to_us(after), to_us(before)
        hours = range(low // _HOUR, -(-high // _HOUR))
        found = []
        for hour, key in zip(hours, self._keys(sector, hours), strict=True):
            for event_id, offset in (self._store.get(key) or {}).items():
                moment = hour * _HOUR + offset
                if low < moment < high:
                    found.append((moment, event_id))
        return [(from_us(moment), event_id) for moment, event_id in sorted(found)]

    def trailing(self, sector: str, t: datetime) -> tuple[int, list[int]]:
        """Count in ``(t - 24h, t]``, and the counts of each of the 7 days before, oldest first.

        Day ``k`` is ``[end - (k+1)·24h, end - k·24h)`` with ``end = t + 1 µs``.
        """
        return self.trailing_many(sector, [t])[0]

    def trailing_many(self, sector: str, ends: Sequence[datetime]) -> list[tuple[int, list[int]]]:
        """``trailing`` at each of ``ends``, reading each hour once.

        A surge judges every window holding an event: in a busy sector the windows ending on
        each of the next 24 h's events, each ``trailing`` reading 193 hours. Here the hours
        from eight days before the first end to the last are read once, with a running total
        of their counts; the events before an instant are the total up to its hour plus those
        of its hour before it.
        """
        if not ends:
            return []
        bounds = [to_us(t) + 1 for t in ends]  # (a, b] is [a + 1 µs, b + 1 µs)
        first = (min(bounds) - (_DAYS_BEFORE + 1) * _DAY) // _HOUR
        hours = range(first, -(-max(bounds) // _HOUR))  # the hour of an end at its start: not read
        keys = self._keys(sector, hours)
        buckets: list[dict[str, int]] = list(map(self._store.get, keys, repeat(_NO_EVENTS)))
        before_hour = list(accumulate(map(len, buckets), initial=0))

        def before(moment: int) -> int:
            hour, cut = divmod(moment, _HOUR)
            index = hour - first
            within = sum(offset < cut for offset in buckets[index].values()) if cut else 0
            return before_hour[index] + within

        found = []
        for end in bounds:
            edges = [before(end - k * _DAY) for k in range(_DAYS_BEFORE + 2)]
            per_day = [edges[k] - edges[k + 1] for k in range(_DAYS_BEFORE + 1)]
            found.append((per_day[0], per_day[_DAYS_BEFORE:0:-1]))
        return found

    def sweep(self, before: datetime) -> int:
        """Drop events with occurred_at < before from every sector (a periodic scan)."""
        cut = to_us(before)
        dropped = 0
        for key in [key for key in self._store if not is_reserved(key)]:
            hour_start = int(SECTOR_HOUR.parse(key)[1][0]) * 1_000_000
            if hour_start + _HOUR <= cut:
                dropped += len(self._store[key])
                del self._store[key]
            elif hour_start < cut:
                seen: dict[str, int] = self._store[key]
                kept = {eid: off for eid, off in seen.items() if hour_start + off >= cut}
                dropped += len(seen) - len(kept)
                if kept:
                    self._store[key] = kept
                else:
                    del self._store[key]
        return dropped
