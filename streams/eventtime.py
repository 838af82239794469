"""Event time judged once, at the source, and carried downstream (SPEC 6).

A *feed* is one partition of one field topic (``field.arrests.v1:2``). Police systems publish
each feed in their own order; how fast fieldcourt reads one feed against another depends on the
schedule (a burst, a catch-up, a rebalance), so nothing downstream may judge time by what it
happens to have seen. Two pieces:

- ``SourceClock`` (ingest): the highest ``occurred_at`` each feed has carried. An event is late
  only if its own feed had already carried one more than the lateness bound newer. The verdict
  depends on the feed's content and order alone; ingest stores it with the event's
  deduplication entry, so a record read again after a crash gets the same verdict.
- ``FeedProgress`` (every stage): what one stage partition has heard of each feed's high mark.
  Its *low watermark* is the slowest feed's mark minus the lateness bound: no event that is
  not late can be older, so state older than it minus a rule's reach can be purged. A feed
  this partition has not heard from for ``idle_s`` seconds of running time is left out, so a
  quiet feed does not hold purges back forever (README "Event time").
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, MutableMapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from streams.state._common import from_us, span_us, to_us
from streams.state.keyspace import FEED

FEED_PREFIX = FEED.prefix
#: A stage persists a feed's mark only when it has moved this far: fewer changelog writes,
#: and a mark behind the truth only makes purges more cautious.
PERSIST_STEP = timedelta(hours=1)
_PERSIST_STEP_US = span_us(PERSIST_STEP)
DEFAULT_IDLE_S = 3600.0


def feed_name(topic: str, partition: int) -> str:
    return f"{topic}:{partition}"


@dataclass(frozen=True)
class Verdict:
    """What the source says of one event: late or not, and its feed's high mark after it."""

    late: bool
    high: datetime
    #: ``high`` in µs since the epoch, as the stores keep it.
    high_us: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "high_us", to_us(self.high))


class SourceClock:
    """Per feed, the highest ``occurred_at`` carried so far (``__feed__:{feed}``, epoch µs)."""

    def __init__(
        self, store: MutableMapping[str, Any], lateness: timedelta = timedelta(days=7)
    ) -> None:
        self._store = store
        self._lateness_us = span_us(lateness)

    def judge(self, feed: str, occurred_at: datetime) -> Verdict:
        """Late if the feed already carried an event more than the bound newer; then advance."""
        key = FEED.key(feed)
        moment = to_us(occurred_at)
        highest: int | None = self._store.get(key)
        if highest is None or moment > highest:
            self._store[key] = moment
        high = moment if highest is None else max(highest, moment)
        return Verdict(
            late=highest is not None and moment < highest - self._lateness_us, high=from_us(high)
        )

    def high(self, feed: str) -> datetime | None:
        highest: int | None = self._store.get(FEED.key(feed))
        return None if highest is None else from_us(highest)


@dataclass(frozen=True)
class Progress:
    """A feed's high mark as an event carries it downstream."""

    feed: str
    high: datetime
    #: ``high`` in µs since the epoch, converted once: every stage an event reaches reads it.
    high_us: int = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "high_us", to_us(self.high))

    def encode(self) -> str:
        """``feed@high`` (epoch µs): how a record header carries it."""
        return f"{self.feed}@{self.high_us}"

    @classmethod
    def decode(cls, text: str) -> Progress:
        feed, _, high = text.rpartition("@")
        return cls(feed, from_us(int(high)))


@dataclass
class FeedProgress:
    """What each partition of a stage has heard of the feeds, and its low watermark."""

    store: MutableMapping[str, Any]
    lateness: timedelta
    #: The feeds that exist (every partition of every field topic); empty: those heard of.
    expected: frozenset[str] = frozenset()
    idle_s: float = DEFAULT_IDLE_S
    monotonic: Callable[[], float] = time.monotonic
    _heard: dict[tuple[int, str], float] = field(default_factory=dict, init=False)
    _marks: dict[tuple[int, str], int] = field(default_factory=dict, init=False)
    _keys: dict[tuple[int, str], str] = field(default_factory=dict, init=False)
    _started: float = field(init=False)

    def __post_init__(self) -> None:
        self._started = self.monotonic()

    @staticmethod
    def _key(partition: int, feed: str) -> str:
        return FEED.key(f"{partition}:{feed}")

    def observe(self, partition: int, progress: Progress | None) -> None:
        if progress is None:
            return
        at = (partition, progress.feed)
        self._heard[at] = self.monotonic()
        high = progress.high_us
        mark = self._marks.get(at)
        if high <= (self._mark(at) if mark is None else mark):
            return
        self._marks[at] = high
        key = self._keys.get(at)
        if key is None:
            key = self._keys[at] = self._key(partition, progress.feed)
        stored: int | None = self.store.get(key)
        if stored is None or high - stored >= _PERSIST_STEP_US:
            self.store[key] = high

    def _mark(self, at: tuple[int, str]) -> int:
        if at not in self._marks:
            stored: int | None = self.store.get(self._key(*at))
            self._marks[at] = -1 if stored is None else stored
        return self._marks[at]

    def _feeds(self, partition: int) -> Iterable[str]:
        prefix = self._key(partition, "")
        known = {key.removeprefix(prefix) for key in list(self.store) if key.startswith(prefix)}
        heard = {feed for (p, feed) in self._heard if p == partition}
        return self.expected | known | heard

    def low(self, partition: int) -> datetime | None:
        """The slowest active feed's mark minus the lateness bound; None while a feed that is
        not idle has never been heard of (nothing may be purged yet)."""
        now = self.monotonic()
        marks = []
        for feed in self._feeds(partition):
            at = (partition, feed)
            if now - self._heard.get(at, self._started) > self.idle_s:
                continue  # quiet for a while: it must not hold purges back
            mark = self._mark(at)
            if mark < 0:
                return None
            marks.append(mark)
        if not marks:
            return None
        return from_us(min(marks)) - self.lateness
