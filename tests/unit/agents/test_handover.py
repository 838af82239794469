"""A coroutine run up to where it waits, and the rest of it awaited as the whole would be."""

from __future__ import annotations

import asyncio

import pytest

from agents.handover import run_until_suspended


async def test_a_coroutine_that_never_waits_finishes_on_the_spot() -> None:
    async def hand_over(n: int) -> int:
        return n + 1

    assert run_until_suspended(hand_over(1)) == (True, 2)


async def test_the_rest_of_a_waiting_coroutine_finishes_it_with_what_it_waited_for() -> None:
    room: asyncio.Future[str] = asyncio.get_running_loop().create_future()
    steps: list[str] = []

    async def hand_over() -> str:
        steps.append("before")
        got = await room
        await asyncio.sleep(0)  # a bare yield to the loop on the way
        steps.append("after")
        return got + "!"

    finished, rest = run_until_suspended(hand_over())
    assert finished is False
    assert steps == ["before"]
    task = asyncio.ensure_future(rest)
    await asyncio.sleep(0)
    assert not task.done()
    room.set_result("room")
    assert await task == "room!"
    assert steps == ["before", "after"]


async def test_cancelling_the_rest_cancels_the_coroutine_where_it_waits() -> None:
    room: asyncio.Future[None] = asyncio.get_running_loop().create_future()
    cleaned: list[bool] = []

    async def hand_over() -> None:
        try:
            await room
        finally:
            cleaned.append(True)

    _, rest = run_until_suspended(hand_over())
    task = asyncio.ensure_future(rest)
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert cleaned == [True]


async def test_errors_come_out_where_they_happen() -> None:
    room: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def at_once() -> None:
        raise ValueError("before any wait")

    async def later() -> None:
        await room
        raise KeyError("after the wait")

    with pytest.raises(ValueError, match="before any wait"):
        run_until_suspended(at_once())
    _, rest = run_until_suspended(later())
    task = asyncio.ensure_future(rest)
    room.set_result(None)
    with pytest.raises(KeyError, match="after the wait"):
        await task
