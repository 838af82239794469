"""Agent plumbing: the changelog ledger (a record is acked only once its table writes are on
the broker), the origin header and the dead-letter headers."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from pathlib import Path
from types import SimpleNamespace
from typing import Any, NoReturn

import faust
import pytest

from agents.batches import Deliveries
from agents.io import (
    ORIGIN_HEADER,
    ChangelogLedger,
    Disclosures,
    deadletter_headers,
    origin_header,
    origin_of,
    tracked_table_class,
)
from fieldcourt.settings import load_settings
from streams.errors import Reason, RejectedInput


class DeliveryFailed(Exception):
    pass


def raise_instead_of_exit(what: str, exc: BaseException) -> NoReturn:
    raise DeliveryFailed(what) from exc


def pending() -> asyncio.Future[Any]:
    return asyncio.get_running_loop().create_future()


async def run_loop_until(condition: Callable[[], bool], turns: int = 20) -> None:
    """Give the event loop turns (no wall clock) until ``condition()`` holds."""
    for _ in range(turns):
        if condition():
            return
        await asyncio.sleep(0)
    raise AssertionError(f"not reached in {turns} turns of the event loop")


async def run_ready_callbacks(turns: int = 20) -> None:
    """Give the event loop turns, so that every callback that can run has run."""
    for _ in range(turns):
        await asyncio.sleep(0)


async def test_settle_waits_for_every_tracked_write() -> None:
    ledger = ChangelogLedger(raise_instead_of_exit)
    first, second = pending(), pending()
    ledger.track(first)
    ledger.track(second)
    settling = asyncio.ensure_future(ledger.settle())
    await run_loop_until(lambda: len(ledger) == 0)  # settling took both writes
    first.set_result("ack")
    await run_ready_callbacks()
    assert not settling.done()  # the second write is not acknowledged yet
    second.set_result("ack")
    await asyncio.wait_for(settling, 1)


async def test_writes_tracked_while_settling_wait_for_the_next_settle() -> None:
    """A steady stream of writes must not keep a commit waiting forever."""
    ledger = ChangelogLedger(raise_instead_of_exit)
    first, later = pending(), pending()
    ledger.track(first)
    settling = asyncio.ensure_future(ledger.settle())
    await run_loop_until(lambda: len(ledger) == 0)  # settling took the first write
    ledger.track(later)  # another record wrote meanwhile
    first.set_result("ack")
    await asyncio.wait_for(settling, 1)
    assert len(ledger) == 1  # the later write is left for the next commit
    later.set_result("ack")
    await asyncio.wait_for(ledger.settle(), 1)
    assert len(ledger) == 0


async def test_a_failed_write_stops_the_worker_not_the_record() -> None:
    ledger = ChangelogLedger(raise_instead_of_exit)
    failed = pending()
    ledger.track(failed)
    failed.set_exception(ConnectionError("broker gone"))
    with pytest.raises(DeliveryFailed, match="changelog write") as raised:
        await ledger.settle()
    assert isinstance(raised.value.__cause__, ConnectionError)


async def test_settle_without_writes_returns_at_once() -> None:
    await asyncio.wait_for(ChangelogLedger(raise_instead_of_exit).settle(), 1)


async def test_a_tracked_table_puts_each_changelog_write_in_the_ledger() -> None:
    ledger = ChangelogLedger(raise_instead_of_exit)
    app = faust.App(
        "fc-unit",
        Table=tracked_table_class(ledger),
        store="memory://",
        broker="kafka://127.0.0.1:9",
    )
    table = app.Table("state", default=None)
    table.send_changelog(0, b"key", b"value")
    table.send_changelog(0, b"key", None)
    assert len(ledger) == 2  # both buffered by Faust, neither acknowledged: settle must wait


async def test_the_app_tracks_every_table_and_settles_before_each_commit(tmp_path: Path) -> None:
    from agents.app import create_app
    from agents.transport import FieldcourtApp, FieldcourtConsumer

    app = create_app(load_settings(data_dir=tmp_path, store="memory", kafka_security="plaintext"))
    assert isinstance(app, FieldcourtApp)
    assert app.tables
    for table in app.tables.values():
        table.send_changelog(0, b"key", b"value")
    assert len(app.changelog) == len(app.tables)  # each table's write reached the ledger
    assert app.transport.Consumer is FieldcourtConsumer  # whose commits settle that ledger first


def test_the_origin_is_the_first_records_append_time_all_along_the_chain() -> None:
    field_record = origin_header(1_780_000_000.123)  # ingest: the field record's append time
    assert field_record == [(ORIGIN_HEADER, b"1780000000123")]
    # a stage passes on the origin it received, whatever its own record's append time
    assert origin_of([("other", b"x"), *field_record], 1_780_000_009.0) == 1_780_000_000.123
    assert origin_of(dict(field_record), 1_780_000_009.0) == 1_780_000_000.123
    assert origin_header(origin_of(tuple(field_record), 1_780_000_009.0)) == field_record


@pytest.mark.parametrize("headers", [None, [], [("other", b"1")], [(ORIGIN_HEADER, b"soon")]])
def test_without_a_readable_origin_a_record_starts_the_chain(headers: Any) -> None:
    assert origin_of(headers, 1_780_000_009.5) == 1_780_000_009.5
    assert origin_of(headers, None) is None
    assert origin_header(None) == []


def test_dead_letter_headers_keep_the_senders_but_never_let_them_pose_as_ours() -> None:
    message = SimpleNamespace(
        topic="field.arrests.v1",
        partition=2,
        offset=41,
        headers=[("trace-id", b"abc"), ("error.reason", b"all fine"), ("source.offset", b"0")],
    )
    headers = deadletter_headers(message, RejectedInput(Reason.INVALID_JSON, "not JSON"))
    assert headers == [
        ("trace-id", b"abc"),
        ("error.reason", b"invalid_json"),
        ("error.detail", b"not JSON"),
        ("source.topic", b"field.arrests.v1"),
        ("source.partition", b"2"),
        ("source.offset", b"41"),
    ]


class Producer:
    """Records what is handed to it; each send's acknowledgement is a future the test settles.
    Faust's producer and, under it, aiokafka's (``agents.io.producer_send``)."""

    def __init__(self) -> None:
        self.sent: list[tuple[str, bytes | None]] = []
        self.acks: list[asyncio.Future[Any]] = []

    def _ensure_producer(self) -> Producer:
        return self

    async def send(self, topic: str, value: bytes | None, **_: Any) -> Any:
        self.sent.append((topic, value))
        ack: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.acks.append(ack)
        return ack


def topic_on(producer: Producer, name: str) -> Any:
    app = SimpleNamespace(in_transaction=False, producer=producer)
    return SimpleNamespace(app=app, get_topic_name=lambda: name)


async def test_a_release_returns_only_once_what_its_agent_held_is_handed_on() -> None:
    """Agent A's disclosure taken by agent B's release (still waiting for A's audit record):
    A's own release must not return, and A acknowledge its records, before it is handed on."""
    producer = Producer()
    audit, cases = topic_on(producer, "audit"), topic_on(producer, "cases")
    disclosures = Disclosures()
    held, go = asyncio.Event(), asyncio.Event()

    async def agent(case: bytes, then: asyncio.Event | None = None) -> int:
        await disclosures.audit(audit, case, b"audit of " + case)
        disclosures.disclose(cases, case, b"case " + case)
        held.set()
        if then is not None:
            await then.wait()
        return await disclosures.release()

    by_a = asyncio.create_task(agent(b"C-1", go))
    await held.wait()
    by_b = asyncio.create_task(agent(b"C-2"))
    await asyncio.sleep(0)  # B took both audits and disclosures, and waits for the acks
    go.set()
    await asyncio.sleep(0.01)
    assert not by_a.done()
    assert producer.sent == [("audit", b"audit of C-1"), ("audit", b"audit of C-2")]
    for ack in producer.acks:
        ack.set_result(None)
    assert await by_a == 0
    assert producer.sent[2:] == [("cases", b"case C-1"), ("cases", b"case C-2")]
    assert await by_b == 2


async def test_an_agent_that_held_nothing_does_not_wait_for_another_agents_release() -> None:
    producer = Producer()
    audit, cases = topic_on(producer, "audit"), topic_on(producer, "cases")
    disclosures = Disclosures()

    async def agent_a() -> int:
        await disclosures.audit(audit, b"C-1", b"audit of v1")
        disclosures.disclose(cases, b"C-1", b"case v1")
        return await disclosures.release()

    by_a = asyncio.create_task(agent_a())
    await asyncio.sleep(0)  # A waits for its audit record's acknowledgement
    assert await asyncio.create_task(disclosures.release()) == 0  # an agent that held nothing
    assert not by_a.done()
    producer.acks[0].set_result(None)
    assert await by_a == 1


# -- the consumer's hand-offs, which end a batch's wait (``take_ready``) ----------------------


async def test_a_wait_for_deliveries_returns_at_once_when_none_is_under_way() -> None:
    deliveries = Deliveries()
    waiting = asyncio.ensure_future(deliveries.wait(3600))
    await run_loop_until(waiting.done)


async def test_a_wait_for_deliveries_ends_with_the_hand_off_under_way() -> None:
    deliveries = Deliveries()
    deliveries.begin()
    first = asyncio.ensure_future(deliveries.wait(3600))
    second = asyncio.ensure_future(deliveries.wait(3600))
    await run_ready_callbacks()
    assert not first.done()
    assert not second.done()
    deliveries.begin()  # the next record of the same fetch
    await run_ready_callbacks()
    assert not first.done()
    deliveries.end()
    await run_loop_until(lambda: first.done() and second.done())
    assert not deliveries.active


async def test_a_wait_for_deliveries_is_bounded() -> None:
    deliveries = Deliveries()
    deliveries.begin()
    await asyncio.wait_for(deliveries.wait(0.001), timeout=5)
    assert deliveries.active  # still handing on: the caller's batch goes anyway


@pytest.mark.parametrize(
    ("key", "value", "headers"),
    [
        (b"S-1", b'{"event_id":"e1"}', [("fieldcourt-origin", b"1780000000000")]),
        (None, b"\xff\x00not json", []),
        (b"k", None, None),  # a tombstone
        (None, None, [("a", b"")]),
    ],
)
async def test_a_raw_topics_events_are_the_ones_fausts_own_schema_decodes(
    key: bytes | None, value: bytes | None, headers: Any
) -> None:
    from faust.types import Message

    from agents.io import RawSchema, raw_topic

    app = faust.App("fc-unit-raw-schema")
    ours = raw_topic(app, "raw")
    assert isinstance(ours.schema, RawSchema)
    assert (ours.key_serializer, ours.value_serializer, ours.allow_empty) == ("raw", "raw", True)
    fausts = app.topic(
        "raw",
        key_type=bytes,
        value_type=bytes,
        key_serializer="raw",
        value_serializer="raw",
        allow_empty=True,
    )
    assert not isinstance(fausts.schema, RawSchema)
    message = Message("raw", 2, 41, 1_780_000_000.0, 1, headers, key, value, None)
    mine, theirs = await ours.decode(message), await fausts.decode(message)
    assert (mine.key, mine.value, mine.headers, mine.message) == (
        theirs.key,
        theirs.value,
        theirs.headers,
        theirs.message,
    )
    assert mine.message is message
