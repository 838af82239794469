"""What the correlation agents do with each record: one method per stage, importable and
testable without building the agents (``agents.correlate`` wires them to their topics).

``Publisher`` is the one way out for what a stage discloses: an audit record handed on first,
the case event or alert held until it is acknowledged (``agents.io.Disclosures``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import faust

from agents.court import OUTCOME, ErasureTargets, apply_outcome, command_of, erasure_of
from agents.ingest import Streams
from agents.io import AgentIO, hand_to_producer, origin_of, passed_on, progress_of
from fieldcourt.faults import FAULTS, CrashPoint
from fieldcourt.metrics import METRICS
from fieldcourt.topics import ALERTS_TOPIC
from schemas.audit import AuditRecord
from schemas.cases import Alert, CaseEvent
from schemas.codec import dumps, loads
from schemas.enriched import EnrichedEvent
from schemas.outcomes import OutcomeCommand
from streams.audit import alert_disclosure, audit_key, case_disclosure, combination, expiry
from streams.cases import section_topic
from streams.matches import RuleMatch
from streams.partitioning import PartitionView
from streams.rules import Displacement
from streams.stages import (
    AddressStage,
    CaseStage,
    NetworkStage,
    SectorStage,
    Store,
    SubjectStage,
)


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def emitted_at(message: Any) -> dt.datetime:
    """The ``emitted_at`` of what processing ``message`` publishes: the record's own Kafka
    timestamp, not the clock. A record processed again after a crash (its outputs may have
    reached the broker while its state changes did not) then publishes byte-identical case
    events and alerts, never a second version under one number."""
    return dt.datetime.fromtimestamp(message.timestamp, dt.UTC)


def _headers_of(message: Any) -> list[tuple[str, bytes]]:
    return passed_on(message.headers, message.timestamp)


@dataclass(frozen=True)
class Publisher:
    """Audit records, case events and alerts, in the order contract §8 requires."""

    io: AgentIO
    audit_topic: faust.TopicT
    alerts_topic: faust.TopicT
    sections: dict[str, faust.TopicT]

    async def audited(self, record: AuditRecord) -> None:
        """On the broker before what it records is handed on (contract §8)."""
        await self.io.disclosures.audit(self.audit_topic, audit_key(record), dumps(record))

    async def alerts(self, found: Iterable[Alert]) -> None:
        for alert in found:  # a public topic: no internal headers
            await self.audited(alert_disclosure(alert, ALERTS_TOPIC))
            self.io.disclosures.disclose(self.alerts_topic, alert.sector.encode(), dumps(alert))
            METRICS.alert(alert.alert_type, alert.sector)

    async def case_events(
        self,
        case_events: list[CaseEvent],
        rule: str,
        occurred_at: dt.datetime,
        origin: float | None,
    ) -> None:
        for case_event in case_events:
            name = section_topic(case_event.section)
            await self.audited(case_disclosure(case_event, name))
            value = dumps(case_event)
            self.io.disclosures.disclose(self.sections[name], case_event.case_id.encode(), value)
            METRICS.case_emitted(case_event, rule, occurred_at, origin)

    async def forgotten(self, case_id: str, name: str, at: dt.datetime) -> None:
        """A closed case past its retention leaves its section topic (compacted by case id)
        by a tombstone, audited first."""
        await self.audited(expiry(case_id, name, at))
        self.io.disclosures.disclose(self.sections[name], case_id.encode(), None)


@dataclass(frozen=True)
class Correlation:
    """The stages over their stores, and where their findings go."""

    subject: SubjectStage
    address: AddressStage
    sector: SectorStage
    network: NetworkStage
    cases: CaseStage
    publisher: Publisher
    handoff: Streams
    displacements: faust.TopicT
    erasures: ErasureTargets
    io: AgentIO
    partitions: int

    def _enriched(self, message: Any) -> EnrichedEvent:
        return self.io.decoded.event(message.value)

    def view(self, partition: int) -> Callable[[Store], Store]:
        return lambda store: PartitionView(store, partition, self.partitions)

    async def on_subject(self, message: Any) -> None:
        if (erased := erasure_of(message)) is not None:
            self.subject.erase(erased.subject_ref, self.view(message.partition))
            return
        event, key, when = self._enriched(message), message.key.decode(), emitted_at(message)
        args = (key, event, message.partition, when, progress_of(message.headers))
        outcome = METRICS.timed_rules("subject", self.subject.process, *args)
        headers = _headers_of(message)
        await self.handoff.send_matches(list(outcome.matches), headers)
        await self.publisher.alerts(outcome.alerts)
        for found in outcome.displacements:
            to_sector = found.to_sector.encode()
            await hand_to_producer(self.displacements, to_sector, dumps(found), headers)

    async def on_address(self, message: Any) -> None:
        if (erased := erasure_of(message)) is not None:
            self.address.erase(erased.subject_ref, self.view(message.partition))
            return
        event, key = self._enriched(message), message.key.decode()
        args = (key, event, message.partition, progress_of(message.headers))
        found = METRICS.timed_rules("address", self.address.process, *args)
        await self.handoff.send_matches(found, _headers_of(message))

    async def on_sector(self, message: Any) -> None:
        event, key, when = self._enriched(message), message.key.decode(), emitted_at(message)
        args = (key, event, message.partition, when, progress_of(message.headers))
        await self.publisher.alerts(METRICS.timed_rules("sector", self.sector.process, *args))

    async def on_displacement(self, message: Any) -> None:
        if (erased := erasure_of(message)) is not None:
            self.sector.erase(erased.subject_ref, self.view(message.partition))
            return
        found = loads(Displacement, message.value)
        args = (found, message.partition, emitted_at(message), progress_of(message.headers))
        alerts = METRICS.timed_rules("displacement", self.sector.displaced, *args)
        await self.publisher.alerts(alerts)

    async def on_links(self, message: Any) -> None:
        if (erased := erasure_of(message)) is not None:
            self.network.erase(erased.subject_ref)
            return
        args = (self._enriched(message), progress_of(message.headers))
        found = METRICS.timed_rules("network", self.network.process, *args)
        await self.handoff.send_matches(found, _headers_of(message))

    async def on_match(self, message: Any) -> None:
        origin = origin_of(message.headers, message.timestamp)
        when = emitted_at(message)
        publisher = self.publisher
        if command_of(message) == OUTCOME:
            command = loads(OutcomeCommand, message.value)
            settled = self.cases.settle(command, when)
            found = await apply_outcome(
                command, settled, when, self.io, self.erasures, publisher.audited
            )
            await publisher.case_events(found, "court.outcome", command.outcome.decided_at, origin)
            FAULTS.reached(CrashPoint.AFTER_OUTCOME)
            return
        match = loads(RuleMatch, message.value)
        case_events = self.cases.process(match, when, message.offset)
        if case_events:  # the match changed a case: it combined what it holds
            await publisher.audited(combination(match, case_events[0].case_id, when))
        await publisher.case_events(case_events, match.rule_id, match.occurred_at, origin)

    def purge_subjects(self, partition: int) -> int:
        return self.subject.purge(partition, self.view(partition))

    def purge_addresses(self, partition: int) -> int:
        return self.address.purge(partition, self.view(partition))

    def purge_sectors(self, partition: int) -> int:
        return self.sector.purge(partition, self.view(partition))

    def purge_network(self, _partition: int) -> int:
        return self.network.purge()

    async def purge_cases(self, _partition: int) -> int:
        """The outbox and the closed cases past retention, which leave their section topics."""
        now = _now()
        purged, forgotten = self.cases.purge(now)
        for case_id, section in forgotten:
            await self.publisher.forgotten(case_id, section_topic(section), now)
        return purged
