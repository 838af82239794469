"""Replay without a broker: reading, bad lines, event-time order, pacing (on a fake clock),
progress display."""

from __future__ import annotations

import asyncio
import datetime as dt
import inspect
import io
import re
import time
from pathlib import Path
from typing import Any

import orjson
import pytest
from rich.console import Console

import fieldcourt.replay as replay_module
from fieldcourt.replay import (
    SYSTEM_CLOCK,
    BadLine,
    BarProgress,
    Clock,
    LineProgress,
    NoProgress,
    Record,
    in_event_time_order,
    parse_line,
    progress_view,
    publish,
    read_records,
    records_from_events,
    replay,
)
from tests.factories import BASE_TIME, raw_arrest, raw_seizure

ARRESTS = "field.arrests.v1"


def line(topic: str, value: Any, **extra: Any) -> bytes:
    return orjson.dumps({"topic": topic, "value": value, **extra}) + b"\n"


def arrest_at(minutes: float, event_id: str, offset: str = "+00:00") -> dict[str, Any]:
    moment = BASE_TIME + dt.timedelta(minutes=minutes)
    tz = dt.timezone(dt.timedelta(hours=int(offset[:3])))
    return raw_arrest(event_id=event_id, occurred_at=moment.astimezone(tz).isoformat())


class FakeClock:
    """A monotonic clock that moves only when slept on (or told to): no wall time passes."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def monotonic(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds

    def clock(self) -> Clock:
        return Clock(monotonic=self.monotonic, sleep=self.sleep)


class ListSink:
    """Records what would have been published, with the clock's time of each send; a send takes
    ``send_s`` on that clock."""

    def __init__(self, clock: FakeClock | None = None, send_s: float = 0.0) -> None:
        self.clock = clock or FakeClock()
        self.send_s = send_s
        self.sent: list[tuple[float, Record]] = []
        self.flushed = 0

    async def send(self, record: Record) -> None:
        self.sent.append((self.clock.now, record))
        self.clock.now += self.send_s

    async def flush(self) -> None:
        self.flushed += 1

    async def __aenter__(self) -> ListSink:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.flush()


# ---------------------------------------------------------------------------- reading


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"topic": "field.arrests.v1", "value": {', "invalid JSON"),
        (b"\xff\xfe not utf-8", "invalid JSON"),
        (b'["field.arrests.v1", {}]', "not a JSON object"),
        (b'{"value": {}}', "missing topic"),
        (b'{"topic": 3, "value": {}}', "topic is not a string"),
        (b'{"topic": "court.p12.cases.v1", "value": {}}', "unknown topic 'court.p12.cases.v1'"),
        (b'{"topic": "field.arrests.v1"}', "missing value"),
        (b'{"topic": "field.arrests.v1", "key": 12, "value": {}}', "key is neither"),
    ],
)
def test_bad_lines_say_why(raw: bytes, reason: str) -> None:
    parsed = parse_line(7, raw)
    assert isinstance(parsed, BadLine)
    assert parsed.line == 7
    assert reason in parsed.reason
    assert str(parsed).startswith("line 7: ")


def test_good_lines_and_their_keys() -> None:
    event = raw_arrest(event_id="e-1")
    record = parse_line(1, line(ARRESTS, event))
    assert isinstance(record, Record)
    assert record.key == b"e-1"  # no key: the event_id
    assert orjson.loads(record.value) == event
    assert record.occurred_at == dt.datetime.fromisoformat(event["occurred_at"])
    keyed = parse_line(2, line(ARRESTS, event, key="other"))
    assert isinstance(keyed, Record)
    assert keyed.key == b"other"
    unkeyed = parse_line(3, line(ARRESTS, event, key=None))
    assert isinstance(unkeyed, Record)
    assert unkeyed.key is None
    odd = parse_line(4, line(ARRESTS, "not an object"))  # ingest will dead-letter it
    assert isinstance(odd, Record)
    assert odd.key is None
    assert odd.occurred_at is None
    assert parse_line(5, b"  \n") is None


def test_bad_lines_are_reported_with_their_number_and_skipped(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "feed.jsonl"
    path.write_bytes(
        line(ARRESTS, arrest_at(0, "a"))
        + b"not json\n"
        + b"\n"
        + line("field.unknown.v1", {})
        + line(ARRESTS, arrest_at(1, "b"))
        + b'{"topic": "field.seizures.v1"}'  # last line without a newline
    )
    records, bad = read_records(path)
    assert [r.key for r in records] == [b"a", b"b"]
    assert [r.line for r in records] == [1, 5]
    assert [b.line for b in bad] == [2, 4, 6]
    err = capsys.readouterr().err
    assert "replay: skipped line 2: invalid JSON" in err
    assert "replay: skipped line 4: unknown topic 'field.unknown.v1'" in err
    assert "replay: skipped line 6: missing value" in err


def test_event_time_order_is_stable_and_reads_offsets() -> None:
    events = [
        (ARRESTS, arrest_at(30, "third", "+02:00")),
        (ARRESTS, arrest_at(10, "first", "-05:00")),
        (ARRESTS, arrest_at(20, "second-a")),
        (ARRESTS, arrest_at(20, "second-b", "+01:00")),  # same instant: file order
    ]
    records = records_from_events(events)
    no_time = Record(ARRESTS, b"x", b"{}", None, line=99)
    ordered = in_event_time_order([*records[:1], no_time, *records[1:]])
    assert [r.key for r in ordered] == [b"first", b"second-a", b"second-b", b"third", b"x"]


# ---------------------------------------------------------------------------- pacing


def _spaced(count: int, gap: dt.timedelta) -> list[Record]:
    events = [
        (ARRESTS, raw_arrest(event_id=f"p{i}", occurred_at=(BASE_TIME + i * gap).isoformat()))
        for i in range(count)
    ]
    return records_from_events(events)


def _paced(
    records: list[Record], speed: float | None, send_s: float = 0.0, **kwargs: Any
) -> tuple[FakeClock, ListSink]:
    """``publish`` on a fake clock: what it slept and when each record was sent."""
    clock = FakeClock()
    sink = ListSink(clock, send_s)
    counts = asyncio.run(publish(records, sink, speed=speed, clock=clock.clock(), **kwargs))
    assert counts == {ARRESTS: len(records)}
    assert [r.key for _, r in sink.sent] == [r.key for r in records]
    assert sink.flushed == 1
    return clock, sink


@pytest.mark.parametrize(
    ("speed", "gap"),
    [
        (10, 0.1),  # 1 s of event time in 0.1 s
        (1, 1.0),  # real time
        (4, 0.25),
        (0.5, 2.0),  # slower than real time: 2 s, the cap, not reached
    ],
)
def test_speed_scales_event_time(speed: float, gap: float) -> None:
    """4 events 1 s apart: each gap waits 1 s / speed, no more, no less."""
    clock, sink = _paced(_spaced(4, dt.timedelta(seconds=1)), speed)
    assert clock.sleeps == pytest.approx([gap] * 3)
    assert [t for t, _ in sink.sent] == pytest.approx([0, gap, 2 * gap, 3 * gap])


def test_waits_count_from_the_start_so_slow_sends_do_not_drift() -> None:
    clock, sink = _paced(_spaced(4, dt.timedelta(seconds=1)), speed=10, send_s=0.03)
    assert clock.sleeps == pytest.approx([0.07] * 3)  # the gap less the send's time
    assert [t for t, _ in sink.sent] == pytest.approx([0, 0.1, 0.2, 0.3])


def test_sends_slower_than_the_pace_do_not_wait() -> None:
    clock, sink = _paced(_spaced(4, dt.timedelta(seconds=1)), speed=10, send_s=0.15)
    assert clock.sleeps == []
    assert [t for t, _ in sink.sent] == pytest.approx([0, 0.15, 0.3, 0.45])


def test_long_gaps_are_capped() -> None:
    """A day between events, in real time, takes max_gap_s, not a day."""
    clock, _ = _paced(_spaced(3, dt.timedelta(days=1)), speed=1, max_gap_s=0.1)
    assert clock.sleeps == pytest.approx([0.1, 0.1])


def test_unequal_gaps_equal_times_and_records_without_a_time() -> None:
    """A gap is measured from the last record that had a time; equal times do not wait."""
    timed = _spaced(6, dt.timedelta(seconds=1))  # at 0, 1, ..., 5 s
    untimed = Record(ARRESTS, b"x", b"{}", None)
    records = [timed[0], untimed, timed[3], timed[3], timed[5]]
    clock, _ = _paced(records, speed=2)
    assert clock.sleeps == pytest.approx([1.5, 1.0])  # 3 s and 2 s of event time at 2x


def test_as_fast_as_possible_does_not_wait() -> None:
    clock, sink = _paced(_spaced(50, dt.timedelta(hours=1)), speed=None)
    assert clock.sleeps == []
    assert len(sink.sent) == 50


def test_the_real_clock_is_the_default() -> None:
    assert SYSTEM_CLOCK.monotonic is time.monotonic
    assert SYSTEM_CLOCK.sleep is asyncio.sleep
    assert inspect.signature(publish).parameters["clock"].default is SYSTEM_CLOCK


def test_speed_and_as_fast_as_possible_exclude_each_other(tmp_path: Path) -> None:
    path = tmp_path / "empty.jsonl"
    path.write_bytes(b"")
    with pytest.raises(ValueError, match="not both"):
        replay(path, "127.0.0.1:1", speed=2, as_fast_as_possible=True)
    with pytest.raises(ValueError, match="> 0"):
        replay(path, "127.0.0.1:1", speed=0)


# ---------------------------------------------------------------------------- progress


def test_progress_is_plain_lines_when_output_is_not_a_terminal() -> None:
    out = io.StringIO()
    view = progress_view(True, out, "replay", interval_s=0.0)
    assert isinstance(view, LineProgress)
    clock = FakeClock().clock()
    records = _spaced(3, dt.timedelta(seconds=1))
    asyncio.run(publish(records, ListSink(), speed=50, progress=view, clock=clock))
    lines = out.getvalue().splitlines()
    assert lines[0] == "replay: 3 records to publish"
    assert any(" rec/s, ETA " in text for text in lines[1:-1])
    assert lines[-1].startswith("replay: 3/3 published in ")
    assert "\x1b" not in out.getvalue()  # no cursor movement, no colour codes


def test_progress_bar_on_a_terminal_and_none_when_disabled() -> None:
    assert isinstance(progress_view(False), NoProgress)
    out = io.StringIO()
    bar = BarProgress(Console(file=out, force_terminal=True, width=100), "replay")
    asyncio.run(publish(_spaced(3, dt.timedelta(0)), ListSink(), speed=None, progress=bar))
    assert "rec/s" in out.getvalue()
    assert "3/3" in out.getvalue()
    plain = re.sub(r"\x1b\[[0-9;?]*[a-zA-Z]", "", out.getvalue())  # without the colours
    assert re.search(r"ETA (\d+:\d\d:\d\d|-:--:--)", plain)  # the time remaining


def test_replay_reads_sorts_paces_and_reports(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The whole command path, with the Kafka sink swapped for a list."""
    sinks: list[ListSink] = []
    clock = FakeClock()

    def fake_sink(bootstrap: str) -> ListSink:
        sinks.append(ListSink(clock))
        return sinks[-1]

    monkeypatch.setattr(replay_module, "KafkaSink", fake_sink)
    path = tmp_path / "feed.jsonl"
    seizure = raw_seizure(event_id="s", occurred_at=BASE_TIME.isoformat())
    path.write_bytes(
        line(ARRESTS, arrest_at(2, "late"))
        + b"{oops\n"
        + line("field.seizures.v1", seizure)
        + line(ARRESTS, arrest_at(1, "early"))
    )
    report = replay(path, "unused:9092", speed=600, progress=True, clock=clock.clock())
    assert [r.key for _, r in sinks[0].sent] == [b"s", b"early", b"late"]
    assert clock.sleeps == pytest.approx([0.1, 0.1])  # a minute at 600x
    assert [t for t, _ in sinks[0].sent] == pytest.approx([0, 0.1, 0.2])
    assert report.published == 3
    assert report.per_topic == {"field.seizures.v1": 1, ARRESTS: 2}
    assert report.bad_lines == [BadLine(2, report.bad_lines[0].reason)]
    assert report.elapsed_s == pytest.approx(0.2)
    captured = capsys.readouterr()
    assert "line 2: invalid JSON" in captured.err
    assert "replay: 3/3 published" in captured.out  # stdout is not a terminal here
