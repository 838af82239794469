"""Event logs keyed by subject reference or address key, bounded by a retention window.

A key's events are split into week buckets (``keyspace.EVENT_WEEK``): ``{key}|{week}`` holds
the ``Row``s of that week's events (weeks counted from the epoch) sorted by
``(occurred_at_us, event_id)``, and ``{key}`` itself (``keyspace.EVENT_HEAD``) holds its
``Head``: the weeks holding events, and the last moment of the newest one. An update reads
and rewrites one week (and the head only when the week is new to the key), so its cost and the
size of the value written (a changelog record, at most 1 MB on a default broker) depend on the
events of one key in one week, not on all it holds: one value per key grew with a busy address
until its changelog record would no longer fit (~1,500 events). A window query reads the head
and the weeks of the window that hold events.

A row's event is the event's fields as JSON (``_encode``: orjson, the same values as
``EnrichedEvent.model_dump_json()`` at a fraction of its cost), which this module alone writes.
A window query answers ``StoredEvent``s, the few fields the rules read (``streams.rules.ports``),
decoded with orjson and kept while in use (``_recall``): rebuilding each stored event read as a
validated ``EnrichedEvent`` (~25 µs, ~4.5 KB) was the largest cost of the core once its
history outgrew a cache of models. ``StoredEvent.event()`` builds the model where one is wanted.

Nothing is dropped as events arrive: an event that arrives long after newer ones may still be
on time at its source (``streams.eventtime``), and must find the history it belongs with. Old
events go only by ``sweep``, which the stage runs behind its low watermark (the slowest feed's
progress) minus ``retention``. The kept set depends on the set of events recorded, not on their
order, so replays and out-of-order input end in the same values.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections import OrderedDict
from collections.abc import Iterator, MutableMapping
from datetime import datetime, timedelta
from operator import itemgetter
from typing import Any, NamedTuple

import orjson
from pydantic import BaseModel

from schemas.codec import loads
from schemas.enriched import EnrichedEvent
from streams.state._common import NEW, REPLAY, Recorded, from_us, span_us, to_us
from streams.state.keyspace import EVENT_HEAD, EVENT_WEEK, is_reserved, scope_of

WEEK_US = span_us(timedelta(days=7))
#: A row as stored: ``[occurred_at_us, event_id, event_json]`` (JSON lists, not tuples).
_at = itemgetter(0)
#: Records kept decoded (a few hundred bytes each): the windows of busy keys overlap from one
#: query to the next, and a recorded event is read back by the rules at once.
_RECALLED_CAPACITY = 65536
_recalled: OrderedDict[str, StoredEvent] = OrderedDict()
#: The event last encoded, and its JSON.
_last_encoded: list[Any] = [None, ""]


class Party(NamedTuple):
    """A subject of a stored event: the reference, role and minor flag the rules read."""

    ref: str
    role: str
    minor: bool | None = None


class StoredEvent(NamedTuple):
    """A stored event as the window rules read it (a ``streams.rules.ports.PastEvent``), and
    its stored JSON, from which ``event()`` builds the whole model."""

    event_id: str
    kind: str
    occurred_at: datetime
    sector: str | None
    address_key: str | None
    procedure_ref: str | None
    narcotics: bool
    subjects: tuple[Party, ...]
    json: str

    @classmethod
    def of(cls, event: EnrichedEvent, event_json: str | None = None) -> StoredEvent:
        """``event``'s record; ``event_json`` is its stored JSON when the caller has it."""
        return cls(
            event.event_id,
            event.kind,
            event.occurred_at,
            event.sector,
            event.address_key,
            event.procedure_ref,
            event.narcotics,
            tuple(Party(s.ref, s.role, s.minor) for s in event.subjects),
            _encode(event) if event_json is None else event_json,
        )

    @classmethod
    def parse(cls, at: int, event_json: str) -> StoredEvent:
        """The record of a stored row's time (µs) and JSON."""
        fields = orjson.loads(event_json)
        return cls(
            fields["event_id"],
            fields["kind"],
            from_us(at),
            fields["sector"],
            fields["address_key"],
            fields["procedure_ref"],
            fields["narcotics"],
            tuple(Party(s["ref"], s["role"], s.get("minor")) for s in fields["subjects"]),
            event_json,
        )

    def event(self) -> EnrichedEvent:
        """The whole event, validated from its stored JSON."""
        return loads(EnrichedEvent, self.json)


class Row(NamedTuple):
    """One stored event: its time (µs since the epoch), id, and JSON."""

    at: int
    event_id: str
    event: str

    @classmethod
    def of(cls, event: EnrichedEvent, moment: int | None = None) -> Row:
        """``event``'s row; ``moment`` is its ``occurred_at`` in µs when the caller has it."""
        if _last_encoded[0] is not event:  # one event is recorded under each of its keys
            event_json = _encode(event)
            _last_encoded[:] = [event, event_json]
            _remember(StoredEvent.of(event, event_json))
        at = to_us(event.occurred_at) if moment is None else moment
        return cls(at, event.event_id, _last_encoded[1])

    @classmethod
    def decode(cls, value: list[Any]) -> Row:
        return cls(*value)

    def encode(self) -> list[Any]:
        return [self.at, self.event_id, self.event]


class Head(NamedTuple):
    """A key's head: a bound no event time of the key passes (µs) and the weeks holding its
    events, sorted.

    The bound is the last moment of the newest week, not the newest event's time (as heads
    written before 2026-12 hold): so the head changes only when a week is added or emptied,
    and an event in a week the key already has writes one value, its week's, not two.
    """

    newest: int
    weeks: list[int]

    @classmethod
    def decode(cls, value: list[Any]) -> Head:
        return cls(value[0], value[1])

    def encode(self) -> list[Any]:
        return [self.newest, self.weeks]


def _last_moment(week: int) -> int:
    return (week + 1) * WEEK_US - 1


def _fields(value: object) -> dict[str, Any]:
    """orjson's fallback for the nested models (source, subjects): their fields."""
    if isinstance(value, BaseModel):
        return value.__dict__
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def _encode(event: EnrichedEvent) -> str:
    """The event's fields as JSON; its times in UTC with a ``Z`` as ``format_utc`` writes them
    (a validated event holds them in UTC)."""
    return orjson.dumps(event.__dict__, default=_fields, option=orjson.OPT_UTC_Z).decode()


def _remember(record: StoredEvent) -> None:
    _recalled[record.json] = record
    if len(_recalled) > _RECALLED_CAPACITY:
        _recalled.popitem(last=False)


def _recall(item: list[Any]) -> StoredEvent:
    """A stored row's record, decoded once while it stays in use. Records are immutable, so
    sharing one is safe."""
    event_json: str = item[2]
    record = _recalled.get(event_json)
    if record is None:
        record = StoredEvent.parse(item[0], event_json)
        _remember(record)
    else:
        _recalled.move_to_end(event_json)
    return record


def _without(item: list[Any], ref: str) -> list[Any] | None:
    """A stored event with subject ``ref`` struck out; ``None`` for an arrest of theirs."""
    record = _recall(item)
    if all(subject.ref != ref for subject in record.subjects):
        return item
    if record.kind == "arrest":
        return None
    event = record.event()
    subjects = [subject for subject in event.subjects if subject.ref != ref]
    return Row.of(event.model_copy(update={"subjects": subjects})).encode()


def _order(item: list[Any]) -> tuple[int, str]:
    return item[0], item[1]


def _week_key(key: str, week: int) -> str:
    return EVENT_WEEK.key(key, week)


class _EventLog:
    """The shared mechanics; the public classes name their key as the rules think of it."""

    def __init__(self, store: MutableMapping[str, Any], retention: timedelta) -> None:
        self._store = store
        #: How far back a caller's periodic ``sweep`` may cut: its watermark minus this.
        self.retention = retention

    def _read(self, key: str, weeks: list[int], low: int, high: int) -> Iterator[list[list[Any]]]:
        """The stored weeks among ``weeks`` that hold moments in ``[low, high]`` (µs)."""
        # ``weeks`` is sorted: the window's are found by bisection, however long the history.
        within = weeks[bisect_left(weeks, low // WEEK_US) : bisect_right(weeks, high // WEEK_US)]
        for week in within:
            yield self._store.get(_week_key(key, week)) or []

    def _head(self, key: str) -> Head | None:
        value: list[Any] | None = self._store.get(EVENT_HEAD.key(key))
        return None if value is None else Head.decode(value)

    def _record(self, key: str, event: EnrichedEvent) -> Recorded:
        moment = to_us(event.occurred_at)
        store = self._store
        head = self._head(key)
        newest, weeks = (moment, []) if head is None else head
        week, event_id = moment // WEEK_US, event.event_id
        week_key = _week_key(key, week)
        known = week in weeks
        items: list[list[Any]] = (store.get(week_key) or []) if known else []
        for item in items:
            if item[1] == event_id:
                return REPLAY
        position = bisect_right(items, (moment, event_id), key=_order)
        # Fresh values assigned to the keys: a Faust table records only assignments.
        fresh = items.copy()
        fresh.insert(position, Row.of(event, moment).encode())
        store[week_key] = fresh
        if head is None or moment > newest or not known:  # (moment > newest: an older head)
            kept = weeks if known else sorted([*weeks, week])
            store[EVENT_HEAD.key(key)] = Head(max(newest, _last_moment(kept[-1])), kept).encode()
        return NEW

    def _cut(self, key: str, weeks: list[int], before: int) -> tuple[list[int], int]:
        """Drop the events of ``key`` older than ``before``: the weeks still holding events,
        and how many events were dropped."""
        kept, dropped = [], 0
        for week in weeks:
            if week * WEEK_US >= before:
                kept.append(week)
                continue
            name = _week_key(key, week)
            items: list[list[Any]] = self._store.get(name) or []
            cut = bisect_left(items, before, key=_at)
            if cut < len(items):
                kept.append(week)
                if cut:
                    self._store[name] = items[cut:]
            elif items:
                del self._store[name]
            dropped += cut
        return kept, dropped

    def _events(self, key: str, start: datetime, end: datetime) -> list[StoredEvent]:
        low, high = to_us(start), to_us(end)  # refuses naive times, whatever is stored
        head = self._head(key)
        if head is None:
            return []
        high = min(high, head.newest)
        found: list[StoredEvent] = []
        for items in self._read(key, head.weeks, low, high):
            if items and (items[0][0] < low or items[-1][0] > high):  # part of the week
                items = items[bisect_left(items, low, key=_at) : bisect_right(items, high, key=_at)]
            found += map(_recall, items)
        return found

    def _purge(self, key: str, before: datetime) -> int:
        head = self._head(key)
        if head is None:
            return 0
        cutoff = to_us(before)
        kept, dropped = self._cut(key, head.weeks, cutoff)
        if not kept:
            del self._store[EVENT_HEAD.key(key)]
        elif kept != head.weeks:
            self._store[EVENT_HEAD.key(key)] = Head(head.newest, kept).encode()
        return dropped

    def erase(self, ref: str) -> int:
        """Forget subject ``ref`` (a court cleared them): the log keyed by ``ref`` goes, and
        in every other key's events the subject is struck out; an arrest (one person's event)
        of theirs goes whole. How many events were dropped or changed."""
        changed = 0
        for key in [k for k in self._store if EVENT_HEAD.owns(k)]:
            newest, weeks = Head.decode(self._store[key])
            if key == EVENT_HEAD.key(ref):
                for week in weeks:
                    changed += len(self._store.get(_week_key(ref, week)) or [])
                    self._store.pop(_week_key(ref, week), None)
                del self._store[key]
                continue
            kept_weeks = []
            for week in weeks:
                items: list[list[Any]] = self._store.get(_week_key(key, week)) or []
                kept = [row for row in map(lambda item: _without(item, ref), items) if row]
                if kept != items:
                    changed += sum(1 for item in items if item not in kept)
                    self._store[_week_key(key, week)] = kept
                if kept:
                    kept_weeks.append(week)
                else:
                    self._store.pop(_week_key(key, week), None)
            if not kept_weeks:
                del self._store[key]
            elif kept_weeks != weeks:
                self._store[key] = Head(newest, kept_weeks).encode()
        return changed

    def sweep(self, before: datetime) -> int:
        """Purge every key (a periodic scan); emptied keys are deleted, reserved keys skipped."""
        keys = {scope_of(k) for k in self._store if not is_reserved(k)}
        return sum(self._purge(key, before) for key in sorted(keys))


class SubjectState(_EventLog):
    """Per subject reference: their narcotics events, for the subject and displacement rules.

    Windows: ``events`` is closed ``[start, end]``; ``purge`` drops ``occurred_at < before``.
    ``Recorded.new`` is False for a replay.
    """

    def __init__(
        self, store: MutableMapping[str, Any], retention: timedelta = timedelta(days=97)
    ) -> None:
        super().__init__(store, retention)

    def record(self, ref: str, event: EnrichedEvent) -> Recorded:
        return self._record(ref, event)

    def events(self, ref: str, start: datetime, end: datetime) -> list[StoredEvent]:
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

    def record(self, key: str, event: EnrichedEvent) -> Recorded:
        return self._record(key, event)

    def events(self, key: str, start: datetime, end: datetime) -> list[StoredEvent]:
        """Events with occurred_at in ``[start, end]``, sorted by (occurred_at, event_id)."""
        return self._events(key, start, end)

    def purge(self, key: str, before: datetime) -> int:
        """Drop events with occurred_at < before; return how many."""
        return self._purge(key, before)

    def around(self, key: str, t: datetime, days: int) -> list[StoredEvent]:
        """Events with occurred_at in ``[t - days, t + days]``, sorted like ``events``."""
        span = timedelta(days=days)
        return self._events(key, t - span, t + span)
