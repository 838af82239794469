"""Replay without a broker: reading, bad lines, event-time order, pacing, progress display."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import re
import time
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson
import pytest
from rich.console import Console

import fieldcourt.replay as replay_module
from fieldcourt.replay import (
    BadLine,
    BarProgress,
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


class ListSink:
    """Records what would have been published, with the wall time of each send."""

    def __init__(self) -> None:
        self.sent: list[tuple[float, Record]] = []
        self.flushed = 0

    async def send(self, record: Record) -> None:
        self.sent.append((time.monotonic(), record))

    async def flush(self) -> None:
        self.flushed += 1

    async def __aenter__(self) -> ListSink:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
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


def test_speed_scales_event_time() -> None:
    """4 events 1 s apart at 10x: about 0.3 s. A lower bound only: timings are benchmarks'."""
    sink = ListSink()
    started = time.monotonic()
    counts = asyncio.run(publish(_spaced(4, dt.timedelta(seconds=1)), sink, speed=10))
    assert time.monotonic() - started >= 0.28
    assert counts == {ARRESTS: 4}
    assert [r.key for _, r in sink.sent] == [b"p0", b"p1", b"p2", b"p3"]
    assert sink.flushed == 1


def test_long_gaps_are_capped() -> None:
    """A day between events, in real time, takes max_gap_s, not a day."""
    sink = ListSink()
    started = time.monotonic()
    asyncio.run(publish(_spaced(3, dt.timedelta(days=1)), sink, speed=1, max_gap_s=0.1))
    elapsed = time.monotonic() - started
    assert 0.19 <= elapsed < 30
    times = [t for t, _ in sink.sent]
    assert times[2] - times[1] >= 0.09


def test_as_fast_as_possible_does_not_wait() -> None:
    sink = ListSink()
    started = time.monotonic()
    asyncio.run(publish(_spaced(50, dt.timedelta(hours=1)), sink, speed=None))
    assert time.monotonic() - started < 5
    assert len(sink.sent) == 50


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
    asyncio.run(publish(_spaced(3, dt.timedelta(seconds=1)), ListSink(), speed=50, progress=view))
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

    def fake_sink(bootstrap: str) -> ListSink:
        sinks.append(ListSink())
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
    report = replay(path, "unused:9092", speed=600, progress=True)  # a minute = 0.1 s
    assert [r.key for _, r in sinks[0].sent] == [b"s", b"early", b"late"]
    assert report.published == 3
    assert report.per_topic == {"field.seizures.v1": 1, ARRESTS: 2}
    assert report.bad_lines == [BadLine(2, report.bad_lines[0].reason)]
    assert report.elapsed_s >= 0.18
    captured = capsys.readouterr()
    assert "line 2: invalid JSON" in captured.err
    assert "replay: 3/3 published" in captured.out  # stdout is not a terminal here
