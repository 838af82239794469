"""The whole correlation pipeline in memory: the same stages as the agents, dicts as stores.

Processing each event to completion before the next is one of the interleavings the Kafka
topology can produce, so what holds here for order and replays is what the agents rely on.
Used by the property tests and by anyone who wants to see what a file of events would do.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from schemas.cases import Alert, CaseEvent, Section
from schemas.enriched import EnrichedEvent
from streams.cases import RANK
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


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass
class Pipeline:
    rules: RulesConfig = field(default_factory=load_rules)
    clock: Clock = _utc_now
    case_events: list[CaseEvent] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)
    stores: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        store = self.stores.setdefault
        self.route = RouteStage(self.rules)
        self.subject = SubjectStage(store("subject", {}), store("subject-alerts", {}), self.rules)
        self.address = AddressStage(store("address", {}), self.rules)
        self.sector = SectorStage(store("sector", {}), store("sector-alerts", {}), self.rules)
        self.network = NetworkStage(store("network", {}), self.rules)
        self.cases = CaseStage(store("cases", {}))

    def feed(self, events: Iterable[EnrichedEvent]) -> Pipeline:
        for event in events:
            self.process(event)
        return self

    def process(self, event: EnrichedEvent) -> None:
        routed = self.route.process(event)
        self._cases(routed.matches)
        for route, key in routed.destinations:
            if route is Route.SUBJECT:
                outcome = self.subject.process(key, event, 0, self.clock())
                self._cases(outcome.matches)
                self.alerts += outcome.alerts
                for displacement in outcome.displacements:
                    self.alerts += self.sector.displaced(displacement, self.clock())
            elif route is Route.ADDRESS:
                self._cases(self.address.process(key, event, 0))
            elif route is Route.SECTOR:
                self.alerts += self.sector.process(key, event, 0, self.clock())
            else:
                self._cases(self.network.process(event))

    def _cases(self, matches: list[RuleMatch] | tuple[RuleMatch, ...]) -> None:
        for match in matches:
            self.case_events += self.cases.process(match, self.clock())

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
