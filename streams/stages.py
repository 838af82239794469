"""The correlation stages, one per keyed stream, each over its own key-value stores.

A stage takes one input, updates its state and returns what it produced; it knows nothing of
Kafka. The Faust agents (``agents/correlate.py``) run each stage on its topic with Faust tables
as stores; ``streams.pipeline`` runs them all in memory with dicts, for tests and replays.

::

    ingest ─► RouteStage ──► by-subject ─► SubjectStage ─► matches, alerts, displacements
     (late    │  └ f3.seizure matches   by-address ─► AddressStage ─► matches
     events   │                         by-sector  ─► SectorStage  ─► alerts
     stop)    │                         displacements ─► SectorStage ─► alerts
              └───────────────────────► links (one partition) ─► NetworkStage ─► matches
    matches (one partition) ─► CaseStage ─► case events

Every stage sees only events that were on time at their source, in whatever order the schedule
brings them, and judges each against all the history it holds; what it hears of the feeds'
progress (``streams.eventtime``) decides only how far back its state may be purged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from schemas.cases import Alert, CaseEvent, Section
from schemas.enriched import EnrichedEvent
from schemas.outcomes import OutcomeCommand
from streams.cases import CaseManager
from streams.cases.outcomes import Settled
from streams.eventtime import FeedProgress, Progress
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
from streams.rules.config import widest_window
from streams.state import AddressState, SectorState, SubjectState

Store = MutableMapping[str, Any]
#: Restricts a store to the keys of the partition being purged (see ``streams.partitioning``).
View = Callable[[Store], Store]


def _whole(store: Store) -> Store:
    """The view of a store that holds one partition (in memory, or a single-partition table)."""
    return store


OUTBOX_RETENTION = dt.timedelta(days=30)
#: How long the case manager keeps a case after the court closed it (contract §8).
CLOSED_RETENTION = dt.timedelta(days=365)
#: What ``SectorState.trailing`` reads behind an event: its 24 h and the 7 days before.
SURGE_REACH = dt.timedelta(days=8)


def subject_retention(rules: RulesConfig) -> dt.timedelta:
    """A subject's history must reach back over the widest recurrence or displacement window
    (any sector's), from an event arriving as late as the lateness bound allows."""
    params = rules.rules
    widest = max(widest_window(params.recurrence), widest_window(params.displacement))
    return widest + rules.lateness


def address_retention(rules: RulesConfig) -> dt.timedelta:
    """A late report still finds the arrests within the widest dealing-address window of it."""
    return widest_window(rules.rules.dealing_address) + rules.lateness


def sector_retention(rules: RulesConfig) -> dt.timedelta:
    return SURGE_REACH + rules.lateness


def trade_migration_reach(rules: RulesConfig) -> dt.timedelta:
    """A displacement still finds the arrivals of the widest trade-migration window before it."""
    return widest_window(rules.rules.trade_migration) + rules.lateness


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


class _Timed:
    """A stage over a store, with what it has heard of the feeds' progress in the same store."""

    def __init__(self, store: Store, rules: RulesConfig, progress: FeedProgress | None) -> None:
        self.store = store
        self.rules = rules
        self.progress = progress or FeedProgress(store, rules.lateness)

    def cutoff(self, partition: int, keep: dt.timedelta) -> dt.datetime | None:
        """Event time before which state of ``partition`` is past a retention of ``keep``:
        no event that is not late can reach further back (``streams.eventtime``)."""
        low = self.progress.low(partition)
        return None if low is None else low - keep


class SubjectStage(_Timed):
    def __init__(
        self,
        store: Store,
        alerts: Store,
        rules: RulesConfig,
        *,
        progress: FeedProgress | None = None,
    ) -> None:
        super().__init__(store, rules, progress)
        self.state = SubjectState(store, subject_retention(rules))
        self.alerts = alerts
        self.limiter = AlertLimiter(alerts)

    def process(
        self,
        ref: str,
        event: EnrichedEvent,
        partition: int,
        now: dt.datetime,
        progress: Progress | None = None,
    ) -> SubjectOutcome:
        self.progress.observe(partition, progress)
        self.state.record(ref, event)
        return evaluate_subject(event, ref, self.state, self.limiter, self.rules, now=now)

    def purge(self, partition: int, view: View) -> int:
        history = self.cutoff(partition, self.state.retention)
        slots = self.cutoff(partition, dt.timedelta(0))
        if history is None or slots is None:
            return 0
        # A sweep cuts at ``history`` whatever the state's retention: a view needs none of its own.
        return SubjectState(view(self.store)).sweep(history) + AlertLimiter(
            view(self.alerts)
        ).sweep(slots)

    def erase(self, ref: str, view: View = _whole) -> int:
        """Forget subject ``ref`` in the keys of ``view``: their events and alert slots, and
        their place in other subjects' events."""
        return SubjectState(view(self.store)).erase(ref) + AlertLimiter(view(self.alerts)).erase(
            ref
        )


class AddressStage(_Timed):
    def __init__(
        self, store: Store, rules: RulesConfig, *, progress: FeedProgress | None = None
    ) -> None:
        super().__init__(store, rules, progress)
        self.state = AddressState(store, address_retention(rules))

    def process(
        self, key: str, event: EnrichedEvent, partition: int, progress: Progress | None = None
    ) -> list[RuleMatch]:
        self.progress.observe(partition, progress)
        self.state.record(key, event)
        return evaluate_address(event, self.state, self.rules)

    def purge(self, partition: int, view: View) -> int:
        history = self.cutoff(partition, self.state.retention)
        return 0 if history is None else AddressState(view(self.store)).sweep(history)

    def erase(self, ref: str, view: View = _whole) -> int:
        """Forget subject ``ref`` in the events of the addresses of ``view``."""
        return AddressState(view(self.store)).erase(ref)


class SectorStage(_Timed):
    """Surges from the sector's counts; trade migrations from displacements into it."""

    def __init__(
        self,
        store: Store,
        alerts: Store,
        rules: RulesConfig,
        *,
        progress: FeedProgress | None = None,
    ) -> None:
        super().__init__(store, rules, progress)
        self.state = SectorState(store, sector_retention(rules))
        self.alerts = alerts
        self.limiter = AlertLimiter(alerts)
        self.ledger = MigrationLedger(alerts)

    def process(
        self,
        sector: str,
        event: EnrichedEvent,
        partition: int,
        now: dt.datetime,
        progress: Progress | None = None,
    ) -> list[Alert]:
        self.progress.observe(partition, progress)
        self.state.record(sector, event)
        return evaluate_sector(event, self.state, self.limiter, self.rules, now=now)

    def displaced(
        self,
        displacement: Displacement,
        partition: int,
        now: dt.datetime,
        progress: Progress | None = None,
    ) -> list[Alert]:
        self.progress.observe(partition, progress)
        return evaluate_displacement(displacement, self.ledger, self.limiter, self.rules, now=now)

    def purge(self, partition: int, view: View) -> int:
        counts = self.cutoff(partition, self.state.retention)
        arrivals = self.cutoff(partition, trade_migration_reach(self.rules))
        slots = self.cutoff(partition, dt.timedelta(0))
        if counts is None or arrivals is None or slots is None:
            return 0
        return (
            SectorState(view(self.store)).sweep(counts)
            + MigrationLedger(view(self.alerts)).sweep(arrivals)
            + AlertLimiter(view(self.alerts)).sweep(slots)
        )

    def erase(self, ref: str, view: View = _whole) -> int:
        """Forget subject ``ref``: their arrivals, and their name on stored alerts. The hourly
        counts hold event ids only, no subject: they stay."""
        alerts = view(self.alerts)
        return MigrationLedger(alerts).erase(ref) + AlertLimiter(alerts).erase(ref)


class NetworkStage(_Timed):
    """One partition: every key is this partition's."""

    def __init__(
        self, store: Store, rules: RulesConfig, *, progress: FeedProgress | None = None
    ) -> None:
        super().__init__(store, rules, progress)
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

    def process(self, event: EnrichedEvent, progress: Progress | None = None) -> list[RuleMatch]:
        self.progress.observe(0, progress)
        return self.graph.observe(event) if self.enabled else []

    def purge(self) -> int:
        """Links further back than the window from the low watermark can join no component."""
        before = self.cutoff(0, self.graph.config.window)
        return 0 if before is None else self.graph.sweep(before)

    def erase(self, ref: str) -> int:
        return self.graph.erase(ref)


class CaseStage:
    def __init__(self, store: Store, closed_retention: dt.timedelta = CLOSED_RETENTION) -> None:
        self.manager = CaseManager(store)
        self.closed_retention = closed_retention

    def process(
        self, match: RuleMatch, now: dt.datetime, source: int | None = None
    ) -> list[CaseEvent]:
        """``source``: the match's position on the matches topic (``CaseManager.apply``)."""
        return self.manager.apply(match, now, source)

    def settle(self, command: OutcomeCommand, now: dt.datetime) -> Settled:
        return self.manager.settle(command.outcome, command.fingerprint, now)

    def purge(self, now: dt.datetime) -> tuple[int, list[tuple[str, Section]]]:
        """Outbox records serve replays after a crash: a month is ample. A case closed by the
        court is kept ``closed_retention`` (contract §8), then forgotten: returns the outbox
        records purged, and each forgotten case's id and last section."""
        forgotten = self.manager.sweep_closed(now - self.closed_retention)
        return self.manager.sweep(now - OUTBOX_RETENTION) + len(forgotten), forgotten
