"""What the rules read from the correlation state, as protocols: any store that answers will do.

``streams.state`` implements them on Faust tables; tests use a list in memory. Every rule
expects the triggering event to be recorded in the state before it is evaluated.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from schemas.enriched import EnrichedEvent


class SubjectHistory(Protocol):
    def events(self, ref: str, start: datetime, end: datetime) -> list[EnrichedEvent]:
        """The subject's events with ``occurred_at`` in ``[start, end]``, by (time, event_id)."""
        ...


class AddressHistory(Protocol):
    def around(self, key: str, t: datetime, days: int) -> list[EnrichedEvent]:
        """The address key's events with ``occurred_at`` in ``[t - days, t + days]``."""
        ...


class SectorCounts(Protocol):
    def trailing_many(self, sector: str, ends: Sequence[datetime]) -> list[tuple[int, list[int]]]:
        """At each of ``ends`` (``t``): narcotics events in ``(t - 24h, t]``, and per day for the
        7 days before, oldest first."""
        ...

    def count(self, sector: str, start: datetime, end: datetime) -> int:
        """Narcotics events in ``[start, end)``."""
        ...

    def moments(self, sector: str, after: datetime, before: datetime) -> list[tuple[datetime, str]]:
        """``(occurred_at, event_id)`` of the events in ``(after, before)``, in that order."""
        ...
