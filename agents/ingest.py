"""Ingest agents: one per inbound topic. Raw bytes in; enriched events or dead letters out.

The agent is wiring only: parsing, deduplication and enrichment are plain functions in
``streams/``. Every record ends in exactly one place: the internal valid-events topic, the
dead-letter topic, or the duplicate counter. Sends are awaited until the broker acknowledges
them before the record's offset is committed (see ``agents.io``).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import faust

from agents.io import AgentIO, guarded, origin_header, raw_topic, send_acked
from fieldcourt.metrics import METRICS
from fieldcourt.settings import Settings
from fieldcourt.topics import FIELD_TOPICS, VALID_EVENTS, internal_topic
from schemas.codec import dumps
from streams.dedupe import Decision, Deduplicator
from streams.enrich import Enricher
from streams.errors import Reason, RejectedInput
from streams.geofence import load_sectors
from streams.ingest import Accepted, parse_record
from streams.partitioning import PartitionView
from streams.pseudonym import Pseudonymiser

DEDUPE_RETENTION = dt.timedelta(days=120)


def register_ingest(app: faust.App, settings: Settings, io: AgentIO) -> None:
    enricher = Enricher(
        Pseudonymiser(settings.pseudonym_key_bytes()), load_sectors(settings.sectors_file)
    )
    dedupe_table = app.Table(
        "dedupe", default=None, partitions=settings.topic_partitions,
        help="event_id -> payload fingerprint and first source position",
    )  # fmt: skip
    dedupe = Deduplicator(dedupe_table)
    deadletter = io.deadletter
    valid = raw_topic(app, internal_topic(settings, VALID_EVENTS))
    tolerance = dt.timedelta(seconds=settings.future_tolerance_s)

    async def handle(message: Any) -> None:
        result = parse_record(
            message.topic, message.key, message.value, dt.datetime.now(dt.UTC),
            max_bytes=settings.max_message_bytes, future_tolerance=tolerance,
        )  # fmt: skip
        if isinstance(result, RejectedInput):
            await deadletter.send(message, result)
            return
        await forward(message, result)

    async def forward(message: Any, accepted: Accepted) -> None:
        event = accepted.event
        position = (message.topic, message.partition, message.offset)
        decision = dedupe.check(event.event_id, accepted.fingerprint, position, event.occurred_at)
        if decision is Decision.DUPLICATE:
            METRICS.duplicate(message.topic)
            return
        if decision is Decision.CONFLICT:
            await deadletter.send(message, RejectedInput(
                Reason.CONFLICTING_DUPLICATE,
                f"event_id {event.event_id!r} was already received with another payload",
            ))  # fmt: skip
            return
        enriched = METRICS.timed_enrichment(enricher.enrich, event)
        # the field record's append time starts the end-to-end latency of what follows
        await send_acked(valid, event.event_id.encode(), dumps(enriched),
                         origin_header(message.timestamp))  # fmt: skip
        METRICS.accepted(message.topic, enriched.kind, enriched.sector)

    def purge_dedupe(partition: int) -> int:
        view = PartitionView(dedupe_table, partition, settings.topic_partitions, str)
        return Deduplicator(view).sweep(dt.datetime.now(dt.UTC) - DEDUPE_RETENTION)

    async def consume(message: Any) -> None:
        METRICS.consumed(message.topic)
        await handle(message)

    for name in FIELD_TOPICS:
        agent_name = "ingest-" + name.split(".")[1]
        app.agent(raw_topic(app, name), name=agent_name)(
            guarded(consume, "dedupe", io, purge_dedupe)
        )
