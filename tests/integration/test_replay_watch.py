"""Replay and watch on the real broker, read and written with plain clients."""

from __future__ import annotations

import asyncio
import datetime as dt
import io
import random
from collections import defaultdict
from pathlib import Path
from typing import Any

import orjson
import pytest
from rich.console import Console

from fieldcourt.cli import main
from fieldcourt.kafka_auth import ADMIN, REPLAY, client_env, client_options
from fieldcourt.replay import replay
from fieldcourt.settings import Settings
from fieldcourt.simulate import SimulationConfig, simulate, write_jsonl
from fieldcourt.topics import ALERTS_TOPIC, AUDIT_TOPIC, FIELD_TOPICS, case_topic
from fieldcourt.watch import watch_async
from schemas.audit import AuditRecord
from schemas.cases import Alert, CaseEvent
from schemas.codec import loads
from tests.factories import BASE_TIME, raw_arrest
from tests.kafka import consume_until, produce, run
from tests.unit.schemas.examples import example

pytestmark = pytest.mark.kafka


def reach(settings: Settings, monkeypatch: pytest.MonkeyPatch) -> None:
    """The command line reaches the test broker, from the environment as in production."""
    for name, value in client_env(settings).items():
        monkeypatch.setenv(name, value)


def _feed(run_id: str, path: Path) -> list[tuple[str, dict[str, Any]]]:
    """A day of simulated background, written shuffled, with two bad lines in the middle."""
    config = SimulationConfig(story=False, days=1, rate=60, prefix=run_id, seed=11)
    records = list(simulate(config))
    shuffled = records[:]
    random.Random(5).shuffle(shuffled)
    write_jsonl(path, shuffled)
    lines = path.read_bytes().splitlines(keepends=True)
    lines[10:10] = [b"{truncated\n", b'{"topic": "field.nope.v1", "value": {}}\n']
    path.write_bytes(b"".join(lines))
    return records


def test_replay_publishes_a_file_in_event_time_order(
    app_settings: Settings, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run_id = app_settings.app_id
    path = tmp_path / "feed.jsonl"
    records = _feed(run_id, path)
    report = replay(path, client_options(app_settings, REPLAY), as_fast_as_possible=True)
    assert report.published == len(records)
    assert [bad.line for bad in report.bad_lines] == [11, 12]
    assert "line 11: invalid JSON" in capsys.readouterr().err

    mine = run_id.encode()
    found = run(
        consume_until(
            app_settings,
            list(FIELD_TOPICS),
            lambda got: sum(r.key.startswith(mine) for r in got if r.key) >= len(records),
            timeout_s=20,
        )
    )
    found = [r for r in found if r.key and r.key.startswith(mine)]
    assert sorted((r.topic, r.key.decode(), orjson.loads(r.value)) for r in found) == sorted(
        (topic, event["event_id"], event) for topic, event in records
    )
    by_partition: dict[tuple[str, int], list[Any]] = defaultdict(list)
    for record in sorted(found, key=lambda r: r.offset):
        by_partition[(record.topic, record.partition)].append(record)
    for part in by_partition.values():
        times = [dt.datetime.fromisoformat(orjson.loads(r.value)["occurred_at"]) for r in part]
        assert times == sorted(times)  # sorted before publishing: in order on each partition


def test_replay_at_a_speed_takes_the_scaled_time(app_settings: Settings, tmp_path: Path) -> None:
    """Five events 2 s apart at 4x: 2 s from the first append to the last, within 50% either
    way (ignoring the speed would take 8 s, not waiting about 0). The exact waits are the fake
    clock's business, in tests/unit/fieldcourt/test_replay.py."""
    path = tmp_path / "paced.jsonl"
    ids = [f"{app_settings.app_id}-p{i}" for i in range(5)]
    at = [(BASE_TIME + dt.timedelta(seconds=2 * i)).isoformat() for i in range(len(ids))]
    events = [
        ("field.arrests.v1", raw_arrest(event_id=event_id, occurred_at=when))
        for event_id, when in zip(ids, at, strict=True)
    ]
    write_jsonl(path, events)
    assert (
        replay(path, client_options(app_settings, REPLAY), speed=4, progress=False).published == 5
    )

    keys = {event_id.encode() for event_id in ids}
    found = run(
        consume_until(
            app_settings,
            ["field.arrests.v1"],
            lambda got: sum(r.key in keys for r in got) >= len(keys),
            timeout_s=20,
        )
    )
    appended = sorted(r.timestamp for r in found if r.key in keys)  # the broker's clock, ms
    assert len(appended) == len(keys)
    assert 1.0 <= (appended[-1] - appended[0]) / 1000 <= 3.0


def test_the_command_line_replays(
    app_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    reach(app_settings, monkeypatch)
    path = tmp_path / "one.jsonl"
    write_jsonl(path, [("field.arrests.v1", raw_arrest(event_id=f"{app_settings.app_id}-c"))])
    assert main(["replay", str(path), "--as-fast-as-possible"]) == 0
    out = capsys.readouterr().out
    assert "replay: 1 records published (field.arrests.v1: 1)" in out


def _case_event(case_id: str, event_type: str, section: str, **extra: Any) -> dict[str, Any]:
    return example(CaseEvent) | {
        "case_id": case_id,
        "event_type": event_type,
        "section": section,
        **extra,
    }


def test_watch_shows_case_events_and_alerts_as_they_arrive(app_settings: Settings) -> None:
    tag = app_settings.app_id.replace("fc-test-", "")  # 8 hex digits: a valid id suffix
    opened = _case_event(f"C-{tag}a", "case_opened", "P12")
    escalated = _case_event(
        f"C-{tag}a",
        "case_escalated",
        "P20",
        previous_section="P12",
        rule_ids=["p12.flagrant", "p20.recurrence"],
        version=2,
    )
    alert = example(Alert) | {"alert_id": f"A-{tag}"}
    records = [
        (case_topic("P12"), opened["case_id"].encode(), orjson.dumps(opened)),
        (case_topic("P20"), escalated["case_id"].encode(), orjson.dumps(escalated)),
        (ALERTS_TOPIC, b"rosa-parks", orjson.dumps(alert)),
        (case_topic("P12"), b"C-junk", b'{"not": "a case event"}'),
    ]
    out, err = io.StringIO(), io.StringIO()

    async def scenario() -> Any:
        ready = asyncio.Event()
        watching = asyncio.create_task(
            watch_async(
                client_options(app_settings, ADMIN),
                max_events=3,
                timeout_s=25,
                ready=ready,
                err=err,
                console=Console(file=out, width=200, highlight=False),
            )
        )
        await asyncio.wait_for(ready.wait(), 15)
        await produce(app_settings, records)
        return await watching

    report = run(scenario())
    assert report.reached_max
    assert report.cases == {("P12", "case_opened"): 1, ("P20", "case_escalated"): 1}
    assert report.alerts == {("displacement", "rosa-parks"): 1}
    text = out.getvalue()
    assert f"C-{tag}a" in text
    assert "escalated P12 -> P20" in text
    assert f"A-{tag}" in text
    assert "les-halles -> rosa-parks" in text
    assert "S-AAAABBBBCCCCDDDD" in text


def test_watch_command_reads_from_the_beginning(
    app_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    tag = app_settings.app_id.replace("fc-test-", "")
    alert = example(Alert) | {"alert_id": f"A-{tag}b", "alert_type": "surge", "from_sector": None}
    run(produce(app_settings, [(ALERTS_TOPIC, b"rosa-parks", orjson.dumps(alert))]))
    reach(app_settings, monkeypatch)
    argv = ["watch", "--alerts", "--from-beginning", "--purpose", f"2026/{tag}", "--timeout", "3"]
    assert main(argv) == 0
    assert f"A-{tag}b" in capsys.readouterr().out
    assert main([*argv[:-1], "1", "--section", "P4", "--max-events", "100000"]) == 3
    # one consultation per session, with its purpose and what was read, before anything shown
    consulted = [
        loads(AuditRecord, r.value)
        for r in run(consume_until(app_settings, [AUDIT_TOPIC], lambda _: False, 5))
    ]
    mine = [r for r in consulted if r.action == "consult" and r.purpose == f"2026/{tag}"]
    assert [r.detail for r in mine] == [
        f"watch {ALERTS_TOPIC}",
        f"watch court.p4.cases.v1, {ALERTS_TOPIC}",
    ]
    assert all(r.actor for r in mine)


def test_simulate_publishes_through_the_same_code(
    app_settings: Settings, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    reach(app_settings, monkeypatch)
    prefix = app_settings.app_id
    argv = ["simulate", "--publish", "--no-story", "--days", "0.2", "--rate", "60"]
    assert main([*argv, "--prefix", prefix, "--end-at", "now"]) == 0
    out = capsys.readouterr().out
    published = int(out.split("simulate: ")[-1].split(" events published")[0])
    assert published > 0
    assert f"simulate: {published}/{published} published" in out  # progress, not a terminal
    found = run(
        consume_until(
            app_settings,
            list(FIELD_TOPICS),
            lambda got: (
                sum(bool(r.key and r.key.startswith(prefix.encode())) for r in got) >= published
            ),
            timeout_s=20,
        )
    )
    latest = max(
        dt.datetime.fromisoformat(orjson.loads(r.value)["occurred_at"])
        for r in found
        if r.key and r.key.startswith(prefix.encode())
    )
    assert latest <= dt.datetime.now(dt.UTC)  # shifted to end now: ingest takes them all
