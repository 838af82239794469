"""Kafka plumbing shared by the agents: raw topics, acknowledged sends, the dead-letter writer."""

from __future__ import annotations

import logging
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import faust

from fieldcourt.metrics import METRICS
from streams.errors import Reason, RejectedInput

log = logging.getLogger(__name__)

#: Exit status of a worker that could not deliver an output (EX_SOFTWARE).
DELIVERY_FAILED_EXIT = 70


def raw_topic(app: faust.App, name: str, **kwargs: Any) -> faust.TopicT:
    """A topic of bytes: we decode ourselves, so a bad value never meets Faust's codecs."""
    return app.topic(
        name, key_type=bytes, value_type=bytes, key_serializer="raw", value_serializer="raw",
        allow_empty=True, **kwargs,
    )  # fmt: skip


async def send_acked(
    topic: faust.TopicT,
    key: bytes | None,
    value: bytes | None,
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    """Hand the record to the producer now; it is acknowledged before the offset is committed.

    Faust flushes the producer before every offset commit (``Consumer.commit`` in
    faust/transport/consumer.py), so waiting here for each acknowledgement would only cost a
    broker round trip per record. A record the producer finally fails to deliver crashes the
    worker before that flush returns, so no offset is committed past a lost output and the
    restarted worker processes the input again.
    """
    future = await topic.send(key=key, value=value, headers=headers, force=True)
    future.add_done_callback(_crash_on_failure(topic))  # type: ignore[attr-defined]


def _crash_on_failure(topic: faust.TopicT) -> Callable[[Any], None]:
    def check(future: Any) -> None:
        if future.cancelled() or future.exception() is None:
            return
        log.critical("delivery to %s failed, exiting before any commit: %r", topic,
                     future.exception())  # fmt: skip
        logging.shutdown()
        # crash-only: no offset is committed after this point; the restarted worker replays
        os._exit(DELIVERY_FAILED_EXIT)

    return check


def deadletter_headers(message: Any, error: RejectedInput) -> list[tuple[str, bytes]]:
    original = [(k, v) for k, v in (message.headers or [])]
    return [
        *original,
        ("error.reason", str(error.reason).encode()),
        ("error.detail", error.detail.encode()),
        ("source.topic", message.topic.encode()),
        ("source.partition", str(message.partition).encode()),
        ("source.offset", str(message.offset).encode()),
    ]


class DeadLetter:
    """Writes a record, unchanged, to the dead-letter topic with the reason in its headers."""

    def __init__(self, topic: faust.TopicT) -> None:
        self.topic = topic

    async def send(self, message: Any, error: RejectedInput) -> None:
        METRICS.deadlettered(error.reason)
        log.info("dead-letter %s %s[%s]@%s: %s", error.reason, message.topic,
                 message.partition, message.offset, error.detail)  # fmt: skip
        await send_acked(self.topic, message.key, message.value, deadletter_headers(message, error))


Handler = Callable[[Any], Awaitable[None]]
Purge = Callable[[int], int]
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


def guarded(
    handle: Handler,
    deadletter: DeadLetter,
    name: str,
    purge: Purge | None = None,
    purge_interval_s: float = PURGE_INTERVAL_S,
) -> Callable[..., AsyncIterator[None]]:
    """An agent body that runs ``handle`` on each message; a failure dead-letters the message
    as ``processing_error`` (kept for replay) and the agent carries on with the next one.

    ``purge(partition)`` runs here, inside stream processing, because a Faust table may only
    be changed there and writes to the changelog partition of the record being processed.
    """
    schedule = PurgeSchedule(purge_interval_s)

    async def agent(stream: faust.StreamT[bytes]) -> AsyncIterator[None]:
        async for event in stream.events():
            message = event.message
            try:
                await handle(message)
                if purge is not None and schedule.due(message.partition):
                    purged = purge(message.partition)
                    METRICS.purged(name, purged)
                    log.info("purged %d %s entries of partition %d", purged, name,
                             message.partition)  # fmt: skip
            except Exception as exc:
                log.exception("processing failed for %s[%s]@%s", message.topic,
                              message.partition, message.offset)  # fmt: skip
                await deadletter.send(message, RejectedInput(Reason.PROCESSING_ERROR, repr(exc)))
            METRICS.processed(name, message.timestamp)
            yield None

    return agent
