"""``fieldcourt watch``: case events and COJC alerts as they arrive, for a magistrate's eyes.

Each event is a short block: when (event time, Paris), section, what happened to which case,
then the subjects (references only: names never leave ingest), the evidence count, and the
rule's own sentence. Line by line rather than a redrawn table, so that it scrolls, survives a
pipe and can be captured by the demo and the tests.

It reads with a plain aiokafka consumer without a consumer group: watching never moves any
committed offset and any number of people can watch at once. Without ``from_beginning`` it
shows what arrives after it started; ``max_events`` and ``timeout_s`` bound it (tests, demo).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TextIO
from zoneinfo import ZoneInfo

from pydantic import ValidationError
from rich.console import Console
from rich.markup import escape

from fieldcourt import kafka_auth
from fieldcourt.kafka_auth import ClientOptions
from fieldcourt.topics import ALERTS_TOPIC, SECTIONS, case_topic
from schemas.cases import Alert, CaseEvent
from schemas.codec import loads

PARIS = ZoneInfo("Europe/Paris")
SECTION_NAMES = tuple(section.upper() for section in SECTIONS)
#: Subject references shown in full before "+N more".
SHOWN_SUBJECTS = 4

_SECTION_STYLE = {"P12": "cyan", "P20": "yellow", "F3": "bold red", "P4": "magenta"}
_TYPE_STYLE = {
    "case_opened": "green",
    "case_escalated": "bold red",
    "case_transferred": "dim",
    "case_merged": "dim",
    "case_updated": "",
    "case_closed": "bold",
}
_ALERT_STYLE = {"displacement": "yellow", "trade_migration": "bold yellow", "surge": "bold red"}


def watch_topics(section: str | None, alerts: bool) -> list[str]:
    """Topics to read: a section's cases and/or the alerts; neither given means everything."""
    if section is None and not alerts:
        return [case_topic(s) for s in SECTION_NAMES] + [ALERTS_TOPIC]
    topics = [] if section is None else [case_topic(section)]
    return topics + ([ALERTS_TOPIC] if alerts else [])


def watch_principal(section: str | None, alerts: bool) -> str:
    """Who reads by default: a section reads its own topic, the COJC the alerts; watching
    more than one of them needs the administrator (or ``FIELDCOURT_KAFKA_USER``)."""
    if section is not None and not alerts:
        return kafka_auth.SECTION_PRINCIPALS[section.lower()]
    if section is None and alerts:
        return kafka_auth.COJC
    return kafka_auth.ADMIN


def _when(moment: dt.datetime) -> str:
    return f"{moment.astimezone(PARIS):%Y-%m-%d %H:%M}"


def _subjects(refs: Sequence[str]) -> str:
    if not refs:
        return "no subject"
    shown = ", ".join(refs[:SHOWN_SUBJECTS])
    more = len(refs) - SHOWN_SUBJECTS
    return f"{len(refs)} subject{'s' if len(refs) > 1 else ''}: {shown}" + (
        f" +{more} more" if more > 0 else ""
    )


def _evidence(count: int) -> str:
    return f"{count} piece{'s' if count != 1 else ''} of evidence"


def describe_case(event: CaseEvent) -> str:
    """Rich markup for one case event: a headline, its subjects and evidence, its reason."""
    section = f"[{_SECTION_STYLE[event.section]}]{event.section:<3}[/]"
    what = event.event_type.removeprefix("case_")
    if event.event_type == "case_escalated" and event.previous_section:
        what += f" {event.previous_section} -> {event.section}"
    elif event.event_type == "case_transferred" and event.transferred_to:
        what += f" to {event.transferred_to}"
    elif event.event_type == "case_merged" and event.merged_into:
        what += f" into {event.merged_into}"
    style = _TYPE_STYLE[event.event_type]
    what = f"[{style}]{escape(what)}[/]" if style else escape(what)
    roles = {s.ref: "/".join(s.roles) for s in event.subjects}
    refs = [f"{ref} ({role})" if role else ref for ref, role in roles.items()]
    where = event.sector or "outside any sector"
    return (
        f"{_when(event.last_event_at)}  {section} {escape(event.case_id)}  {what}  "
        f"[dim]{event.anchor.kind} case, {escape(where)}, v{event.version}[/]\n"
        f"    {escape(_subjects(refs))}; {_evidence(len(event.evidence))}; "
        f"rules {escape(', '.join(event.rule_ids))}\n"
        f"    [italic]{escape(event.reason)}[/]"
    )


def describe_alert(alert: Alert) -> str:
    """Rich markup for one COJC alert."""
    style = _ALERT_STYLE[alert.alert_type]
    route = f"{alert.from_sector} -> {alert.sector}" if alert.from_sector else alert.sector
    return (
        f"{_when(alert.window.end)}  [{style}]COJC {escape(alert.sector)}[/] "
        f"{escape(alert.alert_id)}  [{style}]{alert.alert_type}[/]  "
        f"[dim]{escape(route)}, since {_when(alert.window.start)}[/]\n"
        f"    {escape(_subjects(alert.subjects))}; {_evidence(len(alert.evidence))}\n"
        f"    [italic]{escape(alert.reason)}[/]"
    )


@dataclass
class WatchReport:
    """What was shown, counted by the shapes a summary asks about (the demo checks its story
    with them). Counters only: a watch that runs for days keeps no event."""

    cases: Counter[tuple[str, str]] = field(default_factory=Counter)  # (section, event type)
    alerts: Counter[tuple[str, str]] = field(default_factory=Counter)  # (alert type, sector)
    #: Case events per (section, anchor kind).
    anchors: Counter[tuple[str, str]] = field(default_factory=Counter)
    #: ``case_escalated`` events per (anchor kind, previous section, section).
    escalations: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    #: Case events per (section, anchor kind, role) holding a subject in that role.
    roles: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    unreadable: int = 0
    reached_max: bool = False

    @property
    def shown(self) -> int:
        return sum(self.cases.values()) + sum(self.alerts.values())

    def count_case(self, event: CaseEvent) -> None:
        section, kind = event.section, event.anchor.kind
        self.cases[(section, event.event_type)] += 1
        self.anchors[(section, kind)] += 1
        if event.event_type == "case_escalated" and event.previous_section:
            self.escalations[(kind, event.previous_section, section)] += 1
        for role in {role for subject in event.subjects for role in subject.roles}:
            self.roles[(section, kind, role)] += 1

    def count_alert(self, alert: Alert) -> None:
        self.alerts[(alert.alert_type, alert.sector)] += 1


def render(topic: str, value: bytes, report: WatchReport) -> str | None:
    """Markup for one record, counted in ``report``; None when it matches no model."""
    try:
        if topic == ALERTS_TOPIC:
            alert = loads(Alert, value)
            report.count_alert(alert)
            return describe_alert(alert)
        event = loads(CaseEvent, value)
    except ValidationError:
        report.unreadable += 1
        return None
    report.count_case(event)
    return describe_case(event)


def _or_denied(kafka: ClientOptions) -> str:
    """The broker lists only the topics a principal may describe: say so."""
    who = kafka.get("sasl_plain_username")
    return f" or {who} may not read it" if who else ""


async def existing_topics(
    kafka: ClientOptions, topics: list[str], err: TextIO, tool: str = "watch"
) -> list[str]:
    """The topics that exist; a consumer subscribed to a missing one would wait for ever."""
    from aiokafka import AIOKafkaConsumer

    probe = AIOKafkaConsumer(**kafka, group_id=None)
    try:
        await probe.start()
        existing = await probe.topics()
    finally:
        await probe.stop()
    for topic in topics:
        if topic not in existing:
            print(
                f"{tool}: topic {topic} does not exist (yet){_or_denied(kafka)}; not read",
                file=err,
            )
    return [topic for topic in topics if topic in existing]


async def position(consumer: Any, from_beginning: bool) -> None:
    """Resolve every partition's position now: anything published after this is shown."""
    partitions = sorted(consumer.assignment())
    if from_beginning:
        await consumer.seek_to_beginning(*partitions)
    else:
        await consumer.seek_to_end(*partitions)
    for partition in partitions:
        await consumer.position(partition)


async def watch_async(
    kafka: ClientOptions,
    *,
    section: str | None = None,
    alerts: bool = False,
    from_beginning: bool = False,
    max_events: int | None = None,
    timeout_s: float | None = None,
    console: Console | None = None,
    err: TextIO | None = None,
    ready: asyncio.Event | None = None,
    until: asyncio.Event | None = None,
) -> WatchReport:
    """Show case events and alerts until ``max_events`` are shown, ``timeout_s``, ``until`` is
    set (by a caller that knows the work is done) or Ctrl-C.

    ``ready`` is set once the consumer is positioned: anything published after it is shown.
    """
    from aiokafka import AIOKafkaConsumer

    if section is not None and section.upper() not in SECTION_NAMES:
        raise ValueError(f"unknown section {section!r}: one of {', '.join(SECTION_NAMES)}")
    console = console or Console(highlight=False)
    err = err or sys.stderr
    topics = watch_topics(section.upper() if section else None, alerts)
    report = WatchReport()
    deadline = None if timeout_s is None else time.monotonic() + timeout_s
    present = await existing_topics(kafka, topics, err)
    if not present:
        print(
            "watch: none of the topics exists or may be read; are the topic catalogue and its "
            "ACLs applied?",
            file=err,
        )
        return report
    # No group: all partitions, no committed offsets, any number of watchers.
    consumer = AIOKafkaConsumer(
        *present,
        **kafka,
        group_id=None,
        enable_auto_commit=False,
        auto_offset_reset="earliest" if from_beginning else "latest",
    )
    try:
        await consumer.start()
        await position(consumer, from_beginning)
        since = "from the beginning" if from_beginning else "from now on"
        console.print(f"[bold]watching[/] {', '.join(present)} ({since})", highlight=False)
        if ready is not None:
            ready.set()
        while (max_events is None or report.shown < max_events) and not (
            until is not None and until.is_set()
        ):
            wait_ms = 500
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                wait_ms = max(1, min(wait_ms, int(left * 1000)))
            batches = await consumer.getmany(timeout_ms=wait_ms)
            records = sorted(
                (r for part in batches.values() for r in part), key=lambda r: r.timestamp
            )
            for record in records:
                markup = render(record.topic, record.value or b"", report)
                if markup is None:
                    print(
                        f"watch: unreadable record {record.topic}[{record.partition}]"
                        f"@{record.offset}",
                        file=err,
                    )
                    continue
                console.print(markup, highlight=False)
                if max_events is not None and report.shown >= max_events:
                    report.reached_max = True
                    break
    finally:
        await consumer.stop()
    return report
