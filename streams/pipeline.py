"""The whole correlation pipeline in memory: the same stages as the agents, dicts as stores.

Processing each event to completion before the next is one of the interleavings the Kafka
topology can produce, so what holds here for order and replays is what the agents rely on.
Lateness is judged as ingest judges it: per feed (a field topic's partition), in the order the
events are fed. Used by the property tests, as the oracle of the broker tests, and by anyone who
wants to see what a file of events would do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from functools import partial
from typing import Any

from schemas.cases import Alert, CaseEvent, Section
from schemas.enriched import EnrichedEvent
from schemas.outcomes import OutcomeCommand
from streams.cases import RANK
from streams.cases.outcomes import Settled
from streams.dedupe import Deduplicator
from streams.errors import RejectedInput
from streams.eventtime import Progress, SourceClock
from streams.matches import RuleMatch
from streams.routing import Route
from streams.rules import RulesConfig, load_rules
from streams.stages import (
    AddressStage,
    CaseStage,
    NetworkStage,
    RouteStage,
    SectorStage,
    SubjectStage,
)

Clock = Callable[[], dt.datetime]
FeedOf = Callable[[EnrichedEvent], str]
MEMORY_FEED = "memory"


def _one_feed(_event: EnrichedEvent) -> str:
    return MEMORY_FEED


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Pipeline:
    rules: RulesConfig = field(default_factory=load_rules)
    clock: Clock = _utc_now
    case_events: list[CaseEvent] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    stores: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: Event ids judged late at their source: recorded, counted, they trigger nothing.
    late: list[str] = field(default_factory=list)
    #: Court outcomes refused (dead-lettered), with why.
    refused: list[tuple[OutcomeCommand, RejectedInput]] = field(default_factory=list)
    #: (case id, subject reference) of every erasure, in order.
    erasures: list[tuple[str, str]] = field(default_factory=list)
    #: Matches the case manager has read: the next one's position, as its offset on the
    #: matches topic would be (``CaseManager.apply``).
    matches_read: int = 0

    def __post_init__(self) -> None:
        store = self.stores.setdefault
        self.admission = store("dedupe", {})
        self.clocks = SourceClock(self.admission, self.rules.lateness)
        self.dedupe = Deduplicator(self.admission)
        self.route = RouteStage(self.rules)
        self.subject = SubjectStage(store("subject", {}), store("subject-alerts", {}), self.rules)
        self.address = AddressStage(store("address", {}), self.rules)
        self.sector = SectorStage(store("sector", {}), store("sector-alerts", {}), self.rules)
        self.network = NetworkStage(store("network", {}), self.rules)
        self.cases = CaseStage(store("cases", {}))

    def feed(self, events: Iterable[EnrichedEvent], feed_of: FeedOf = _one_feed) -> Pipeline:
        """Ingest ``events`` in this order; ``feed_of`` names the feed (topic partition) that
        carried each, by default one feed for all."""
        for event in events:
            self.ingest(feed_of(event), event)
        return self

    def ingest(self, feed: str, event: EnrichedEvent) -> None:
        """Judge ``event`` at its source as ingest does, then process it unless it is late.
        An event fed again keeps its first verdict (a replay after a crash)."""
        verdict = self.dedupe.admit(
            event.event_id,
            "",
            (feed, 0, 0),
            event.occurred_at,
            partial(self.clocks.judge, feed, event.occurred_at),
        ).verdict
        assert verdict is not None
        if verdict.late:
            self.late.append(event.event_id)
            return
        self.process(event, Progress(feed, verdict.high))

    def process(self, event: EnrichedEvent, progress: Progress | None = None) -> None:
        routed = self.route.process(event)
        self._cases(routed.matches)
        for route, key in routed.destinations:
            if route is Route.SUBJECT:
                outcome = self.subject.process(key, event, 0, self.clock(), progress)
                self._cases(outcome.matches)
                self.alerts += outcome.alerts
                for displacement in outcome.displacements:
                    self.alerts += self.sector.displaced(displacement, 0, self.clock(), progress)
            elif route is Route.ADDRESS:
                self._cases(self.address.process(key, event, 0, progress))
            elif route is Route.SECTOR:
                self.alerts += self.sector.process(key, event, 0, self.clock(), progress)
            else:
                self._cases(self.network.process(event, progress))

    def settle(self, command: OutcomeCommand) -> Settled:
        """A court outcome, as the case manager applies it; a cleared subject is erased from
        every stage, as the agents' erasure commands do."""
        settled = self.cases.settle(command, self.clock())
        if settled.rejected is not None:
            self.refused.append((command, settled.rejected))
        self.case_events += settled.events
        for ref in settled.erased:
            self.subject.erase(ref)
            self.address.erase(ref)
            self.sector.erase(ref)
            self.network.erase(ref)
            self.erasures.append((command.outcome.case_id, ref))
        return settled

    def _cases(self, matches: list[RuleMatch] | tuple[RuleMatch, ...]) -> None:
        for match in matches:
            self.case_events += self.cases.process(match, self.clock(), self.matches_read)
            self.matches_read += 1

    def highest_sections(self) -> dict[str, Section]:
        """Each subject's highest section over all the cases that hold it."""
        best: dict[str, Section] = {}
        for event in self.case_events:
            if event.event_type in ("case_transferred", "case_merged"):
                continue
            for subject in event.subjects:
                current = best.get(subject.ref)
                if current is None or RANK[event.section] > RANK[current]:
                    best[subject.ref] = event.section
        return best
