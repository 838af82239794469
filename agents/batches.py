"""How an agent takes its records: in batches handed on as soon as what the consumer fetched
is all in (``take_ready``), each record made Faust's current event while it is handled."""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections.abc import AsyncIterator
from typing import Any, cast

import faust
import faust.streams as faust_streams

log = logging.getLogger(__name__)


def make_current(event: Any) -> None:
    """Make ``event`` Faust's current event in this task, as its stream does for the record it
    hands out: table writes go to the store and changelog partition of the current event
    (the context variable set here is one of the internals ``agents.transport`` checks).

    Only the context variable that tables read is set, never the stream's own
    ``current_event``: ``take_events`` fills its batch from that attribute in another task.
    """
    faust_streams._current_event.set(weakref.ref(event))


class Deliveries:
    """Whether the consumer is handing the records of a fetch to the streams' buffers, and a
    wait for the end of it (set by ``agents.transport.FieldcourtConsumer.getmany``).

    Faust's consumer hands a fetch's records on one at a time, each a few callbacks after the
    one before it; once it has handed on the last, what was fetched is all in the buffers, and
    a batch that waited for it waits for nothing more (``take_ready``)."""

    def __init__(self) -> None:
        self.active = False
        self._ended: asyncio.Future[None] | None = None

    def begin(self) -> None:
        self.active = True

    def end(self) -> None:
        self.active = False
        ended, self._ended = self._ended, None
        if ended is not None and not ended.done():
            ended.set_result(None)

    async def wait(self, timeout: float) -> None:
        """Until the hand-off under way ends, ``timeout`` seconds at most."""
        if not self.active:
            return
        if self._ended is None:
            self._ended = asyncio.get_running_loop().create_future()
        await asyncio.wait([self._ended], timeout=timeout)


async def take_ready(
    stream: faust.Stream[Any],
    max_: int,
    within: float,
    idle: float,
    deliveries: Deliveries | None = None,
) -> AsyncIterator[list[Any]]:
    """Faust's ``Stream.take_events`` (the records are acknowledged once the batch has been
    handled, when the caller asks for the next one), except when a batch is handed on: as
    soon as what the consumer fetched is all in, or ``within`` seconds after its first record,
    or when it holds ``max_``. ``take_events`` waits ``within`` from the moment it is asked for
    a batch whatever the buffer holds, so at a steady input every hop held each record
    ``within / 2`` on average, ``within`` at worst.

    What was fetched is all in once the consumer has handed the last record of its fetch to
    the streams (``deliveries``) and the stream has taken what its buffer held. Without
    ``deliveries``, once no record has joined the batch for ``idle`` seconds: records reach
    the buffer one at a time, each a few Faust callbacks after the one before it, so that
    pause held every record at least ``idle`` (too short a pause, and batches shrink until
    the worker falls behind: ``fieldcourt.settings``). Under load a backlog keeps the consumer
    handing records on, so batches are as large as with ``take_events``.

    Uses what ``take_events`` uses of the stream (``agents.transport`` checks the private
    pieces at start): a processor fills the batch while the stream is drained passively, and
    holds the next record back while a batch is out or full.
    """
    events: list[Any] = []
    added, room = asyncio.Event(), asyncio.Event()
    room.set()
    loop = asyncio.get_running_loop()

    async def add(value: Any) -> Any:
        try:
            while not room.is_set():
                if await stream.wait_for_stopped(room):  # type: ignore[arg-type]
                    return value  # not taken: read again after the restart
            event = stream.current_event
            if event is None:
                raise RuntimeError("take_ready: a record without its event")
            events.append(event)
            added.set()
            if len(events) >= max_:
                room.clear()
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("taking a batch failed: %r", exc)
            await stream.crash(exc)
        return value

    async def fill(ends: float) -> None:
        """Until what was fetched is all in (or the batch full, or ``ends``)."""
        if deliveries is None:
            seen = 0
            while seen < len(events) < max_ and (left := ends - loop.time()) > 0:
                seen = len(events)  # a look every ``idle``, not a wake-up per record
                await asyncio.sleep(min(idle, left))
            return
        channel = cast(faust.ChannelT[Any], stream.channel)
        while len(events) < max_ and (left := ends - loop.time()) > 0:
            if deliveries.active:
                await deliveries.wait(left)
            elif channel.empty():
                return
            else:  # let the stream take what its buffer holds
                seen = len(events)
                await asyncio.sleep(0)
                if len(events) == seen:  # held up (flow control): no busy loop
                    await asyncio.sleep(min(idle, left))

    enable_acks, stream.enable_acks = stream.enable_acks, False
    stream.add_processor(add)
    stream._enable_passive(cast(faust.ChannelT[Any], stream.channel.__aiter__()))
    try:
        while not stream.should_stop:
            if not events:
                added.clear()
                if await stream.wait_for_stopped(added):  # type: ignore[arg-type]
                    break
            await fill(loop.time() + within)
            room.clear()
            batch = list(events)
            try:
                yield batch
            finally:
                events.clear()
                for event in batch:
                    await stream.ack(event)
                room.set()
    finally:
        stream.enable_acks = enable_acks
        stream._processors.remove(add)
