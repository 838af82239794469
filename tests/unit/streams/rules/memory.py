"""The rules wired as the agents wire them, in memory: one list of events as every state."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from itertools import repeat
from typing import Any

from schemas.cases import Alert
from schemas.enriched import EnrichedEvent
from streams.matches import RuleMatch
from streams.rules import (
    AlertLimiter,
    MigrationLedger,
    RulesConfig,
    evaluate_address,
    evaluate_displacement,
    evaluate_sector,
    evaluate_seizure,
    evaluate_subject,
)
from streams.state import SurgeWindow
from tests.unit.streams.rules.builders import NOW

DAY = timedelta(days=1)


class MemoryState:
    """SubjectHistory, AddressHistory and SectorCounts over one dict of events."""

    def __init__(self, events: Iterable[EnrichedEvent] = ()) -> None:
        self._events = {e.event_id: e for e in events}

    def record(self, event: EnrichedEvent) -> None:
        self._events[event.event_id] = event

    def _select(self, keep: Callable[[EnrichedEvent], bool]) -> list[EnrichedEvent]:
        found = (e for e in self._events.values() if keep(e))
        return sorted(found, key=lambda e: (e.occurred_at, e.event_id))

    def events(self, ref: str, start: datetime, end: datetime) -> list[EnrichedEvent]:
        return self._select(
            lambda e: start <= e.occurred_at <= end and any(s.ref == ref for s in e.subjects)
        )

    def around(self, key: str, t: datetime, days: int) -> list[EnrichedEvent]:
        reach = timedelta(days=days)
        return self._select(lambda e: e.address_key == key and abs(e.occurred_at - t) <= reach)

    def trailing(self, sector: str, t: datetime) -> tuple[int, list[int]]:
        def count(end: datetime) -> int:
            return len(
                self._select(
                    lambda e: (
                        e.sector == sector and e.narcotics and end - DAY < e.occurred_at <= end
                    )
                )
            )

        return count(t), [count(t - k * DAY) for k in range(7, 0, -1)]

    def surge_windows(self, sector: str, ends: Sequence[datetime]) -> list[SurgeWindow]:
        return [
            SurgeWindow(count, sum(days))
            for count, days in map(self.trailing, repeat(sector), ends)
        ]

    def _sector(self, sector: str, keep: Callable[[datetime], bool]) -> list[EnrichedEvent]:
        return self._select(lambda e: e.sector == sector and e.narcotics and keep(e.occurred_at))

    def count(self, sector: str, start: datetime, end: datetime) -> int:
        return len(self._sector(sector, lambda t: start <= t < end))

    def moments(self, sector: str, after: datetime, before: datetime) -> list[tuple[datetime, str]]:
        return [
            (e.occurred_at, e.event_id) for e in self._sector(sector, lambda t: after < t < before)
        ]


class Pipeline:
    """Judges each event late as its source does (one feed: the order of ``feed``); records
    an event on time and runs every rule on it; a late one is counted and triggers nothing."""

    def __init__(self, config: RulesConfig | None = None) -> None:
        self.config = config or RulesConfig()
        self.state = MemoryState()
        self.subject_store: dict[str, Any] = {}
        self.sector_store: dict[str, Any] = {}
        self.subject_limiter = AlertLimiter(self.subject_store)
        self.sector_limiter = AlertLimiter(self.sector_store)
        self.ledger = MigrationLedger(self.sector_store)
        self.highest: datetime | None = None
        self.late: list[str] = []
        self.matches: list[RuleMatch] = []
        self.alerts: list[Alert] = []

    def feed(self, *events: EnrichedEvent, now: datetime = NOW) -> list[RuleMatch | Alert]:
        """Process ``events`` in this order; returns what they produced."""
        before = len(self.matches), len(self.alerts)
        for e in events:
            self._one(e, now)
        return [*self.matches[before[0] :], *self.alerts[before[1] :]]

    def _one(self, e: EnrichedEvent, now: datetime) -> None:
        late = self.highest is not None and e.occurred_at < self.highest - self.config.lateness
        self.highest = max(self.highest or e.occurred_at, e.occurred_at)
        if late:
            self.late.append(e.event_id)
            return
        self.state.record(e)
        for subject in e.subjects:
            outcome = evaluate_subject(
                e, subject.ref, self.state, self.subject_limiter, self.config, now=now
            )
            self.matches += outcome.matches
            self.alerts += outcome.alerts
            for d in outcome.displacements:
                self.alerts += evaluate_displacement(
                    d, self.ledger, self.sector_limiter, self.config, now=now
                )
        self.matches += evaluate_address(e, self.state, self.config)
        self.matches += evaluate_seizure(e, self.config)
        self.alerts += evaluate_sector(e, self.state, self.sector_limiter, self.config, now=now)

    def fired(self, rule_id: str) -> set[str]:
        """Anchor refs the rule has matched so far."""
        return {m.anchor_ref for m in self.matches if m.rule_id == rule_id}

    def alerted(self, alert_type: str) -> list[Alert]:
        return [a for a in self.alerts if a.alert_type == alert_type]


def rules(lateness_days: int = 7, **entries: Any) -> RulesConfig:
    """A config from ``rules:`` entries, rule ids spelt with ``_`` for ``.`` after the prefix:
    ``rules(p20_recurrence={"min_arrests": 2})``."""
    return RulesConfig.model_validate(
        {
            "lateness_days": lateness_days,
            "rules": {name.replace("_", ".", 1): value for name, value in entries.items()},
        }
    )
