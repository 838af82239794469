"""The correlation stages, one per keyed stream, each over its own key-value stores.

A stage takes one input, updates its state and returns what it produced; it knows nothing of
Kafka. The Faust agents (``agents/correlate.py``) run each stage on its topic with Faust tables
as stores; ``streams.pipeline`` runs them all in memory with dicts, for tests and replays.

::

    valid events ─► RouteStage ──► by-subject ─► SubjectStage ─► matches, alerts, displacements
                     │  └ f3.seizure matches    by-address ─► AddressStage ─► matches
                     │                          by-sector  ─► SectorStage  ─► alerts
                     │                          displacements ─► SectorStage ─► alerts
                     └───────────────────────► links (one partition) ─► NetworkStage ─► matches
    matches (one partition) ─► CaseStage ─► case events
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any

from schemas.cases import Alert, CaseEvent
from schemas.enriched import EnrichedEvent
from streams.cases import CaseManager
from streams.matches import RuleMatch
from streams.network import NetworkConfig, NetworkGraph
from streams.routing import Route, routes
from streams.rules import (
    AlertLimiter,
    Displacement,
    MigrationLedger,
    RulesConfig,
    SubjectOutcome,
    evaluate_address,
    evaluate_displacement,
    evaluate_sector,
    evaluate_seizure,
    evaluate_subject,
)
from streams.state import AddressState, SectorState, SubjectState, Watermark

Store = MutableMapping[str, Any]
#: Restricts a store to the keys of the partition being purged (see ``streams.partitioning``).
View = Callable[[Store], Store]
LateHook = Callable[[], None]


def _no_hook() -> None:
    pass


OUTBOX_RETENTION = dt.timedelta(days=30)
#: What ``SectorState.trailing`` reads behind an event: its 24 h and the 7 days before.
SURGE_REACH = dt.timedelta(days=8)


def subject_retention(rules: RulesConfig) -> dt.timedelta:
    """A subject's history must reach back over the widest recurrence or displacement window
    (any sector's), from an event arriving as late as the lateness bound allows."""
    params = rules.rules
    days = max(
        *(p.window_days for p in params.recurrence.variants()),
        *(p.window_days for p in params.displacement.variants()),
    )
    return dt.timedelta(days=days) + rules.lateness


def address_retention(rules: RulesConfig) -> dt.timedelta:
    """A late report still finds the arrests within the widest dealing-address window of it."""
    days = max(p.window_days for p in rules.rules.dealing_address.variants())
    return dt.timedelta(days=days) + rules.lateness


def sector_retention(rules: RulesConfig) -> dt.timedelta:
    return SURGE_REACH + rules.lateness


@dataclass(frozen=True)
class Routed:
    destinations: list[tuple[Route, str]]
    matches: list[RuleMatch]


class RouteStage:
    """Re-keys each valid event for the stages that need it; f3.seizure needs no state."""

    def __init__(self, rules: RulesConfig) -> None:
        self.rules = rules

    def process(self, event: EnrichedEvent) -> Routed:
        matches = evaluate_seizure(event, self.rules) if event.kind == "seizure" else []
        return Routed(routes(event), matches)


@dataclass
class _Timed:
    """A state over a store plus the watermark of the partitions it reads, in the same store."""

    store: Store
    rules: RulesConfig
    #: Called for each event behind the watermark (recorded, triggers nothing): a metric.
    on_late: LateHook = field(default=_no_hook, kw_only=True)
    watermark: Watermark = field(init=False)

    def __post_init__(self) -> None:
        self.watermark = Watermark(self.store, self.rules.lateness)

    def late(self, partition: int, event: EnrichedEvent) -> bool:
        late = self.watermark.observe(partition, event.occurred_at)
        if late:
            self.on_late()
        return late

    def cutoff(self, partition: int, keep: dt.timedelta) -> dt.datetime | None:
        """Event time before which state of ``partition`` is past a retention of ``keep``."""
        mark = self.watermark.current(partition)
        return None if mark is None else mark - keep


class SubjectStage(_Timed):
    def __init__(
        self, store: Store, alerts: Store, rules: RulesConfig, *, on_late: LateHook = _no_hook
    ) -> None:
        super().__init__(store, rules, on_late=on_late)
        self.state = SubjectState(store, subject_retention(rules))
        self.alerts = alerts
        self.limiter = AlertLimiter(alerts)

    def process(
        self, ref: str, event: EnrichedEvent, partition: int, now: dt.datetime
    ) -> SubjectOutcome:
        late = self.late(partition, event)
        self.state.record(ref, event, late)
        return evaluate_subject(
            event, ref, self.state, self.limiter, self.rules, now=now, late=late
        )

    def purge(self, partition: int, view: View) -> int:
        history = self.cutoff(partition, self.state.retention)
        slots = self.cutoff(partition, self.rules.lateness)
        if history is None or slots is None:
            return 0
        # A sweep cuts at ``history`` whatever the state's retention: a view needs none of its own.
        return SubjectState(view(self.store)).sweep(history) + AlertLimiter(
            view(self.alerts)
        ).sweep(slots)


class AddressStage(_Timed):
    def __init__(self, store: Store, rules: RulesConfig, *, on_late: LateHook = _no_hook) -> None:
        super().__init__(store, rules, on_late=on_late)
        self.state = AddressState(store, address_retention(rules))

    def process(self, key: str, event: EnrichedEvent, partition: int) -> list[RuleMatch]:
        late = self.late(partition, event)
        self.state.record(key, event, late)
        return evaluate_address(event, self.state, self.rules, late=late)

    def purge(self, partition: int, view: View) -> int:
        history = self.cutoff(partition, self.state.retention)
        return 0 if history is None else AddressState(view(self.store)).sweep(history)


class SectorStage(_Timed):
    """Surges from the sector's counts; trade migrations from displacements into it."""

    def __init__(
        self, store: Store, alerts: Store, rules: RulesConfig, *, on_late: LateHook = _no_hook
    ) -> None:
        super().__init__(store, rules, on_late=on_late)
        self.state = SectorState(store, sector_retention(rules))
        self.alerts = alerts
        self.limiter = AlertLimiter(alerts)
        self.ledger = MigrationLedger(alerts)

    def process(
        self, sector: str, event: EnrichedEvent, partition: int, now: dt.datetime
    ) -> list[Alert]:
        late = self.late(partition, event)
        self.state.record(sector, event, late)
        return evaluate_sector(event, self.state, self.limiter, self.rules, now=now, late=late)

    def displaced(self, displacement: Displacement, now: dt.datetime) -> list[Alert]:
        return evaluate_displacement(displacement, self.ledger, self.limiter, self.rules, now=now)

    def purge(self, partition: int, view: View) -> int:
        counts = self.cutoff(partition, self.state.retention)
        slots = self.cutoff(partition, self.rules.lateness)
        if counts is None or slots is None:
            return 0
        return SectorState(view(self.store)).sweep(counts) + AlertLimiter(view(self.alerts)).sweep(
            slots
        )


class NetworkStage:
    def __init__(self, store: Store, rules: RulesConfig) -> None:
        params = rules.rules.network
        self.graph = NetworkGraph(
            store,
            NetworkConfig(
                min_subjects=params.min_subjects,
                window=dt.timedelta(days=params.window_days),
                lateness=rules.lateness,
            ),
        )
        self.enabled = params.enabled
        self.latest: dt.datetime | None = None

    def process(self, event: EnrichedEvent) -> list[RuleMatch]:
        if self.latest is None or event.occurred_at > self.latest:
            self.latest = event.occurred_at
        return self.graph.observe(event) if self.enabled else []

    def purge(self) -> int:
        """Links older than the window plus lateness behind the newest event seen can no
        longer join a component (one partition: every key is this partition's)."""
        if self.latest is None:
            return 0
        config = self.graph.config
        return self.graph.sweep(self.latest - config.window - config.lateness)


class CaseStage:
    def __init__(self, store: Store) -> None:
        self.manager = CaseManager(store)

    def process(self, match: RuleMatch, now: dt.datetime) -> list[CaseEvent]:
        return self.manager.apply(match, now)

    def purge(self, now: dt.datetime) -> int:
        """Outbox records serve replays after a crash: a month is ample."""
        return self.manager.sweep(now - OUTBOX_RETENTION)
