"""What the rules read from the correlation state, as protocols: any store that answers will do.

``streams.state`` implements them on Faust tables; tests use a list in memory. Every rule
expects the triggering event to be recorded in the state before it is evaluated.

A window read answers ``PastEvent``s: the few fields the rules read of a stored event. An
``EnrichedEvent`` is one; the state answers a small record instead (``streams.state``), so a
history read never builds the full model.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Protocol

from streams.state import SurgeWindow


class PastParty(Protocol):
    """A subject of a past event, as the rules read it."""

    @property
    def ref(self) -> str: ...

    @property
    def role(self) -> str: ...

    @property
    def minor(self) -> bool | None: ...


class PastEvent(Protocol):
    """A recorded event, as the window rules read it (and a ``RuleMatch`` cites it)."""

    @property
    def event_id(self) -> str: ...

    @property
    def kind(self) -> str: ...

    @property
    def occurred_at(self) -> datetime: ...

    @property
    def sector(self) -> str | None: ...

    @property
    def address_key(self) -> str | None: ...

    @property
    def procedure_ref(self) -> str | None: ...

    @property
    def narcotics(self) -> bool: ...

    @property
    def subjects(self) -> Sequence[PastParty]: ...


class SubjectHistory(Protocol):
    def events(self, ref: str, start: datetime, end: datetime) -> Sequence[PastEvent]:
        """The subject's events with ``occurred_at`` in ``[start, end]``, by (time, event_id)."""
        ...


class AddressHistory(Protocol):
    def around(self, key: str, t: datetime, days: int) -> Sequence[PastEvent]:
        """The address key's events with ``occurred_at`` in ``[t - days, t + days]``."""
        ...


class SectorCounts(Protocol):
    def surge_windows(self, sector: str, ends: Sequence[datetime]) -> list[SurgeWindow]:
        """At each of ``ends`` (``t``): narcotics events in ``(t - 24h, t]``, and in the
        ``BASELINE_DAYS`` days before it, ``(t - 8·24h, t - 24h]``."""
        ...

    def count(self, sector: str, start: datetime, end: datetime) -> int:
        """Narcotics events in ``[start, end)``."""
        ...

    def moments(self, sector: str, after: datetime, before: datetime) -> list[tuple[datetime, str]]:
        """``(occurred_at, event_id)`` of the events in ``(after, before)``, in that order."""
        ...
