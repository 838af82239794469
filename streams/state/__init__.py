"""Event-time windowed state on plain key-value stores (issue 3).

Faust's windowed tables expire on wall-clock time with no grace period: wrong for 30-90 day
windows and for replays of history. These classes keep event-time windows themselves on any
``MutableMapping[str, Any]`` of JSON values: a Faust table in production (which records a change
only on ``store[key] = value``, so every update assigns a fresh value), a dict in tests. Nothing
here imports Faust.

Give each state class its own store. Feed progress (``streams.eventtime``) may share one:
its keys start with ``keyspace.RESERVED``, which sweeps skip. Every key family is declared in
``streams.state.keyspace``. Boundaries: ``events``/``around`` closed,
``purge``/``sweep`` drop ``occurred_at < before``, ``SectorState.count`` half-open
``[start, end)``, ``trailing`` ``(t - 24h, t]`` (see ``_sector``). Naive datetimes are
refused with ``ValueError``. Window queries answer ``StoredEvent`` records, not models.
"""

from streams.state._common import Recorded
from streams.state._events import AddressState, Party, StoredEvent, SubjectState
from streams.state._sector import BASELINE_DAYS, SectorState, SurgeWindow

__all__ = [
    "BASELINE_DAYS",
    "AddressState",
    "Party",
    "Recorded",
    "SectorState",
    "StoredEvent",
    "SubjectState",
    "SurgeWindow",
]
