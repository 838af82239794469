"""Kafka plumbing shared by the agents: raw topics, producer hand-offs, the dead-letter writer."""

from __future__ import annotations

import asyncio
import inspect
import logging
import os
import time
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, NoReturn, cast

import faust
from faust.types import AppT

from agents.batches import Deliveries, make_current, take_ready
from agents.decoded import DecodedEvents
from fieldcourt.faults import FAULTS, CrashPoint
from fieldcourt.metrics import METRICS
from streams.errors import Reason, RejectedInput, describe_failure, failure_trace
from streams.eventtime import Progress

log = logging.getLogger(__name__)

Headers = list[tuple[str, bytes]] | Mapping[str, bytes] | None

#: Exit status of a worker that could not deliver an output (EX_SOFTWARE).
DELIVERY_FAILED_EXIT = 70


def raw_topic(app: faust.App, name: str, **kwargs: Any) -> faust.TopicT:
    """A topic of bytes: we decode ourselves, so a bad value never meets Faust's codecs."""
    return app.topic(
        name,
        schema=RawSchema(),
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        allow_empty=True,
        **kwargs,
    )


class RawSchema(faust.Schema[bytes, bytes]):
    """Faust's schema of a topic of bytes, but its events made of the message's own bytes.

    Faust's compiled ``decode`` passes a raw topic's key and value through its serializer
    registry (the codec looked up, ``want_bytes``, the payload prepared for its type) to give
    back the same bytes, for every record each agent reads: about 2 % of the worker. Encoding
    is Faust's (``Topic.send`` under exactly-once)."""

    def compile(self, app: AppT, **_handlers: Any) -> Any:
        create_event = app.create_event

        async def decode(message: Any, *, propagate: bool = False) -> Any:
            return create_event(message.key, message.value, message.headers, message)

        return decode


async def hand_to_producer(
    topic: faust.TopicT,
    key: bytes | None,
    value: bytes | None,
    headers: Headers = None,
    partition: int | None = None,
) -> asyncio.Future[Any]:
    """Hand the record to the producer now; it is acknowledged before the offset is committed.
    ``partition``: that one rather than the key's (a command for every partition of a topic).

    Faust's consumer flushes the producer before every offset commit (where in Faust: noted
    beside ``agents.transport.check_faust_internals``), so waiting here for each acknowledgement
    would only cost a broker round trip per record. A record the producer finally fails to
    deliver crashes the worker before that flush returns, so no offset is committed past a lost
    output and the restarted worker processes the input again.

    At least once, the record goes straight to the producer: ``Topic.send`` builds a message
    object, runs the codecs and sensors for bytes we already encoded, and was the slowest
    step of a record's path (issue "throughput"). Exactly once keeps ``Topic.send``, which
    picks the partition's transactional producer.
    """
    app = topic.app
    if app.in_transaction:
        future = await topic.send(
            key=key, value=value, headers=headers, partition=partition, force=True
        )
    else:
        pairs = None if headers is None else list(_pairs(headers))
        future = await producer_send(app, topic.get_topic_name(), key, value, partition, pairs)
    future.add_done_callback(_crash_on_failure(topic))  # type: ignore[attr-defined]
    return cast(asyncio.Future[Any], future)


async def producer_send(
    app: AppT,
    topic: str,
    key: bytes | None,
    value: bytes | None,
    partition: int | None,
    headers: list[tuple[str, bytes]] | None,
) -> asyncio.Future[Any]:
    """Hand a record to aiokafka's producer under Faust's (at least once; its future is the
    broker's acknowledgement). Faust's ``Producer.send`` adds, for each record, a coroutine
    layer and its ``on_produce_message`` signal, which nothing here listens to: about eight
    records an event go this way."""
    producer = app.producer._ensure_producer()  # type: ignore[attr-defined]
    future = await producer.send(topic, value, key=key, partition=partition, headers=headers)
    return cast(asyncio.Future[Any], future)


class Disclosures:
    """Records that disclose something (case events, alerts) held until the audit records
    written before them are acknowledged by the broker (contract §8: a disclosure is never
    visible without its audit record).

    Awaiting each audit record's acknowledgement before its disclosure cost a broker round trip
    per case event on the single-partition case stage. Instead every agent ``release``-s at
    the end of its batch, before its records are acknowledged: one wait for all the audit
    records handed on so far, then the disclosures held so far, in order. Agents share one
    instance; a release takes what was there when it started, so a disclosure held meanwhile
    (its audit record handed on after the wait began) waits for the next release. Releases run
    one at a time, so when an agent's release returns, whatever it held has been handed on,
    by itself or by another agent's release.

    An agent (an asyncio task) that has held nothing since what it held was handed on returns
    at once: it has nothing to wait for, and must not queue behind another agent's wait for
    the broker (with small batches, every agent's batch waited for the case stage's round
    trips).
    """

    def __init__(self) -> None:
        self._audits: list[asyncio.Future[Any]] = []
        self._held: list[tuple[faust.TopicT, bytes, bytes | None]] = []
        #: One release at a time: an agent whose disclosures another agent's release took
        #: must not acknowledge its records before that release has handed them on.
        self._releasing = asyncio.Lock()
        #: Audit records and disclosures taken in so far, and how many of the first of them
        #: have been handed on; each task's last one.
        self._taken_in = 0
        self._handed_on = 0
        self._last: weakref.WeakKeyDictionary[asyncio.Task[Any], int] = weakref.WeakKeyDictionary()

    def _note(self) -> None:
        self._taken_in += 1
        task = asyncio.current_task()
        if task is not None:
            self._last[task] = self._taken_in

    def _owed(self) -> bool:
        """Whether something the current task held has not been handed on yet (outside a
        task: anything held)."""
        task = asyncio.current_task()
        last = self._taken_in if task is None else self._last.get(task, 0)
        return last > self._handed_on

    async def audit(self, topic: faust.TopicT, key: bytes, value: bytes) -> None:
        """Hand an audit record to the producer; what is disclosed after it waits for it."""
        self._audits.append(await hand_to_producer(topic, key, value))
        self._note()

    def disclose(self, topic: faust.TopicT, key: bytes, value: bytes | None) -> None:
        """Hold a record (``None``: a tombstone) until the audit records handed on before it
        are acknowledged."""
        self._held.append((topic, key, value))
        self._note()

    def __len__(self) -> int:
        """Disclosures held."""
        return len(self._held)

    async def release(self) -> int:
        """Wait for the audit records handed on so far, then hand on the disclosures held so
        far; returns how many were handed on."""
        if not self._owed():
            return 0
        async with self._releasing:
            if not self._owed():  # handed on by the release this one waited for
                return 0
            taken_in = self._taken_in
            audits, self._audits = self._audits, []
            held, self._held = self._held, []
            if audits:
                await asyncio.gather(*audits)  # a failed write has already stopped the worker
            for topic, key, value in held:
                await hand_to_producer(topic, key, value)
            self._handed_on = taken_in
            return len(held)


def _crash_on_failure(topic: faust.TopicT) -> Callable[[Any], None]:
    def check(future: Any) -> None:
        if not future.cancelled() and future.exception() is not None:
            fail_stop(f"delivery to {topic}", future.exception())

    return check


def fail_stop(what: str, exc: BaseException) -> NoReturn:
    """Crash-only: no offset is committed after this point; the restarted worker replays."""
    log.critical("%s failed, exiting before any commit: %r", what, exc)
    logging.shutdown()
    os._exit(DELIVERY_FAILED_EXIT)


@dataclass
class ChangelogLedger:
    """Table changelog writes on their way to the broker, awaited before each offset commit.

    Faust sends table changes through a buffer, and the producer flush it runs before every
    offset commit gives up on that buffer after 0.1 s without a send (where in Faust: noted
    beside ``agents.transport.check_faust_internals``). On a loaded machine an
    offset can be committed while the state changes of its record are still buffered; a crash
    then restores tables without them, and the record is never processed again (a case would
    reopen at version 1, a rule's match be lost). The consumer (``agents.transport``) settles
    the ledger before it commits, so a committed offset always has its state on the broker.
    """

    on_failure: Callable[[str, BaseException], NoReturn] = fail_stop
    _pending: list[asyncio.Future[Any]] = field(default_factory=list)

    def track(self, future: asyncio.Future[Any]) -> None:
        self._pending.append(future)

    def __len__(self) -> int:
        """Writes tracked and not yet settled."""
        return len(self._pending)

    async def settle(self) -> None:
        """Wait until the broker has acknowledged every write tracked so far; writes tracked
        meanwhile wait for the next call (a steady stream of writes must not starve commits).
        A write the producer failed to deliver stops the worker."""
        pending, self._pending = self._pending, []
        for outcome in await asyncio.gather(*pending, return_exceptions=True):
            if isinstance(outcome, BaseException):
                self.on_failure("changelog write", outcome)


def tracked_table_class(ledger: ChangelogLedger) -> type[faust.Table[Any, Any]]:
    """The Faust ``Table`` class whose changelog writes go into ``ledger`` (app setting
    ``Table``)."""

    class TrackedTable(faust.Table[Any, Any]):
        def send_changelog(self, *args: Any, **kwargs: Any) -> Any:
            future = super().send_changelog(*args, **kwargs)
            ledger.track(future)
            FAULTS.reached(CrashPoint.CHANGELOG_UNACKED)
            return future

    return TrackedTable


#: Kafka append time, in milliseconds, of the field record a chain of internal records started
#: from: ingest sets it, every stage copies it onto what it sends, and the case stage measures
#: the end-to-end latency from it.
ORIGIN_HEADER = "fieldcourt-origin-ms"


def origin_of(headers: Headers, appended_at: float | None) -> float | None:
    """Seconds since the epoch at which the chain of ``headers`` started; ``appended_at`` (the
    record's own append time) for a record that carries no origin."""
    for name, value in _pairs(headers):
        if name == ORIGIN_HEADER:
            try:
                return int(value) / 1000
            except ValueError:
                break
    return appended_at


def origin_header(origin: float | None) -> list[tuple[str, bytes]]:
    """The headers that carry ``origin`` (seconds since the epoch) to the next stage."""
    return [] if origin is None else [(ORIGIN_HEADER, str(round(origin * 1000)).encode())]


#: The feed (field topic partition) an internal record's event came from, and that feed's high
#: mark when ingest read it (epoch µs): ``field.arrests.v1:2@1758000000000000``. Stages learn
#: the feeds' progress from it, for purges only (``streams.eventtime``).
FEED_HEADER = "fieldcourt-feed"


def _pairs(headers: Headers) -> Iterable[tuple[str, bytes]]:
    return headers.items() if isinstance(headers, Mapping) else (headers or ())


def progress_header(progress: Progress) -> tuple[str, bytes]:
    return FEED_HEADER, progress.encode().encode()


def progress_of(headers: Headers) -> Progress | None:
    for name, value in _pairs(headers):
        if name == FEED_HEADER:
            return Progress.decode(value.decode())
    return None


def passed_on(headers: Headers, appended_at: float | None) -> list[tuple[str, bytes]]:
    """What a stage's outputs carry from the record it processes: the origin of its chain and
    its feed's progress."""
    progress = progress_of(headers)
    origin = origin_header(origin_of(headers, appended_at))
    return origin if progress is None else [*origin, progress_header(progress)]


def deadletter_headers(message: Any, error: RejectedInput) -> list[tuple[str, bytes]]:
    """The sender's headers, then ours (SPEC 3). A sender's header with one of our names is
    left out: a reader taking the first ``error.reason`` must find fieldcourt's."""
    ours = [
        ("error.reason", str(error.reason).encode()),
        ("error.detail", error.detail.encode()),
        ("source.topic", message.topic.encode()),
        ("source.partition", str(message.partition).encode()),
        ("source.offset", str(message.offset).encode()),
    ]
    names = {name for name, _ in ours}
    return [*((k, v) for k, v in (message.headers or []) if k not in names), *ours]


class DeadLetter:
    """Writes a record, unchanged, to the dead-letter topic with the reason in its headers."""

    def __init__(self, topic: faust.TopicT) -> None:
        self.topic = topic

    async def send(self, message: Any, error: RejectedInput) -> None:
        METRICS.deadlettered(error.reason)
        log.info(
            "dead-letter %s %s[%s]@%s: %s",
            error.reason,
            message.topic,
            message.partition,
            message.offset,
            error.detail,
        )
        headers = deadletter_headers(message, error)
        await hand_to_producer(self.topic, message.key, message.value, headers)


Handler = Callable[[Any], Awaitable[None]]
#: Purges a partition's state; how many entries went (async where it publishes, too).
Purge = Callable[[int], int | Awaitable[int]]
PURGE_INTERVAL_S = 3600.0


class PurgeSchedule:
    """Wall-clock pacing of state purges, per partition: the first is one interval after the
    partition's first record, so a restart does not purge everything at once."""

    def __init__(self, interval_s: float = PURGE_INTERVAL_S) -> None:
        self.interval_s = interval_s
        self._next: dict[int, float] = {}

    def due(self, partition: int) -> bool:
        now = time.monotonic()
        next_at = self._next.setdefault(partition, now + self.interval_s)
        if now < next_at:
            return False
        self._next[partition] = now + self.interval_s
        return True


#: Writes every table's held-back changes, each under the record that made it
#: (``FieldcourtApp.flush_tables``: ``agents.table_writes``, or ``CachedTable.flush``).
FlushTables = Callable[[], Awaitable[int]]


async def _no_tables() -> int:
    return 0


@dataclass(frozen=True)
class AgentIO:
    """What every agent body shares: the dead-letter writer, the pace of state purges, how
    batches are taken (``take_ready``), the flush of held-back table writes and the enriched
    events already decoded."""

    deadletter: DeadLetter
    purge_interval_s: float = PURGE_INTERVAL_S
    batch_max: int = 500
    batch_within_s: float = 0.05
    batch_idle_s: float = 0.01
    flush_tables: FlushTables = _no_tables
    disclosures: Disclosures = field(default_factory=Disclosures)
    #: The consumer's hand-offs of what it fetched (``take_ready``); ``None``: batches wait
    #: for a pause of ``batch_idle_s`` instead.
    deliveries: Deliveries | None = None
    #: Enriched events ingest encoded, for the stages to take rather than decode again.
    decoded: DecodedEvents = field(default_factory=DecodedEvents)


def guarded(
    handle: Handler, name: str, io: AgentIO, purge: Purge | None = None
) -> Callable[..., AsyncIterator[None]]:
    """An agent body that runs ``handle`` on each message; a failure dead-letters the message
    as ``processing_error`` (kept for replay) and the agent carries on with the next one.

    Records come in batches (``take_events``): Faust's per-record stream machinery is the
    costliest part of a hop, and a batch lets the tables write each key once
    (``agents.cache``). Each record is made Faust's current event while it is handled, so its
    table writes belong to its own partition; the batch's writes are flushed before Faust
    acknowledges its records, so no offset is committed ahead of its state, and so are the
    disclosures it held back until their audit records were acknowledged.

    ``purge(partition)`` runs here, inside stream processing, because a Faust table may only
    be changed there and writes to the changelog partition of the record being processed.
    """
    schedule = PurgeSchedule(io.purge_interval_s)

    async def one(event: Any) -> None:
        message = event.message
        make_current(event)
        try:
            await handle(message)
            FAULTS.reached(CrashPoint.AFTER_OUTPUTS)
            if purge is not None and schedule.due(message.partition):
                purged = purge(message.partition)
                if inspect.isawaitable(purged):
                    purged = await purged
                METRICS.purged(name, purged)
                log.info("purged %d %s entries of partition %d", purged, name, message.partition)
        except Exception as exc:
            failure = describe_failure(exc)
            where = f"{message.topic}[{message.partition}]@{message.offset}"
            log.error("processing failed for %s: %s\n%s", where, failure, failure_trace(exc))
            await io.deadletter.send(message, RejectedInput(Reason.PROCESSING_ERROR, failure))
        METRICS.processed(name, message.timestamp)

    async def agent(channel: faust.StreamT[bytes]) -> AsyncIterator[None]:
        stream = cast(faust.Stream[bytes], channel)
        batches = take_ready(
            stream, io.batch_max, io.batch_within_s, io.batch_idle_s, io.deliveries
        )
        clock = time.perf_counter
        async for batch in batches:
            started = clock()
            for event in batch:
                await one(event)
            handled = clock()
            await io.disclosures.release()
            released = clock()
            await io.flush_tables()
            METRICS.batch_handled(name, handled - started, released - handled, clock() - released)
            yield None

    return agent
