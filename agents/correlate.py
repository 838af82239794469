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
from typing import Any

import faust

from agents.io import (
    AgentIO,
    Headers,
    Purge,
    guarded,
    origin_header,
    origin_of,
    raw_topic,
    send_acked,
)
from fieldcourt.metrics import METRICS
from fieldcourt.settings import Settings
from fieldcourt.topics import (
    ALERTS_TOPIC,
    SECTIONS,
    SINGLE_PARTITION_STREAMS,
    VALID_EVENTS,
    case_topic,
    internal_topic,
)
from schemas.cases import Alert
from schemas.codec import dumps, loads
from schemas.enriched import EnrichedEvent
from streams.cases import section_topic
from streams.matches import RuleMatch
from streams.partitioning import PartitionView
from streams.routing import Route
from streams.rules import Displacement, RulesConfig
from streams.stages import (
    AddressStage,
    CaseStage,
    NetworkStage,
    RouteStage,
    SectorStage,
    Store,
    SubjectStage,
)

MATCHES = "matches"
DISPLACEMENTS = "displacements"


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def register_correlation(
    app: faust.App, settings: Settings, rules: RulesConfig, io: AgentIO
) -> None:
    def topic(name: str) -> faust.TopicT:
        partitions = 1 if name in SINGLE_PARTITION_STREAMS else settings.topic_partitions
        return raw_topic(app, internal_topic(settings, name), partitions=partitions)

    def table(name: str, partitions: int | None = None) -> Any:
        return app.Table(name, default=None, partitions=partitions or settings.topic_partitions)

    streams = {route: topic(route.value) for route in Route}
    matches_topic, displacements_topic = topic(MATCHES), topic(DISPLACEMENTS)
    alerts_topic = raw_topic(app, ALERTS_TOPIC)
    sections = {name: raw_topic(app, name) for name in map(case_topic, SECTIONS)}

    route = RouteStage(rules)

    def late(stage: str) -> Callable[[], None]:
        return lambda: METRICS.late(stage)

    subject = SubjectStage(
        table("subject-state"), table("subject-alerts"), rules, on_late=late("subject")
    )
    address = AddressStage(table("address-state"), rules, on_late=late("address"))
    sector = SectorStage(
        table("sector-state"), table("sector-alerts"), rules, on_late=late("sector")
    )
    network = NetworkStage(table("network", partitions=1), rules)
    cases = CaseStage(table("cases", partitions=1))

    async def send_matches(found: Iterable[RuleMatch], headers: Headers) -> None:
        for match in found:
            # one partition: the key only documents which case the match is for
            await send_acked(matches_topic, match.anchor_ref.encode(), dumps(match), headers)

    async def send_alerts(found: Iterable[Alert]) -> None:
        for alert in found:  # a public topic: no internal headers
            await send_acked(alerts_topic, alert.sector.encode(), dumps(alert))
            METRICS.alert(alert.alert_type, alert.sector)

    def enriched(message: Any) -> EnrichedEvent:
        return loads(EnrichedEvent, message.value)

    def passed_on(message: Any) -> Headers:
        """What this stage's outputs carry: the origin of the chain ``message`` is part of."""
        return origin_header(origin_of(message.headers, message.timestamp))

    async def on_valid(message: Any) -> None:
        event, headers = enriched(message), passed_on(message)
        routed = METRICS.timed_rules("route", route.process, event)
        for destination, key in routed.destinations:
            await send_acked(streams[destination], key.encode(), message.value, headers)
        await send_matches(routed.matches, headers)

    async def on_subject(message: Any) -> None:
        outcome = METRICS.timed_rules(
            "subject", subject.process, message.key.decode(), enriched(message), message.partition,
            _now(),
        )  # fmt: skip
        headers = passed_on(message)
        await send_matches(outcome.matches, headers)
        await send_alerts(outcome.alerts)
        for found in outcome.displacements:
            await send_acked(displacements_topic, found.to_sector.encode(), dumps(found), headers)

    async def on_address(message: Any) -> None:
        await send_matches(METRICS.timed_rules("address", address.process,
                           message.key.decode(), enriched(message), message.partition),
                           passed_on(message))  # fmt: skip

    async def on_sector(message: Any) -> None:
        key = message.key.decode()
        await send_alerts(METRICS.timed_rules("sector", sector.process,
                          key, enriched(message), message.partition, _now()))  # fmt: skip

    async def on_displacement(message: Any) -> None:
        await send_alerts(METRICS.timed_rules("displacement", sector.displaced,
                          loads(Displacement, message.value), _now()))  # fmt: skip

    async def on_links(message: Any) -> None:
        await send_matches(METRICS.timed_rules("network", network.process, enriched(message)),
                           passed_on(message))  # fmt: skip

    async def on_match(message: Any) -> None:
        match = loads(RuleMatch, message.value)
        origin = origin_of(message.headers, message.timestamp)
        for case_event in cases.process(match, _now()):
            target = sections[section_topic(case_event.section)]
            await send_acked(target, case_event.case_id.encode(), dumps(case_event))
            METRICS.case_emitted(case_event, match.rule_id, match.occurred_at, origin)

    def view(partition: int) -> Callable[[Store], Store]:
        return lambda store: PartitionView(store, partition, settings.topic_partitions)

    handlers: list[tuple[faust.TopicT, str, Any, Purge | None]] = [
        (topic(VALID_EVENTS), "route", on_valid, None),
        (streams[Route.SUBJECT], "subject", on_subject, lambda p: subject.purge(p, view(p))),
        (streams[Route.ADDRESS], "address", on_address, lambda p: address.purge(p, view(p))),
        (streams[Route.SECTOR], "sector", on_sector, lambda p: sector.purge(p, view(p))),
        (displacements_topic, "displacement", on_displacement, None),
        (streams[Route.LINKS], "network", on_links, lambda _p: network.purge()),
        (matches_topic, "cases", on_match, lambda _p: cases.purge(_now())),
    ]
    for channel, name, handle, purge in handlers:
        app.agent(channel, name=f"correlate-{name}")(guarded(handle, name, io, purge))
