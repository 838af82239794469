"""Enriched events decoded once per worker, not once per stage record.

Ingest writes an event's bytes to up to four stage topics (by-subject once per subject,
by-address, by-sector, links), and each stage record was decoded again with full validation
(``schemas.codec.loads``): on the mixed stream 1.7 decodes an event, each costing about what
the stage's rules do. Ingest remembers the event it encoded under its bytes, with the number
of stage records it wrote them to; a stage record with those bytes takes the event from here,
and the entry goes once every record has taken it. A record of a partition that another
worker ingested, or one read again after a crash, is decoded as before.

Sharing the object is safe: the models are frozen and the stages never change an event. The
bytes are the whole key, so an entry can only ever be the decoding of its own bytes.

What it holds is the events between ingest and the stages: next to nothing at a steady pace;
in a burst, ingest may run a whole fetch ahead of the stages, so the entries are capped (~5
KiB each) and the oldest go first (their records are then decoded, as without this).
"""

from __future__ import annotations

from itertools import islice

from schemas.codec import loads
from schemas.enriched import EnrichedEvent

#: At most ~40 MiB. At a steady pace every stage record finds its event; in a burst of
#: 20,000 mixed events, 16,000 were in flight at once: 16,384 entries met 77 % of the stage
#: records and cost 100 MiB more RSS at the end of the burst, this many meets about half.
DEFAULT_CAPACITY = 8192


class _Entry:
    __slots__ = ("event", "uses")

    def __init__(self, event: EnrichedEvent, uses: int) -> None:
        self.event, self.uses = event, uses


class DecodedEvents:
    """Bytes of an enriched event -> the event and the stage records still to take it."""

    def __init__(self, capacity: int = DEFAULT_CAPACITY) -> None:
        self.capacity = capacity
        self._events: dict[bytes, _Entry] = {}
        self.hits = 0
        self.misses = 0

    def remember(self, value: bytes, event: EnrichedEvent, uses: int) -> None:
        """``value`` is ``event``'s encoding (``schemas.codec.dumps``), handed to ``uses``
        stage records."""
        if uses <= 0:
            return
        events = self._events
        events[value] = _Entry(event, uses)
        if len(events) > self.capacity:
            for oldest in list(islice(events, max(1, self.capacity // 8))):
                del events[oldest]

    def event(self, value: bytes) -> EnrichedEvent:
        """The event ``value`` encodes: remembered, or decoded (a bad value raises as
        ``loads`` does)."""
        entry = self._events.get(value)
        if entry is None:
            self.misses += 1
            return loads(EnrichedEvent, value)
        self.hits += 1
        entry.uses -= 1
        if entry.uses <= 0:
            del self._events[value]
        return entry.event

    def __len__(self) -> int:
        return len(self._events)
