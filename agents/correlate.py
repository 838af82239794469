"""Correlation agents: each runs one stage of ``streams.stages`` on its keyed topic.

Stores are Faust tables (changelog-backed), each co-partitioned with the topic its agent reads:
a table is written while that agent processes a record, so its changelog partition is the
record's partition and a rebalance moves state and input together. The link graph and the case
manager touch several keys per record (components, merges), so their topics and tables have one
partition: one owner, a total order, and a deterministic result.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from typing import Any, cast

import faust

from agents.court import (
    OUTCOME,
    ErasureTargets,
    apply_outcome,
    command_of,
    erasure_of,
    register_outcomes,
)
from agents.ingest import Streams
from agents.io import (
    AgentIO,
    Purge,
    guarded,
    hand_to_producer,
    origin_of,
    passed_on,
    progress_of,
    raw_topic,
)
from agents.transport import FieldcourtApp
from fieldcourt.faults import FAULTS, CrashPoint
from fieldcourt.metrics import METRICS
from fieldcourt.settings import Settings
from fieldcourt.topics import (
    ALERTS_TOPIC,
    AUDIT_TOPIC,
    FIELD_TOPICS,
    SECTIONS,
    SINGLE_PARTITION_STREAMS,
    case_topic,
    internal_topic,
)
from schemas.audit import AuditRecord
from schemas.cases import Alert, CaseEvent
from schemas.codec import dumps, loads
from schemas.enriched import EnrichedEvent
from schemas.outcomes import OutcomeCommand
from streams.audit import alert_disclosure, audit_key, case_disclosure, combination, expiry
from streams.cases import section_topic
from streams.eventtime import FeedProgress, feed_name
from streams.matches import RuleMatch
from streams.partitioning import PartitionView
from streams.routing import Route
from streams.rules import Displacement, RulesConfig
from streams.stages import (
    AddressStage,
    CaseStage,
    NetworkStage,
    SectorStage,
    Store,
    SubjectStage,
)

MATCHES = "matches"
DISPLACEMENTS = "displacements"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _emitted_at(message: Any) -> dt.datetime:
    """The ``emitted_at`` of what processing ``message`` publishes: the record's own Kafka
    timestamp, not the clock. A record processed again after a crash (its outputs may have
    reached the broker while its state changes did not) then publishes byte-identical case
    events and alerts, never a second version under one number."""
    return dt.datetime.fromtimestamp(message.timestamp, dt.UTC)


def register_correlation(
    app: faust.App, settings: Settings, rules: RulesConfig, io: AgentIO
) -> Streams:
    """The correlation agents; returns the streams ingest feeds them through."""

    def topic(name: str) -> faust.TopicT:
        partitions = 1 if name in SINGLE_PARTITION_STREAMS else settings.topic_partitions
        return raw_topic(app, internal_topic(settings, name), partitions=partitions)

    def table(name: str, partitions: int | None = None) -> Any:
        return cast(FieldcourtApp, app).cached_table(
            name, partitions=partitions or settings.topic_partitions
        )

    feeds = frozenset(
        feed_name(name, p) for name in FIELD_TOPICS for p in range(settings.topic_partitions)
    )

    def progress(store: Store) -> FeedProgress:
        return FeedProgress(store, rules.lateness, feeds, settings.idle_feed_s)

    streams = {route: topic(route.value) for route in Route}
    matches_topic, displacements_topic = topic(MATCHES), topic(DISPLACEMENTS)
    alerts_topic, audit_topic = raw_topic(app, ALERTS_TOPIC), raw_topic(app, AUDIT_TOPIC)
    sections = {name: raw_topic(app, name) for name in map(case_topic, SECTIONS)}
    handoff = Streams(streams, matches_topic)

    subject_store, sector_store = table("subject-state"), table("sector-state")
    address_store, network_store = table("address-state"), table("network", partitions=1)
    subject = SubjectStage(
        subject_store, table("subject-alerts"), rules, progress=progress(subject_store)
    )
    address = AddressStage(address_store, rules, progress=progress(address_store))
    sector = SectorStage(
        sector_store, table("sector-alerts"), rules, progress=progress(sector_store)
    )
    network = NetworkStage(network_store, rules, progress=progress(network_store))
    cases = CaseStage(
        table("cases", partitions=1), dt.timedelta(days=settings.retention_closed_case_days)
    )
    parts = settings.topic_partitions
    erasures = ErasureTargets(
        (
            (streams[Route.SUBJECT], parts),
            (streams[Route.ADDRESS], parts),
            (displacements_topic, parts),
            (streams[Route.LINKS], 1),
        )
    )
    register_outcomes(app, settings, io, matches_topic)

    disclosures = io.disclosures

    async def audited(record: AuditRecord) -> None:
        """On the broker before what it records is handed on (contract §8)."""
        await disclosures.audit(audit_topic, audit_key(record), dumps(record))

    async def send_alerts(found: Iterable[Alert]) -> None:
        for alert in found:  # a public topic: no internal headers
            await audited(alert_disclosure(alert, ALERTS_TOPIC))
            disclosures.disclose(alerts_topic, alert.sector.encode(), dumps(alert))
            METRICS.alert(alert.alert_type, alert.sector)

    def enriched(message: Any) -> EnrichedEvent:
        return loads(EnrichedEvent, message.value)

    def headers_of(message: Any) -> list[tuple[str, bytes]]:
        return passed_on(message.headers, message.timestamp)

    def view(partition: int) -> Callable[[Store], Store]:
        return lambda store: PartitionView(store, partition, settings.topic_partitions)

    async def on_subject(message: Any) -> None:
        if (erased := erasure_of(message)) is not None:
            subject.erase(erased.subject_ref, view(message.partition))
            return
        event, key = enriched(message), message.key.decode()
        args = (key, event, message.partition, _emitted_at(message), progress_of(message.headers))
        outcome = METRICS.timed_rules("subject", subject.process, *args)
        headers = headers_of(message)
        await handoff.send_matches(list(outcome.matches), headers)
        await send_alerts(outcome.alerts)
        for found in outcome.displacements:
            to_sector = found.to_sector.encode()
            await hand_to_producer(displacements_topic, to_sector, dumps(found), headers)

    async def on_address(message: Any) -> None:
        if (erased := erasure_of(message)) is not None:
            address.erase(erased.subject_ref, view(message.partition))
            return
        event, key = enriched(message), message.key.decode()
        args = (key, event, message.partition, progress_of(message.headers))
        found = METRICS.timed_rules("address", address.process, *args)
        await handoff.send_matches(found, headers_of(message))

    async def on_sector(message: Any) -> None:
        event, key = enriched(message), message.key.decode()
        args = (key, event, message.partition, _emitted_at(message), progress_of(message.headers))
        await send_alerts(METRICS.timed_rules("sector", sector.process, *args))

    async def on_displacement(message: Any) -> None:
        if (erased := erasure_of(message)) is not None:
            sector.erase(erased.subject_ref, view(message.partition))
            return
        found = loads(Displacement, message.value)
        args = (found, message.partition, _emitted_at(message), progress_of(message.headers))
        await send_alerts(METRICS.timed_rules("displacement", sector.displaced, *args))

    async def on_links(message: Any) -> None:
        if (erased := erasure_of(message)) is not None:
            network.erase(erased.subject_ref)
            return
        args = (enriched(message), progress_of(message.headers))
        found = METRICS.timed_rules("network", network.process, *args)
        await handoff.send_matches(found, headers_of(message))

    async def publish(
        case_events: list[CaseEvent], rule: str, occurred_at: dt.datetime, origin: float | None
    ) -> None:
        for case_event in case_events:
            name = section_topic(case_event.section)
            await audited(case_disclosure(case_event, name))
            disclosures.disclose(sections[name], case_event.case_id.encode(), dumps(case_event))
            METRICS.case_emitted(case_event, rule, occurred_at, origin)

    async def on_match(message: Any) -> None:
        origin = origin_of(message.headers, message.timestamp)
        emitted_at = _emitted_at(message)
        if command_of(message) == OUTCOME:
            command = loads(OutcomeCommand, message.value)
            settled = cases.settle(command, emitted_at)
            found = await apply_outcome(command, settled, emitted_at, io, erasures, audited)
            await publish(found, "court.outcome", command.outcome.decided_at, origin)
            FAULTS.reached(CrashPoint.AFTER_OUTCOME)
            return
        match = loads(RuleMatch, message.value)
        case_events = cases.process(match, emitted_at)
        if case_events:  # the match changed a case: it combined what it holds
            await audited(combination(match, case_events[0].case_id, emitted_at))
        await publish(case_events, match.rule_id, match.occurred_at, origin)

    async def purge_cases(_partition: int) -> int:
        """The outbox and the closed cases past retention; each forgotten case leaves its
        section topic by a tombstone (the topic is compacted by case id), audited first."""
        now = _now()
        purged, forgotten = cases.purge(now)
        for case_id, section in forgotten:
            name = section_topic(section)
            await audited(expiry(case_id, name, now))
            disclosures.disclose(sections[name], case_id.encode(), None)
        return purged

    handlers: list[tuple[faust.TopicT, str, Any, Purge | None]] = [
        (streams[Route.SUBJECT], "subject", on_subject, lambda p: subject.purge(p, view(p))),
        (streams[Route.ADDRESS], "address", on_address, lambda p: address.purge(p, view(p))),
        (streams[Route.SECTOR], "sector", on_sector, lambda p: sector.purge(p, view(p))),
        (displacements_topic, "displacement", on_displacement, None),
        (streams[Route.LINKS], "network", on_links, lambda _p: network.purge()),
        (matches_topic, "cases", on_match, purge_cases),
    ]
    for channel, name, handle, purge in handlers:
        app.agent(channel, name=f"correlate-{name}")(guarded(handle, name, io, purge))
    return handoff
