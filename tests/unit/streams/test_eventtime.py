"""Lateness judged at the source, and the progress stages hear of (``streams.eventtime``)."""

from __future__ import annotations

import datetime as dt
from typing import Any

import orjson
import pytest

from streams.dedupe import Decision, Deduplicator, entry_key, event_id_of
from streams.eventtime import FEED_PREFIX, FeedProgress, Progress, SourceClock, Verdict

T0 = dt.datetime(2026, 4, 14, 12, tzinfo=dt.UTC)
DAY, US = dt.timedelta(days=1), dt.timedelta(microseconds=1)
LATENESS = dt.timedelta(days=7)


def test_an_event_is_late_only_behind_its_own_feed_by_more_than_the_bound() -> None:
    clock = SourceClock({})
    assert clock.judge("arrests:0", T0) == Verdict(late=False, high=T0)
    assert clock.judge("arrests:0", T0 - 7 * DAY) == Verdict(late=False, high=T0)  # on the bound
    assert clock.judge("arrests:0", T0 - 7 * DAY - US).late is True
    assert clock.judge("arrests:0", T0 - 8 * DAY).late is True
    # another feed's progress says nothing about this one
    assert clock.judge("arrests:1", T0 - 30 * DAY).late is False
    assert clock.judge("seizures:0", T0 - 30 * DAY).late is False
    # a late event does not move its feed back; a newer one moves it on
    assert clock.high("arrests:0") == T0
    assert clock.judge("arrests:0", T0 + DAY) == Verdict(late=False, high=T0 + DAY)


def test_the_bound_is_a_parameter_and_the_clock_survives_a_rebuild() -> None:
    store: dict[str, Any] = {}
    SourceClock(store, lateness=DAY).judge("f", T0)
    copied = orjson.loads(orjson.dumps(store))
    assert list(copied) == [FEED_PREFIX + "f"]
    assert SourceClock(copied, lateness=DAY).judge("f", T0 - 2 * DAY).late is True
    assert SourceClock(copied).judge("f", T0 - 2 * DAY).late is False


def test_a_record_read_again_after_a_crash_keeps_its_first_verdict() -> None:
    """The feed moved on after the record (its state outran the committed offset): judged
    again, it would be late. The verdict stored with its dedupe entry is the first one."""
    store: dict[str, Any] = {}
    dedupe, clock = Deduplicator(store), SourceClock(store)
    position = ("field.arrests.v1", 0, 10)

    def admit(event_id: str, at: dt.datetime, offset: int) -> Any:
        where = ("field.arrests.v1", 0, offset)
        return dedupe.admit(event_id, "fp-" + event_id, where, at, lambda: clock.judge("f", at))

    first = admit("e1", T0, 10)
    assert first.decision is Decision.FIRST
    assert admit("e1", T0, 10).verdict == first.verdict  # a replay
    admit("e2", T0 + 30 * DAY, 11)
    again = dedupe.admit("e1", "fp-e1", position, T0, lambda: clock.judge("f", T0))
    assert again.decision is Decision.REPLAY
    assert again.verdict == Verdict(late=False, high=T0)
    # a redelivery (another record, same payload) is dropped: no verdict to act on
    assert admit("e1", T0, 12).decision is Decision.DUPLICATE


@pytest.mark.parametrize("event_id", ["__feed__:f", "_x", "_~y", "plain"])
def test_no_event_id_can_take_the_place_of_a_reserved_key(event_id: str) -> None:
    store: dict[str, Any] = {}
    clock = SourceClock(store)
    clock.judge("f", T0)
    Deduplicator(store).admit(event_id, "fp", ("t", 0, 1), T0, lambda: clock.judge("f", T0))
    assert clock.high("f") == T0
    assert event_id_of(entry_key(event_id)) == event_id
    assert sum(1 for key in store if key.startswith("__")) == 1


class Ticks:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_low_watermark_is_the_slowest_feed_less_the_bound() -> None:
    ticks = Ticks()
    progress = FeedProgress({}, LATENESS, frozenset({"a", "b"}), idle_s=60, monotonic=ticks)
    assert progress.low(0) is None  # nothing heard yet
    progress.observe(0, Progress("a", T0 + 10 * DAY))
    assert progress.low(0) is None  # b may still carry anything
    progress.observe(0, Progress("b", T0))
    assert progress.low(0) == T0 - LATENESS
    assert progress.low(1) is None  # partitions hear separately
    progress.observe(0, Progress("b", T0 - DAY))  # behind its own mark: no step back
    assert progress.low(0) == T0 - LATENESS


def test_a_feed_silent_for_the_idle_limit_holds_nothing_back() -> None:
    ticks = Ticks()
    progress = FeedProgress({}, LATENESS, frozenset({"a", "b"}), idle_s=60, monotonic=ticks)
    progress.observe(0, Progress("a", T0))
    ticks.now = 59
    assert progress.low(0) is None
    ticks.now = 61  # b never spoke since the start; a just did
    progress.observe(0, Progress("a", T0))
    assert progress.low(0) == T0 - LATENESS
    ticks.now = 200  # every feed quiet: nothing known to be safe, nothing purged
    assert progress.low(0) is None
    progress.observe(0, Progress("b", T0 - 3 * DAY))  # b speaks again: it counts again
    assert progress.low(0) == T0 - 3 * DAY - LATENESS


def test_marks_are_persisted_in_steps_and_come_back_after_a_restart() -> None:
    store: dict[str, Any] = {}
    progress = FeedProgress(store, LATENESS, frozenset({"a"}))
    progress.observe(2, Progress("a", T0))
    progress.observe(2, Progress("a", T0 + dt.timedelta(minutes=30)))  # under a step: memory
    assert progress.low(2) == T0 + dt.timedelta(minutes=30) - LATENESS
    restarted = FeedProgress(orjson.loads(orjson.dumps(store)), LATENESS, frozenset({"a"}))
    # behind the truth by less than a step: purges only get more cautious
    assert restarted.low(2) == T0 - LATENESS
    progress.observe(2, Progress("a", T0 + dt.timedelta(hours=2)))
    assert FeedProgress(dict(store), LATENESS).low(2) == T0 + dt.timedelta(hours=2) - LATENESS


def test_progress_travels_as_text() -> None:
    progress = Progress("field.arrests.v1:3", T0 + 5 * US)
    assert Progress.decode(progress.encode()) == progress
