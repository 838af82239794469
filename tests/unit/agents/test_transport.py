"""Which partitions the consumer reads again: records read, neither processed nor acked."""

from __future__ import annotations

import asyncio
from types import SimpleNamespace
from typing import Any

import pytest
from faust.transport.drivers import aiokafka as faust_kafka
from faust.types import TP

from agents.batches import Deliveries
from agents.cache import CachedTable
from agents.io import ChangelogLedger
from agents.transport import (
    FaustInternalsMissing,
    FieldcourtApp,
    FieldcourtConsumer,
    check_faust_internals,
    skipped_partitions,
)
from tests.unit.agents.test_cache import CountingTable, Event, processing

A, B, C, D, E = (TP("field.arrests.v1", n) for n in range(5))


def test_records_read_past_the_commit_and_never_acked_are_skipped() -> None:
    read = {A: 4, B: 7, C: 0, D: 2, E: None}
    committed = {A: 5, B: 7, C: None, D: 2}
    acked = {D: [2]}  # processed, waiting for the next commit
    found = skipped_partitions(read, committed, acked, [A, B, C, D, E], busy=set())
    # A: everything read is committed; D: acked; E: nothing read yet
    assert found == {B: (7, 7), C: (0, None)}


def test_records_queued_or_being_processed_are_not_skipped() -> None:
    """Under load an agent's queue holds records read long ago: those are not skipped."""
    read, committed = {A: 526, B: 706}, {A: 470, B: 657}
    assert skipped_partitions(read, committed, {}, [A, B], busy={A}) == {B: (706, 657)}
    assert skipped_partitions(read, committed, {}, [A, B], busy={A, B}) == {}


def test_only_the_given_partitions_are_looked_at() -> None:
    assert skipped_partitions({A: 3}, {}, {}, [B], busy=set()) == {}


# -- the consumer's overrides, each run alone on a consumer built without a broker -------------


CHANGELOG = TP("fc-subject-state-changelog", 0)


def bare_consumer(**attrs: Any) -> FieldcourtConsumer:
    """A ``FieldcourtConsumer`` with only the attributes a method under test reads."""
    consumer = object.__new__(FieldcourtConsumer)
    tables = SimpleNamespace(changelog_topics={CHANGELOG.topic})
    defaults: dict[str, Any] = {"_suspects": {}, "_committing": 0}
    for name, value in {**defaults, **attrs}.items():
        object.__setattr__(consumer, name, value)
    app = attrs.get("app") or SimpleNamespace(tables=tables)
    object.__setattr__(consumer, "app", app)
    return consumer


async def test_a_commit_waits_for_the_state_of_every_offset_it_commits(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    order: list[str] = []
    write: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    ledger = ChangelogLedger()
    ledger.track(write)

    async def faust_commit(self: Any, offsets: Any, start_new_transaction: bool = True) -> bool:
        order.append("commit")
        return True

    monkeypatch.setattr(faust_kafka.Consumer, "_commit_offsets", faust_commit)
    consumer = bare_consumer(app=SimpleNamespace(changelog=ledger))
    committing = asyncio.ensure_future(consumer._commit_offsets({A: 5}))
    await asyncio.sleep(0)
    assert order == []  # the changelog write is not acknowledged yet
    assert consumer._committing == 1  # the skip check keeps off meanwhile
    write.set_result(None)
    assert await committing is True
    assert order == ["commit"]
    assert consumer._committing == 0


async def test_partitions_never_committed_are_read_from_their_beginning(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def faust_seek(self: Any) -> dict[TP, int]:
        return {A: 0, B: 12, CHANGELOG: 0}

    seeks: list[tuple[TP, ...]] = []

    async def seek_to_beginning(*partitions: TP) -> None:
        seeks.append(partitions)

    monkeypatch.setattr(faust_kafka.Consumer, "seek_to_committed", faust_seek)
    consumer = bare_consumer(_thread=SimpleNamespace(seek_to_beginning=seek_to_beginning))
    assert await consumer.seek_to_committed() == {A: 0, B: 12, CHANGELOG: 0}
    # A has no commit; B has one; the changelog is positioned by table recovery, not here
    assert seeks == [(A,)]


async def test_a_partition_found_skipped_twice_alike_is_read_again() -> None:
    conductor = SimpleNamespace(_tp_index={})
    app = SimpleNamespace(
        tables=SimpleNamespace(changelog_topics={CHANGELOG.topic}),
        rebalancing=False,
        in_recovery=False,
        topics=conductor,
    )
    sought: list[dict[TP, int]] = []

    async def seek_wait(offsets: dict[TP, int]) -> None:
        sought.append(offsets)

    consumer = bare_consumer(
        app=app,
        _read_offset={A: 9, B: 3},
        _committed_offset={A: 9, B: 4},
        _acked={},
        _unacked_messages=set(),
        seek_wait=seek_wait,
    )
    object.__setattr__(consumer, "assignment", lambda: {A, B, CHANGELOG})
    object.__setattr__(consumer, "flow_active", True)
    await consumer._rewind_skipped_once()
    assert sought == []  # first look: a suspect only
    await consumer._rewind_skipped_once()
    assert sought == [{A: 9}]  # second look, unchanged: read again from the commit
    consumer._read_offset[A] = 10  # it moved on: no longer the same suspect
    await consumer._rewind_skipped_once()
    await consumer._rewind_skipped_once()
    assert sought == [{A: 9}, {A: 9}]


async def test_deliveries_are_under_way_from_a_fetchs_first_record_to_its_last(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    fetched = [(A, "a1"), (B, "b1")]

    async def faust_getmany(self: Any, timeout: float) -> Any:
        for record in fetched:
            yield record

    monkeypatch.setattr(faust_kafka.Consumer, "getmany", faust_getmany)
    deliveries = Deliveries()
    consumer = bare_consumer(app=SimpleNamespace(deliveries=deliveries))
    seen: list[tuple[Any, bool]] = []
    async for record in consumer.getmany(timeout=1.0):
        seen.append((record, deliveries.active))
    assert seen == [((A, "a1"), True), ((B, "b1"), True)]
    assert not deliveries.active  # all handed on


def faust_consumer(**without: None) -> SimpleNamespace:
    """What of Faust's consumer the fixes read, less the attributes named in ``without``."""
    attrs: dict[str, Any] = {
        "_read_offset": {},
        "_committed_offset": {},
        "_acked": {},
        "_unacked_messages": set(),
        "suspend_flow": asyncio.Event(),
        "_stopped": asyncio.Event(),
        "_crashed": asyncio.Event(),
    }
    return SimpleNamespace(**{k: v for k, v in attrs.items() if k not in without})


def test_the_faust_internals_the_fixes_use_are_there() -> None:
    consumer = faust_consumer()
    check_faust_internals(consumer, SimpleNamespace(_tp_index={}))
    with pytest.raises(FaustInternalsMissing, match=r"Consumer._acked.*Conductor._tp_index"):
        check_faust_internals(faust_consumer(_acked=None), SimpleNamespace())
    with pytest.raises(FaustInternalsMissing, match=r"Consumer.suspend_flow"):
        check_faust_internals(faust_consumer(suspend_flow=None), SimpleNamespace(_tp_index={}))


def test_a_faust_without_the_overridden_methods_is_refused(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(faust_kafka.Consumer, "perform_seek", None)  # as if gone
    consumer = faust_consumer()
    with pytest.raises(FaustInternalsMissing, match="perform_seek"):
        check_faust_internals(consumer, SimpleNamespace(_tp_index={}))


def test_tables_whose_writes_go_straight_to_their_store_need_their_serializers() -> None:
    consumer = faust_consumer()
    whole = SimpleNamespace(key_type=None, value_type=None, key_serializer="json")
    whole.value_serializer = "json"
    check_faust_internals(consumer, SimpleNamespace(_tp_index={}), [whole])
    with pytest.raises(FaustInternalsMissing, match=r"Table.value_serializer"):
        check_faust_internals(
            consumer,
            SimpleNamespace(_tp_index={}),
            [SimpleNamespace(key_type=None, value_type=None, key_serializer="json")],
        )


class HeldWrites:
    """Writes a cache's changes as ``agents.table_writes`` does, one producer hand-off each;
    the first hand-off waits until ``room`` is set (a full producer buffer)."""

    def __init__(self) -> None:
        self.room = asyncio.Event()
        self.handed = 0
        self.written: list[tuple[str, Any]] = []

    async def write(self, cached: CachedTable) -> int:
        changes = cached.take_changes()
        for key, value, _event in changes:
            self.handed += 1
            if self.handed == 1:
                await self.room.wait()
            self.written.append((key, value))
        return len(changes)


async def test_two_agents_flushing_at_once_write_a_key_in_the_order_it_changed() -> None:
    """The second flush must not write a key's newer value while the first, holding the older
    one, waits for the producer: the older would land last, in the store and the changelog
    (a CI run restored a case at version 1 after its version 2 was published)."""
    app = FieldcourtApp("fc-unit-flush", changelog=ChangelogLedger())
    cached = CachedTable(CountingTable())
    app.caches.append(cached)
    writes = HeldWrites()
    app.table_writes = writes  # type: ignore[assignment]
    event = Event(partition=0)  # Faust holds the current event by a weak reference
    processing(event)
    cached["case|C-1"] = 1
    first = asyncio.ensure_future(app.flush_tables())  # the case agent's batch ends
    await asyncio.sleep(0)
    cached["case|C-1"] = 2  # its next batch, while another agent's batch ends
    second = asyncio.ensure_future(app.flush_tables())
    await asyncio.sleep(0)
    writes.room.set()
    assert await asyncio.gather(first, second) == [1, 1]
    assert writes.written == [("case|C-1", 1), ("case|C-1", 2)]


# -- a record's hand-over to its streams (``wait_first`` as Faust's drain loop calls it) -------


def flowing_consumer() -> FieldcourtConsumer:
    return bare_consumer(
        suspend_flow=asyncio.Event(),
        _stopped=asyncio.Event(),
        _crashed=asyncio.Event(),
        _loop=asyncio.get_running_loop(),
    )


async def test_a_hand_over_that_does_not_wait_is_done_without_a_task() -> None:
    consumer = flowing_consumer()
    tasks: list[str] = []

    async def callback(message: str) -> str:
        tasks.append(asyncio.current_task().get_name())  # type: ignore[union-attr]
        return message

    here = asyncio.current_task().get_name()  # type: ignore[union-attr]
    handover = callback("m")
    done = await consumer.wait_first(handover, consumer.suspend_flow.wait())
    assert (done.done, done.results, done.stopped) == ([handover], ["m"], False)
    assert tasks == [here]  # run in the drain loop's own task: no task was made


async def test_a_hand_over_that_waits_races_the_flow_as_faust_does() -> None:
    """Waiting for room, it finishes once there is room; or gives way when the flow is
    suspended (a rebalance), cancelled where it waits, as in Faust's own race."""
    consumer = flowing_consumer()
    room: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    cancelled: list[bool] = []

    async def callback() -> str:
        try:
            return await room
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    waiting = asyncio.ensure_future(consumer.wait_first(callback(), consumer.suspend_flow.wait()))
    await asyncio.sleep(0)
    assert not waiting.done()
    room.set_result("put")
    done = await waiting
    assert (done.results, done.stopped) == (["put"], False)

    room = asyncio.get_running_loop().create_future()
    waiting = asyncio.ensure_future(consumer.wait_first(callback(), consumer.suspend_flow.wait()))
    await asyncio.sleep(0)
    consumer.suspend_flow.set()
    done = await waiting
    assert done.results == [True]  # the flow's wait won
    await asyncio.sleep(0)
    assert cancelled == [True]


async def test_other_waits_and_a_stopped_consumer_take_fausts_path() -> None:
    consumer = flowing_consumer()

    async def callback() -> str:
        return "m"

    consumer._stopped.set()
    done = await consumer.wait_first(callback(), consumer.suspend_flow.wait())
    assert done.stopped is True  # Faust's answer once stopped, whoever won
    consumer._stopped.clear()
    other = asyncio.Event()
    other.set()
    done = await consumer.wait_first(callback(), other.wait())  # not the flow's event
    assert set(done.results) == {"m", True}
