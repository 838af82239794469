"""Run a coroutine up to its first suspension, and hand what is left of it on as an awaitable.

Faust's consumer hands every record to its streams with ``wait_first(callback(message),
suspend_flow.wait())``: four tasks and an ``asyncio.wait`` per record, so that a hand-over
stuck on a full stream buffer gives way when the flow is suspended (a rebalance). In a
profile of the worker draining the mixed stream that took 9 % of its time. Most hand-overs
never wait (the buffer has room), so ``FieldcourtConsumer.wait_first`` runs the callback here
first: finished, it is the winner Faust's race would have found; suspended, ``Resumed`` carries
it into the same race as before, from where it stopped.
"""

from __future__ import annotations

from collections.abc import Coroutine, Generator
from typing import Any


class Resumed:
    """The rest of a coroutine that already ran to its first suspension, where it yielded
    ``yielded``: awaiting this behaves as awaiting the coroutine would have from there on
    (``yield from``'s delegation, PEP 380): what the task sends or throws in goes to it."""

    def __init__(self, coro: Coroutine[Any, Any, Any], yielded: Any) -> None:
        self._coro = coro
        self._yielded = yielded

    def __await__(self) -> Generator[Any, Any, Any]:
        coro, yielded = self._coro, self._yielded
        while True:
            try:
                sent = yield yielded
            except GeneratorExit:
                coro.close()
                raise
            except BaseException as exc:  # a cancellation goes in as it came
                try:
                    yielded = coro.throw(exc)
                except StopIteration as stop:
                    return stop.value
            else:
                try:
                    yielded = coro.send(sent)
                except StopIteration as stop:
                    return stop.value


def run_until_suspended(coro: Coroutine[Any, Any, Any]) -> tuple[bool, Any]:
    """``(True, its result)`` if ``coro`` finishes without waiting; else ``(False,
    Resumed)``, the rest of it. An exception it raises before waiting propagates."""
    try:
        yielded = coro.send(None)
    except StopIteration as stop:
        return True, stop.value
    return False, Resumed(coro, yielded)
