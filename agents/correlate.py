"""Correlation agents: each runs one stage of ``streams.stages`` on its keyed topic.

Stores are Faust tables (changelog-backed), each co-partitioned with the topic its agent reads:
a table is written while that agent processes a record, so its changelog partition is the
record's partition and a rebalance moves state and input together. The link graph and the case
manager touch several keys per record (components, merges), so their topics and tables have one
partition: one owner, a total order, and a deterministic result.

This module builds the topics, stores and stages and registers one agent per stage; what each
agent does with a record is ``agents.handlers.Correlation``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast

import faust

from agents.court import ErasureTargets, register_outcomes
from agents.handlers import Correlation, Publisher
from agents.ingest import Streams
from agents.io import AgentIO, Purge, guarded, raw_topic
from agents.transport import FieldcourtApp
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
from streams.eventtime import FeedProgress, feed_name
from streams.routing import Route
from streams.rules import RulesConfig
from streams.stages import AddressStage, CaseStage, NetworkStage, SectorStage, Store, SubjectStage

MATCHES = "matches"
DISPLACEMENTS = "displacements"


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
    correlation = Correlation(
        subject=subject,
        address=address,
        sector=sector,
        network=network,
        cases=cases,
        publisher=Publisher(
            io, raw_topic(app, AUDIT_TOPIC), raw_topic(app, ALERTS_TOPIC), sections
        ),
        handoff=handoff,
        displacements=displacements_topic,
        erasures=erasures,
        io=io,
        partitions=settings.topic_partitions,
    )
    c = correlation
    handlers: list[tuple[faust.TopicT, str, Any, Purge | None]] = [
        (streams[Route.SUBJECT], "subject", c.on_subject, c.purge_subjects),
        (streams[Route.ADDRESS], "address", c.on_address, c.purge_addresses),
        (streams[Route.SECTOR], "sector", c.on_sector, c.purge_sectors),
        (displacements_topic, "displacement", c.on_displacement, None),
        (streams[Route.LINKS], "network", c.on_links, c.purge_network),
        (matches_topic, "cases", c.on_match, c.purge_cases),
    ]
    for channel, name, handle, purge in handlers:
        app.agent(channel, name=f"correlate-{name}")(guarded(handle, name, io, purge))
    return handoff
