"""Shared pieces of the state classes: the record result, exact event-time arithmetic."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)


@dataclass(frozen=True)
class Recorded:
    """What ``record`` did: whether the event was new to this key (not a replay)."""

    #: False when this event_id was already recorded for this key (a replay).
    new: bool


#: The two results, shared (they are immutable): ``record`` runs for every event and key.
NEW = Recorded(new=True)
REPLAY = Recorded(new=False)


def to_us(moment: datetime) -> int:
    """Microseconds since the epoch: integers compare exactly and survive JSON unchanged."""
    # A UTC moment (what the models hold) is aware: ``utcoffset()`` would cost more than the rest.
    if moment.tzinfo is not UTC and moment.utcoffset() is None:
        raise ValueError(f"naive datetime {moment!r}: state works on aware event times only")
    return (moment - _EPOCH) // _MICROSECOND


def span_us(span: timedelta) -> int:
    return span // _MICROSECOND


def from_us(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)
