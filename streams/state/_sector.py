"""Per-sector narcotics event counts by hour, for the surge rule.

Key ``{sector}|{hour}`` (``keyspace.SECTOR_HOUR``), ``hour`` the hour's start in epoch seconds;
value a JSON object ``{event_id: microseconds into the hour}``. Its size is the hour's count,
its keys make a replay a no-op, and the offsets let a window cut an hour exactly. An update
touches one small value; ``trailing`` and ``surge_windows`` read the at most 193 hours that
eight days can straddle.

Windows: ``count`` is half-open ``[start, end)``. ``trailing(t)`` looks back from the event at
``t``, so it includes ``t``: its windows are ``(t - 24h, t]`` and the seven days before it,
``(t - (k+1)·24h, t - k·24h]``. Event times are whole microseconds, so ``(a, b]`` is exactly
``[a + 1 µs, b + 1 µs)``: ``trailing(t)[0] == count(t - 24h + 1 µs, t + 1 µs)``, and the tests
hold both to a brute-force count.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import MutableMapping, Sequence
from datetime import datetime, timedelta
from itertools import accumulate, repeat
from typing import Any, NamedTuple

from schemas.enriched import EnrichedEvent
from streams.state._common import NEW, REPLAY, Recorded, from_us, to_us
from streams.state.keyspace import SECTOR_HOUR, is_reserved

_HOUR = 3_600_000_000
_DAY = 24 * _HOUR
#: The days before a surge's 24 h that make its baseline.
BASELINE_DAYS = 7
#: An hour with no events, as ``_edges`` reads it (never written to).
_NO_EVENTS: dict[str, int] = {}


class SurgeWindow(NamedTuple):
    """Narcotics events in the 24 h ``(t - 24h, t]`` and in the ``BASELINE_DAYS`` days
    before it."""

    day: int
    baseline: int


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
        """Events with occurred_at in ``[start, end)``; reads one key per hour of the range,
        all at once, and looks into the first and last hours alone."""
        low, high = to_us(start), to_us(end)
        if high <= low:
            return 0
        hours = range(low // _HOUR, -(-high // _HOUR))
        buckets = self._buckets(sector, hours)
        total = sum(map(len, buckets))
        first, last = hours.start * _HOUR, (hours.stop - 1) * _HOUR
        if low > first:  # the first hour's events before ``start``
            total -= sum(first + offset < low for offset in buckets[0].values())
        if high < last + _HOUR:  # the last hour's events from ``end`` on
            total -= sum(last + offset >= high for offset in buckets[-1].values())
        return total

    def moments(self, sector: str, after: datetime, before: datetime) -> list[tuple[datetime, str]]:
        """``(occurred_at, event_id)`` of the events in ``(after, before)``, in that order."""
        low, high = to_us(after), to_us(before)
        hours = range(low // _HOUR, -(-high // _HOUR))
        found = []
        for hour, seen in zip(hours, self._buckets(sector, hours), strict=True):
            for event_id, offset in seen.items():
                moment = hour * _HOUR + offset
                if low < moment < high:
                    found.append((moment, event_id))
        return [(from_us(moment), event_id) for moment, event_id in sorted(found)]

    def trailing(self, sector: str, t: datetime) -> tuple[int, list[int]]:
        """Count in ``(t - 24h, t]``, and the counts of each of the 7 days before, oldest first.

        Day ``k`` is ``[end - (k+1)·24h, end - k·24h)`` with ``end = t + 1 µs``.
        """
        (edges,) = self._edges(sector, [t], range(BASELINE_DAYS + 2))
        per_day = [edges[k] - edges[k + 1] for k in range(BASELINE_DAYS + 1)]
        return per_day[0], per_day[BASELINE_DAYS:0:-1]

    def surge_windows(self, sector: str, ends: Sequence[datetime]) -> list[SurgeWindow]:
        """At each of ``ends``: the count of ``trailing``'s 24 h and the total of its 7 days
        before, all a surge decides on; each end costs three bisections, not seven days."""
        days = (0, 1, BASELINE_DAYS + 1)
        return [SurgeWindow(a - b, b - c) for a, b, c in self._edges(sector, ends, days)]

    def _edges(self, sector: str, ends: Sequence[datetime], days: Sequence[int]) -> list[list[int]]:
        """For each ``t`` of ``ends``, the events before ``t + 1 µs - k·24h`` for each ``k`` of
        ``days``, counted from eight days before the first end, reading each hour once.

        A surge judges every window holding an event: in a busy sector the windows ending on
        each of the next 24 h's events, each reading 193 hours. Here the hours from eight days
        before the first end to the last are read once, with a running total of their counts;
        the events before an instant are the total up to its hour plus those of its hour before
        it, found by bisection in the hour's offsets, sorted once per call.
        """
        if not ends:
            return []
        bounds = [to_us(t) + 1 for t in ends]  # (a, b] is [a + 1 µs, b + 1 µs)
        first = (min(bounds) - (BASELINE_DAYS + 1) * _DAY) // _HOUR
        hours = range(first, -(-max(bounds) // _HOUR))  # the hour of an end at its start: not read
        buckets = self._buckets(sector, hours)
        before_hour = list(accumulate(map(len, buckets), initial=0))
        offsets: dict[int, list[int]] = {}

        def before(moment: int) -> int:
            hour, cut = divmod(moment, _HOUR)
            index = hour - first
            if not cut or not buckets[index]:
                return before_hour[index]
            if (sorted_offsets := offsets.get(index)) is None:
                sorted_offsets = offsets[index] = sorted(buckets[index].values())
            return before_hour[index] + bisect_left(sorted_offsets, cut)

        return [[before(end - k * _DAY) for k in days] for end in bounds]

    def _buckets(self, sector: str, hours: range) -> list[dict[str, int]]:
        """Each hour's ``{event_id: offset}`` (empty for an hour without events), read at
        once."""
        return list(map(self._store.get, self._keys(sector, hours), repeat(_NO_EVENTS)))

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
