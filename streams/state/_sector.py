"""Per-sector narcotics event counts by hour, for the surge rule.

Key ``f"{sector}|{hour}"`` where ``hour`` is the hour's start in epoch seconds; value a JSON
object ``{event_id: microseconds into the hour}``. Its size is the hour's count, its keys make a
replay a no-op, and the offsets let a window cut an hour exactly. An update touches one small
value; ``trailing`` reads the at most 193 hours that eight days can straddle.

Windows: ``count`` is half-open ``[start, end)``. ``trailing(t)`` looks back from the event at
``t``, so it includes ``t``: its windows are ``(t - 24h, t]`` and the seven days before it,
``(t - (k+1)·24h, t - k·24h]``. Event times are whole microseconds, so ``(a, b]`` is exactly
``[a + 1 µs, b + 1 µs)``: ``trailing(t)[0] == count(t - 24h + 1 µs, t + 1 µs)``, and the tests
hold both to a brute-force count.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableMapping
from datetime import datetime, timedelta
from typing import Any

from schemas.enriched import EnrichedEvent
from streams.state._common import Recorded, from_us, is_reserved, to_us

_HOUR = 3_600_000_000
_DAYS_BEFORE = 7


def _keys(sector: str, hours: Iterable[int]) -> list[str]:
    """The store keys of a sector's hours (hour numbers since the epoch), built in one go."""
    prefix = f"{sector}|"
    return [prefix + str(hour * 3600) for hour in hours]


class SectorState:
    """Per sector: narcotics event counts per hour, trailing eight days and more."""

    def __init__(
        self, store: MutableMapping[str, Any], retention: timedelta = timedelta(days=15)
    ) -> None:
        self._store = store
        #: How far back a caller's periodic ``sweep`` may cut: its watermark minus this.
        self.retention = retention

    def record(self, sector: str, event: EnrichedEvent) -> Recorded:
        """Count the event in its hour, once per event_id."""
        moment = to_us(event.occurred_at)
        hour = moment // _HOUR
        (key,) = _keys(sector, (hour,))
        seen: dict[str, int] = self._store.get(key) or {}
        if event.event_id in seen:
            return Recorded(new=False)
        # A fresh dict assigned to the key: a Faust table records only assignments.
        self._store[key] = {**seen, event.event_id: moment - hour * _HOUR}
        return Recorded(new=True)

    def count(self, sector: str, start: datetime, end: datetime) -> int:
        """Events with occurred_at in ``[start, end)``; reads one key per hour of the range."""
        low, high = to_us(start), to_us(end)
        total = 0
        get = self._store.get
        hours = range(low // _HOUR, -(-high // _HOUR))
        for hour, key in zip(hours, _keys(sector, hours), strict=True):
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
        for hour, key in zip(hours, _keys(sector, hours), strict=True):
            for event_id, offset in (self._store.get(key) or {}).items():
                moment = hour * _HOUR + offset
                if low < moment < high:
                    found.append((moment, event_id))
        return [(from_us(moment), event_id) for moment, event_id in sorted(found)]

    def trailing(self, sector: str, t: datetime) -> tuple[int, list[int]]:
        """Count in ``(t - 24h, t]``, and the counts of each of the 7 days before, oldest first.

        Day ``k`` is ``[end - (k+1)·24h, end - k·24h)`` with ``end = t + 1 µs``. Day boundaries
        all fall ``cut`` into their hour, so an hour ``back`` hours before ``end``'s lies wholly
        in day ``back // 24``, except every 24th, which the cut splits between two days.
        """
        end = to_us(t) + 1
        cut = end % _HOUR
        top = end // _HOUR
        days = [0] * (_DAYS_BEFORE + 2)  # the last one takes what falls before the window
        get = self._store.get
        # when cut == 0 the hour holding ``end`` lies wholly after the window: not read
        backs = range(0 if cut else 1, (_DAYS_BEFORE + 1) * 24 + 1)
        for back, key in zip(backs, _keys(sector, (top - back for back in backs)), strict=True):
            seen: dict[str, int] | None = get(key)
            if not seen:
                continue
            day, within = divmod(back, 24)
            if within:
                days[day] += len(seen)
                continue
            below = sum(offset < cut for offset in seen.values())
            days[day] += below
            if day:  # at or after the cut: the next day towards ``end`` (none after day 0)
                days[day - 1] += len(seen) - below
        return days[0], days[_DAYS_BEFORE:0:-1]

    def sweep(self, before: datetime) -> int:
        """Drop events with occurred_at < before from every sector (a periodic scan)."""
        cut = to_us(before)
        dropped = 0
        for key in [key for key in self._store if not is_reserved(key)]:
            hour_start = int(key.rpartition("|")[2]) * 1_000_000
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
