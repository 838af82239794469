"""``fieldcourt replay``: publish a file of field events to Kafka, in event-time order.

The file is the replay format of ``docs/replay-format.md``: one JSON object per line,
``{"topic": "field.arrests.v1", "key": "<event_id>", "value": {...}}``. It is how the demo
plays the simulated story and how a police integrator tries a feed, so a bad line (not JSON,
no ``topic`` or ``value``, a topic that is not a ``field.*.v1`` topic) is reported on stderr
with its line number and skipped: never fatal. Whether a value matches its schema is ingest's
business: it is published, and ingest dead-letters it with a reason the integrator can read.

Order: the good lines are sorted by the value's ``occurred_at`` (a stable sort, so equal times
keep the file's order); the pipeline accepts events up to 7 days late, but in order is how a
live feed arrives. A line whose ``occurred_at`` cannot be read keeps its place after the line
before it.

Speed: ``speed`` N plays N times faster than event time: between two events it waits their
``occurred_at`` gap divided by N, but never more than ``max_gap_s`` (2 s) of wall time, so that
a quiet night, or the months between two beats of a story, do not stall a replay. The waits are
counted from the start (not from each send), so slow sends do not add up to drift.
``as_fast_as_possible`` does not wait at all. Pacing reads and waits on a ``Clock``: the real
monotonic clock and ``asyncio.sleep`` unless a caller (a test) gives its own.

Publishing uses a plain aiokafka producer (``acks="all"``, idempotence on, the record key the
``event_id``); ``fieldcourt simulate --publish`` goes through the same ``publish_records``.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import functools
import sys
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any, ParamSpec, Protocol, TextIO, TypeVar

import orjson
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from fieldcourt.kafka_auth import ClientOptions
from fieldcourt.topics import FIELD_TOPICS, MAX_MESSAGE_BYTES, PRODUCER_BATCH_BYTES

#: A gap between two events never takes longer than this in wall time (seconds).
DEFAULT_MAX_GAP_S = 2.0
#: Seconds between two progress lines when the output is not a terminal.
DEFAULT_INTERVAL_S = 5.0
#: Sends awaited in one go: bounds memory, keeps the producer's batches full.
_MAX_PENDING = 2000

_P = ParamSpec("_P")
_T = TypeVar("_T")


@dataclass(frozen=True)
class Clock:
    """Where pacing reads the time (seconds, monotonic) and waits."""

    monotonic: Callable[[], float] = time.monotonic
    sleep: Callable[[float], Awaitable[None]] = asyncio.sleep


SYSTEM_CLOCK = Clock()


@dataclass(frozen=True)
class Record:
    """One line to publish: ``value`` already encoded, ``occurred_at`` for ordering."""

    topic: str
    key: bytes | None
    value: bytes
    occurred_at: dt.datetime | None
    line: int | None = None


@dataclass(frozen=True)
class BadLine:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ReplayReport:
    """What a replay did: published records per topic, the bad lines it skipped."""

    per_topic: dict[str, int] = field(default_factory=dict)
    bad_lines: list[BadLine] = field(default_factory=list)
    #: Lines published without a readable ``occurred_at`` (kept in file order).
    unordered: list[int] = field(default_factory=list)
    elapsed_s: float = 0.0

    @property
    def published(self) -> int:
        return sum(self.per_topic.values())


# --------------------------------------------------------------------------------------------
# Reading


def _event_time(value: Any) -> dt.datetime | None:
    """``occurred_at`` of a value, when it is an RFC 3339 timestamp with an offset."""
    raw = value.get("occurred_at") if isinstance(value, dict) else None
    if not isinstance(raw, str):
        return None
    try:
        moment = dt.datetime.fromisoformat(raw)
    except ValueError:
        return None
    return moment if moment.utcoffset() is not None else None


def parse_line(number: int, raw: bytes) -> Record | BadLine | None:
    """One line of a replay file: a record, a bad line with its reason, or None when blank."""
    if not raw.strip():
        return None
    try:
        doc = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        return BadLine(number, f"invalid JSON ({exc})")
    if not isinstance(doc, dict):
        return BadLine(number, "not a JSON object")
    topic = doc.get("topic")
    if not isinstance(topic, str):
        return BadLine(number, "missing topic" if topic is None else "topic is not a string")
    if topic not in FIELD_TOPICS:
        return BadLine(
            number, f"unknown topic {topic!r} (expected one of {', '.join(FIELD_TOPICS)})"
        )
    if "value" not in doc:
        return BadLine(number, "missing value")
    value = doc["value"]
    if "key" in doc:
        key = doc["key"]
        if key is not None and not isinstance(key, str):
            return BadLine(number, "key is neither a string nor null")
    else:
        event_id = value.get("event_id") if isinstance(value, dict) else None
        key = event_id if isinstance(event_id, str) else None
    return Record(
        topic=topic,
        key=None if key is None else key.encode(),
        value=orjson.dumps(value),
        occurred_at=_event_time(value),
        line=number,
    )


def read_records(path: str | Path, err: TextIO | None = None) -> tuple[list[Record], list[BadLine]]:
    """The good lines of a replay file in file order, and the bad ones (reported on ``err``)."""
    records: list[Record] = []
    bad: list[BadLine] = []
    with Path(path).open("rb") as lines:
        for number, raw in enumerate(lines, start=1):
            parsed = parse_line(number, raw)
            if isinstance(parsed, BadLine):
                bad.append(parsed)
                print(f"replay: skipped {parsed}", file=err or sys.stderr)
            elif parsed is not None:
                records.append(parsed)
    return records, bad


def in_event_time_order(records: Iterable[Record]) -> list[Record]:
    """Sorted by ``occurred_at``, stably; a record without one stays after its predecessor."""
    keyed: list[tuple[dt.datetime | None, Record]] = []
    previous: dt.datetime | None = None
    for record in records:
        previous = record.occurred_at or previous
        keyed.append((previous, record))
    floor = dt.datetime.min.replace(tzinfo=dt.UTC)
    keyed.sort(key=lambda item: item[0] or floor)
    return [record for _, record in keyed]


def records_from_events(events: Iterable[tuple[str, dict[str, Any]]]) -> list[Record]:
    """Records for ``(topic, event)`` pairs, as ``fieldcourt.simulate`` produces them."""
    return [
        Record(topic, event["event_id"].encode(), orjson.dumps(event), _event_time(event))
        for topic, event in events
    ]


# --------------------------------------------------------------------------------------------
# Progress


class ProgressView(Protocol):
    def start(self, total: int) -> None: ...
    def advance(self) -> None: ...
    def finish(self) -> None: ...


class NoProgress:
    def start(self, total: int) -> None:
        pass

    def advance(self) -> None:
        pass

    def finish(self) -> None:
        pass


class _RateColumn(ProgressColumn):
    """Records per second: rich's own speed column counts bytes."""

    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("  -- rec/s" if speed is None else f"{speed:7.0f} rec/s", style="cyan")


class BarProgress:
    """A rich progress bar with rate and ETA, for a terminal."""

    def __init__(self, console: Console, label: str) -> None:
        self._progress = Progress(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _RateColumn(),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            console=console,
        )
        self._label = label
        self._task: Any = None

    def start(self, total: int) -> None:
        self._task = self._progress.add_task(self._label, total=total)
        self._progress.start()

    def advance(self) -> None:
        self._progress.advance(self._task)

    def finish(self) -> None:
        self._progress.stop()


class LineProgress:
    """Plain lines every ``interval_s`` seconds, for logs and pipes (no cursor tricks)."""

    def __init__(self, out: TextIO, label: str, interval_s: float) -> None:
        self._out, self._label, self._interval = out, label, interval_s
        self._total = self._done = 0
        self._started = self._last = 0.0

    def start(self, total: int) -> None:
        self._total = total
        self._started = self._last = time.monotonic()
        self._say(f"{self._label}: {total} records to publish")

    def advance(self) -> None:
        self._done += 1
        now = time.monotonic()
        if now - self._last >= self._interval and self._done < self._total:
            self._last = now
            elapsed = now - self._started
            rate = self._done / elapsed if elapsed > 0 else 0.0
            eta = (self._total - self._done) / rate if rate > 0 else 0.0
            self._say(
                f"{self._label}: {self._done}/{self._total} ({100 * self._done // self._total}%), "
                f"{rate:.0f} rec/s, ETA {eta:.0f} s"
            )

    def finish(self) -> None:
        elapsed = time.monotonic() - self._started
        rate = self._done / elapsed if elapsed > 0 else 0.0
        self._say(
            f"{self._label}: {self._done}/{self._total} published in {elapsed:.1f} s "
            f"({rate:.0f} rec/s)"
        )

    def _say(self, line: str) -> None:
        print(line, file=self._out, flush=True)


def progress_view(
    enabled: bool,
    out: TextIO | None = None,
    label: str = "replay",
    interval_s: float = DEFAULT_INTERVAL_S,
) -> ProgressView:
    """A bar on a terminal, periodic lines otherwise, nothing when disabled."""
    if not enabled:
        return NoProgress()
    stream = out or sys.stdout
    console = Console(file=stream)
    if console.is_terminal:
        return BarProgress(console, label)
    return LineProgress(stream, label, interval_s)


# --------------------------------------------------------------------------------------------
# Publishing


class Sink(Protocol):
    """Where records go: Kafka in production, a list in the unit tests."""

    async def send(self, record: Record) -> None: ...
    async def flush(self) -> None: ...


class KafkaSink:
    """A plain aiokafka producer: acks from all replicas, idempotent, key = event_id."""

    def __init__(self, kafka: ClientOptions) -> None:
        from aiokafka import AIOKafkaProducer

        self._producer = AIOKafkaProducer(
            **kafka,
            acks="all",
            enable_idempotence=True,
            # Up to the field topics' limit, so that ingest, not the producer, judges size.
            max_request_size=MAX_MESSAGE_BYTES,
            max_batch_size=PRODUCER_BATCH_BYTES,
            linger_ms=5,
        )
        self._pending: list[asyncio.Future[Any]] = []

    async def __aenter__(self) -> KafkaSink:
        try:
            await self._producer.start()
        except BaseException:
            await self._producer.stop()  # a failed start leaves a half-open client
            raise
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        try:
            if exc is None:
                await self.flush()
        finally:
            await self._producer.stop()

    async def send(self, record: Record) -> None:
        self._pending.append(await self._producer.send(record.topic, record.value, key=record.key))
        if len(self._pending) >= _MAX_PENDING:
            await self.flush()

    async def flush(self) -> None:
        """Wait until the broker has acknowledged every record sent so far."""
        pending, self._pending = self._pending, []
        if pending:
            await asyncio.gather(*pending)


async def publish(
    records: Sequence[Record],
    sink: Sink,
    *,
    speed: float | None,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
    progress: ProgressView | None = None,
    clock: Clock = SYSTEM_CLOCK,
) -> dict[str, int]:
    """Send ``records`` in the given order, paced when ``speed`` is given; counts per topic."""
    if speed is not None and not speed > 0:
        raise ValueError("speed must be > 0")
    view = progress or NoProgress()
    origin, due = clock.monotonic(), 0.0
    previous: dt.datetime | None = None
    counts: Counter[str] = Counter()
    view.start(len(records))
    try:
        for record in records:
            if speed is not None and previous is not None and record.occurred_at is not None:
                gap = (record.occurred_at - previous).total_seconds() / speed
                due += min(max(gap, 0.0), max_gap_s)
                wait = origin + due - clock.monotonic()
                if wait > 0:
                    await clock.sleep(wait)
            previous = record.occurred_at or previous
            await sink.send(record)
            counts[record.topic] += 1
            view.advance()
        await sink.flush()
    finally:
        view.finish()
    return dict(counts)


async def publish_records(
    records: Sequence[Record],
    kafka: ClientOptions,
    *,
    speed: float | None = None,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
    progress: bool = True,
    out: TextIO | None = None,
    interval_s: float = DEFAULT_INTERVAL_S,
    label: str = "replay",
    clock: Clock = SYSTEM_CLOCK,
) -> ReplayReport:
    """Publish to Kafka with a progress display; ``speed=None`` publishes at once."""
    started = clock.monotonic()
    view = progress_view(progress, out, label, interval_s)
    async with KafkaSink(kafka) as sink:
        per_topic = await publish(
            records, sink, speed=speed, max_gap_s=max_gap_s, progress=view, clock=clock
        )
    return ReplayReport(per_topic=per_topic, elapsed_s=clock.monotonic() - started)


async def replay_async(
    path: str | Path,
    kafka: ClientOptions,
    speed: float | None = None,
    as_fast_as_possible: bool = False,
    progress: bool = True,
    *,
    max_gap_s: float = DEFAULT_MAX_GAP_S,
    out: TextIO | None = None,
    err: TextIO | None = None,
    interval_s: float = DEFAULT_INTERVAL_S,
    clock: Clock = SYSTEM_CLOCK,
) -> ReplayReport:
    """Publish the replay file at ``path`` in event-time order.

    ``speed`` N plays N times faster than event time (default 1: real time, gaps capped at
    ``max_gap_s``); ``as_fast_as_possible`` does not wait between records. ``replay_async``
    runs in the caller's event loop; ``replay`` starts its own (the command line).
    """
    pace = _pace(speed, as_fast_as_possible)
    records, bad = read_records(path, err)
    ordered = in_event_time_order(records)
    report = await publish_records(
        ordered,
        kafka,
        speed=pace,
        max_gap_s=max_gap_s,
        progress=progress,
        out=out,
        interval_s=interval_s,
        clock=clock,
    )
    report.bad_lines = bad
    report.unordered = [r.line for r in ordered if r.occurred_at is None and r.line is not None]
    return report


def _blocking(run: Callable[_P, Coroutine[Any, Any, _T]]) -> Callable[_P, _T]:
    """``run`` as a plain call in its own event loop: one implementation, two entry points."""

    @functools.wraps(run)
    def blocking(*args: _P.args, **kwargs: _P.kwargs) -> _T:
        return asyncio.run(run(*args, **kwargs))

    blocking.__name__ = blocking.__qualname__ = run.__name__.removesuffix("_async")
    return blocking


replay = _blocking(replay_async)


def _pace(speed: float | None, as_fast_as_possible: bool) -> float | None:
    """The speed ``publish`` takes: None for no waiting, 1.0 (real time) by default."""
    if as_fast_as_possible:
        if speed is not None:
            raise ValueError("give a speed or as_fast_as_possible, not both")
        return None
    if speed is None:
        return 1.0
    if not speed > 0:
        raise ValueError("speed must be > 0")
    return speed
