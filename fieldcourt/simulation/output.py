"""The feed's way out: moved in time to end at a given instant, written as a replay file.

Ingest rejects events more than 5 minutes in the future, so a demo shifts the story to end
just before the wall-clock now; ``write_jsonl`` stores the replay format of
``docs/replay-format.md``.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable
from pathlib import Path

import orjson

from fieldcourt.simulation.config import DAY
from fieldcourt.simulation.events import Event, SimRecord, parse_time, wire_time


def _latest(event: Event) -> dt.datetime:
    occurred = parse_time(event["occurred_at"])
    reported = event.get("reported_at")
    return max(occurred, parse_time(reported)) if reported else occurred


def _shift_person(person: Event, days: int) -> Event:
    birth = person.get("birth_date")
    if birth is None:
        return person
    return {**person, "birth_date": (dt.date.fromisoformat(birth) + DAY * days).isoformat()}


def shift_to_end_at(
    records: Iterable[SimRecord], end: dt.datetime, *, whole_days: bool = False
) -> list[SimRecord]:
    """The same events moved in time so that the latest timestamp is ``end`` (to the second).

    Every ``occurred_at`` and ``reported_at`` moves by one whole-second offset, so intervals and
    order are unchanged; birth dates move by the same number of days, so that everyone keeps
    their age (a minor stays a minor). Event ids are kept: give the simulation another
    ``prefix`` to publish a shifted copy next to an unshifted one.

    ``whole_days`` moves by whole days instead, so that the latest timestamp falls in the 24 h
    up to ``end``: times of day stay as simulated, and so do the UTC days on which the alert
    limiter counts "once per 24 h", hence the same alerts as the unshifted story.
    """
    if end.tzinfo is None or end.utcoffset() is None:
        raise ValueError("end must carry a time zone")
    items = list(records)
    if not items:
        return []
    latest = max(_latest(event) for _, event in items)
    if whole_days:
        delta = DAY * math.floor((end - latest) / DAY)
    else:
        delta = dt.timedelta(seconds=math.floor((end - latest).total_seconds()))
    days = math.floor(delta / DAY)
    shifted: list[SimRecord] = []
    for topic, event in items:
        moved = dict(event)
        for name in ("occurred_at", "reported_at"):
            if name in moved:
                moved[name] = wire_time(parse_time(moved[name]) + delta)
        for name in ("person", "occupant"):
            if name in moved:
                moved[name] = _shift_person(moved[name], days)
        if "persons" in moved:
            moved["persons"] = [_shift_person(p, days) for p in moved["persons"]]
        shifted.append((topic, moved))
    return shifted


def write_jsonl(path: str | Path, records: Iterable[SimRecord]) -> int:
    """Write the replay format (``docs/replay-format.md``); returns the number of lines."""
    count = 0
    with Path(path).open("wb") as out:
        for topic, event in records:
            out.write(orjson.dumps({"topic": topic, "key": event["event_id"], "value": event}))
            out.write(b"\n")
            count += 1
    return count
