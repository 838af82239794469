"""Ingest agents: one per inbound topic. Raw bytes in; keyed events, matches or dead letters out.

The agent is wiring only: parsing, deduplication, the source's lateness verdict, enrichment and
routing are plain functions in ``streams/``. Every record ends in exactly one place: the keyed
streams of the correlation stages (with f3.seizure's matches), the dead-letter topic, the
duplicate counter, or the late counter. Sends are acknowledged by the broker before the
record's offset is committed (see ``agents.io``).
"""

from __future__ import annotations

import datetime as dt
import logging
from typing import Any, cast

import faust

from agents.io import (
    AgentIO,
    guarded,
    hand_to_producer,
    origin_header,
    progress_header,
    raw_topic,
)
from agents.transport import FieldcourtApp
from fieldcourt.faults import FAULTS, CrashPoint
from fieldcourt.metrics import METRICS
from fieldcourt.settings import Settings
from fieldcourt.topics import FIELD_TOPICS
from schemas.codec import dumps
from schemas.field import FieldEvent
from streams.dedupe import Decision, Deduplicator, event_id_of
from streams.enrich import Enricher
from streams.errors import Reason, RejectedInput
from streams.eventtime import Progress, SourceClock, feed_name
from streams.geofence import load_sectors
from streams.ingest import Accepted, Limits, parse_record
from streams.matches import RuleMatch
from streams.partitioning import PartitionView
from streams.pseudonym import Pseudonymiser
from streams.routing import Route
from streams.rules import RulesConfig
from streams.stages import RouteStage

log = logging.getLogger(__name__)

DEDUPE_RETENTION = dt.timedelta(days=120)


class Streams:
    """Where ingest hands events and matches on: the correlation stages' keyed topics."""

    def __init__(self, routes: dict[Route, faust.TopicT], matches: faust.TopicT) -> None:
        self.routes = routes
        self.matches = matches

    async def send_matches(self, found: list[RuleMatch], headers: list[tuple[str, bytes]]) -> None:
        for match in found:
            # one partition: the key only documents which case the match is for
            await hand_to_producer(self.matches, match.anchor_ref.encode(), dumps(match), headers)


def inbound_limits(settings: Settings) -> Limits:
    return Limits(settings.max_message_bytes, dt.timedelta(seconds=settings.future_tolerance_s))


def register_ingest(
    app: faust.App, settings: Settings, rules: RulesConfig, io: AgentIO, streams: Streams
) -> None:
    enricher = Enricher(
        Pseudonymiser(settings.pseudonym_key_bytes()), load_sectors(settings.sectors_file)
    )
    # event_id -> payload fingerprint, first source position, source verdict
    dedupe_table = cast(FieldcourtApp, app).cached_table(
        "dedupe", partitions=settings.topic_partitions
    )
    dedupe = Deduplicator(dedupe_table)
    clock = SourceClock(dedupe_table, rules.lateness)
    route = RouteStage(rules)
    deadletter = io.deadletter
    limits = inbound_limits(settings)

    async def handle(message: Any) -> None:
        now = dt.datetime.now(dt.UTC)
        result = parse_record(message.topic, message.key, message.value, now, limits)
        if isinstance(result, RejectedInput):
            await deadletter.send(message, result)
            return
        await forward(message, result)

    async def forward(message: Any, accepted: Accepted[FieldEvent]) -> None:
        event = accepted.event
        feed = feed_name(message.topic, message.partition)
        position = (message.topic, message.partition, message.offset)
        admitted = dedupe.admit(
            event.event_id,
            accepted.fingerprint,
            position,
            event.occurred_at,
            lambda: clock.judge(feed, event.occurred_at),
        )
        if admitted.decision is Decision.DUPLICATE:
            METRICS.duplicate(message.topic)
            return
        if admitted.decision is Decision.CONFLICT:
            detail = f"event_id {event.event_id!r} was already received with another payload"
            await deadletter.send(message, RejectedInput(Reason.CONFLICTING_DUPLICATE, detail))
            return
        verdict = admitted.verdict
        if verdict is not None and verdict.late:
            METRICS.late(message.topic)
            log.info(
                "late at its source, triggers nothing: %s[%s]@%s occurred_at %s, feed high %s",
                message.topic,
                message.partition,
                message.offset,
                event.occurred_at.isoformat(),
                verdict.high.isoformat(),
            )
            return
        enriched = METRICS.timed_enrichment(enricher.enrich, event)
        routed = METRICS.timed_rules("route", route.process, enriched)
        # the field record's append time starts the end-to-end latency of what follows
        headers = origin_header(message.timestamp)
        if verdict is not None:
            headers.append(progress_header(Progress(feed, verdict.high)))
        value = dumps(enriched)
        io.decoded.remember(value, enriched, len(routed.destinations))
        for number, (destination, key) in enumerate(routed.destinations):
            if number:
                FAULTS.reached(CrashPoint.BETWEEN_OUTPUTS)
            await hand_to_producer(streams.routes[destination], key.encode(), value, headers)
        await streams.send_matches(routed.matches, headers)
        METRICS.accepted(message.topic, enriched.kind, enriched.sector)

    def purge_dedupe(partition: int) -> int:
        view = PartitionView(dedupe_table, partition, settings.topic_partitions, event_id_of)
        return Deduplicator(view).sweep(dt.datetime.now(dt.UTC) - DEDUPE_RETENTION)

    async def consume(message: Any) -> None:
        METRICS.consumed(message.topic)
        await handle(message)

    for name in FIELD_TOPICS:
        agent_name = "ingest-" + name.split(".")[1]
        app.agent(raw_topic(app, name), name=agent_name)(
            guarded(consume, "dedupe", io, purge_dedupe)
        )
