"""Prometheus metrics: created once here (the container), recorded through typed methods.

Labels never carry event, case or subject ids: only topics, partitions, kinds, reasons,
sections, rules, alert types, sectors and stage names, all from small fixed sets, so the
number of series stays bounded whatever the traffic.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Iterable, Mapping
from typing import Any, ParamSpec, TypeVar

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    disable_created_metrics,
    generate_latest,
)

from schemas.cases import CaseEvent

# ``*_created`` series double every counter and histogram for nothing Prometheus uses.
disable_created_metrics()  # type: ignore[no-untyped-call]  # untyped upstream

P = ParamSpec("P")
R = TypeVar("R")

MINUTE, HOUR, DAY = 60.0, 3600.0, 86400.0
#: Pure computation on one record: microseconds to a tenth of a second.
COMPUTE_BUCKETS = (
    0.00005,
    0.0001,
    0.00025,
    0.0005,
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    1.0,
)
#: From a record's Kafka append time to its processing: milliseconds to ten minutes.
PIPELINE_BUCKETS = (
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
)
#: From ``occurred_at`` to a case: police report hours, days or months after the facts.
EVENT_AGE_BUCKETS = (
    MINUTE,
    5 * MINUTE,
    15 * MINUTE,
    30 * MINUTE,
    HOUR,
    2 * HOUR,
    6 * HOUR,
    12 * HOUR,
    DAY,
    2 * DAY,
    7 * DAY,
    14 * DAY,
    30 * DAY,
    60 * DAY,
    90 * DAY,
    180 * DAY,
    365 * DAY,
)

ESCALATED = "case_escalated"


class Metrics:
    """Every fieldcourt metric, in one registry that the worker's ``/metrics`` serves.

    ``clock`` (seconds since the epoch) dates latencies and freshness; ``timer`` (a monotonic
    counter of seconds) times the ``timed_*`` calls. Tests pass their own to set durations.
    """

    def __init__(
        self,
        registry: CollectorRegistry | None = None,
        *,
        clock: Callable[[], float] = time.time,
        timer: Callable[[], float] = time.perf_counter,
    ) -> None:
        self.registry = registry or CollectorRegistry()
        self._clock, self._timer = clock, timer
        #: (metric, label values) -> its child, for the metrics recorded on every record
        #: (``labels`` takes a lock and builds a key: ~1.4 us, several times a record).
        self._children: dict[tuple[int, tuple[str, ...]], Any] = {}
        reg = self.registry
        ProcessCollector(registry=reg)
        PlatformCollector(registry=reg)

        # Ingest
        self.events_consumed = Counter(
            "fieldcourt_events_consumed_total",
            "Records read from inbound topics.",
            ["topic"],
            registry=reg,
        )
        self.events_accepted = Counter(
            "fieldcourt_events_accepted_total",
            "Valid events passed on to correlation.",
            ["topic", "kind"],
            registry=reg,
        )
        self.deadletters = Counter(
            "fieldcourt_deadlettered_total",
            "Records written to the dead-letter topic.",
            ["reason"],
            registry=reg,
        )
        self.duplicates = Counter(
            "fieldcourt_duplicates_dropped_total",
            "Redeliveries with an identical payload.",
            ["topic"],
            registry=reg,
        )
        self.sector_last_event = Gauge(
            "fieldcourt_sector_last_event_timestamp_seconds",
            "When an event located in the sector was last accepted (the worker's start until "
            "one is), for the silent-sector alert.",
            ["sector"],
            registry=reg,
        )
        self.enrichment_seconds = Histogram(
            "fieldcourt_enrichment_duration_seconds",
            "Time to enrich one event (sector, pseudonyms, address key).",
            registry=reg,
            buckets=COMPUTE_BUCKETS,
        )

        # Correlation
        self.rule_evaluation_seconds = Histogram(
            "fieldcourt_rule_evaluation_duration_seconds",
            "Time a correlation stage spends updating its state and evaluating its rules "
            "for one record.",
            ["stage"],
            registry=reg,
            buckets=COMPUTE_BUCKETS,
        )
        self.case_events = Counter(
            "fieldcourt_case_events_total",
            "Case events emitted (opened, updated, escalated, transferred, merged), by the "
            "section of the event and the rule of the match that caused it.",
            ["event_type", "section", "rule"],
            registry=reg,
        )
        self.case_escalations = Counter(
            "fieldcourt_case_escalations_total",
            "Cases escalated from one section to another.",
            ["from_section", "to_section", "rule"],
            registry=reg,
        )
        self.case_latency_from_append = Histogram(
            "fieldcourt_case_latency_from_append_seconds",
            "From the Kafka append time of the field record at the origin of a case event "
            "(carried through the internal topics in a header) to the event's emission.",
            registry=reg,
            buckets=PIPELINE_BUCKETS,
        )
        self.case_latency_from_occurrence = Histogram(
            "fieldcourt_case_latency_from_occurrence_seconds",
            "From the occurred_at of the event that triggered a rule match to the emission "
            "of the case event (includes the police's reporting delay).",
            registry=reg,
            buckets=EVENT_AGE_BUCKETS,
        )
        self.alerts = Counter(
            "fieldcourt_alerts_total",
            "Alerts sent to the COJC.",
            ["alert_type", "sector"],
            registry=reg,
        )
        self.state_entries = Gauge(
            "fieldcourt_state_entries",
            "Entries of each table in this worker's local store (the partitions it holds), "
            "counted periodically.",
            ["table"],
            registry=reg,
        )
        self.state_purged = Counter(
            "fieldcourt_state_purged_total",
            "State entries purged past their retention.",
            ["table"],
            registry=reg,
        )
        self.late_events = Counter(
            "fieldcourt_late_events_total",
            "Events judged late at their source: their own field-topic partition had already "
            "carried an event more than the lateness bound newer. Recorded, they trigger no rule.",
            ["topic"],
            registry=reg,
        )

        # Every stage
        self.stage_latency = Histogram(
            "fieldcourt_stage_latency_seconds",
            "From a record's Kafka append time to the end of its processing, per stage "
            "(the Faust agent's purge name: dedupe is ingest).",
            ["stage"],
            registry=reg,
            buckets=PIPELINE_BUCKETS,
        )
        self.batch_seconds = Counter(
            "fieldcourt_batch_seconds_total",
            "Wall time a stage's agent spent on its batches, by phase: handling the records "
            "(records), handing on what they disclose once its audit records are acknowledged "
            "(release), writing the tables' held-back changes (flush: a flush waits its turn and "
            "for room in the producer's batches). Their rates show where a worker's time goes.",
            ["stage", "phase"],
            registry=reg,
        )
        self.last_processed = Gauge(
            "fieldcourt_last_processed_timestamp_seconds",
            "Kafka append time of the last record a stage processed (freshness).",
            ["stage"],
            registry=reg,
        )

        # The consumer
        self.consumer_lag = Gauge(
            "fieldcourt_consumer_lag_records",
            "Records between a partition's end and this worker's committed offset.",
            ["topic", "partition"],
            registry=reg,
        )
        self.partitions_rewound = Counter(
            "fieldcourt_partitions_rewound_total",
            "Stream partitions read again from their committed offset because records read "
            "from them were neither processed nor acknowledged (a Faust gap, agents/transport.py).",
            ["topic"],
            registry=reg,
        )
        self.rebalances = Counter(
            "fieldcourt_rebalances_total",
            "Consumer group rebalances this worker went through.",
            registry=reg,
        )

        # The process
        self.gc_full_passes = Histogram(
            "fieldcourt_gc_full_pass_seconds",
            "Full passes of the garbage collector, which the worker runs on a timer "
            "(fieldcourt/collector.py): every record in flight waits for one.",
            registry=reg,
            buckets=PIPELINE_BUCKETS,
        )
        self.gc_freed = Counter(
            "fieldcourt_gc_full_pass_freed_total",
            "Objects the garbage collector's full passes freed (reference cycles).",
            registry=reg,
        )

    # -- exposition -------------------------------------------------------------------------
    #: The classic text format: what Prometheus 2 and ``promtool check metrics`` read.
    content_type = CONTENT_TYPE_PLAIN_0_0_4

    def exposition(self) -> bytes:
        """The registry in Prometheus' text format, for ``/metrics``."""
        return generate_latest(self.registry)

    def _child(self, metric: Any, *values: str) -> Any:
        """``metric.labels(*values)``, looked up once. Only for metrics never cleared: a
        cleared metric's children are gone from it, not from here."""
        key = (id(metric), values)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*values)
        return child

    # -- ingest -----------------------------------------------------------------------------
    def consumed(self, topic: str) -> None:
        self._child(self.events_consumed, topic).inc()

    def accepted(self, topic: str, kind: str, sector: str | None = None) -> None:
        self._child(self.events_accepted, topic, kind).inc()
        if sector is not None:
            self._child(self.sector_last_event, sector).set(self._clock())

    def expect_sectors(self, sectors: Iterable[str]) -> None:
        """Give every known sector a series from the start: one never heard of cannot be
        reported silent."""
        now = self._clock()
        for sector in sectors:
            self.sector_last_event.labels(sector).set(now)

    def deadlettered(self, reason: str) -> None:
        self.deadletters.labels(str(reason)).inc()

    def duplicate(self, topic: str) -> None:
        self.duplicates.labels(topic).inc()

    def timed_enrichment(self, enrich: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        """``enrich(*args, **kwargs)``, timed; arguments are evaluated before the clock runs."""
        return self._timed(self.enrichment_seconds, enrich, *args, **kwargs)

    # -- correlation ------------------------------------------------------------------------
    def timed_rules(
        self, stage: str, evaluate: Callable[P, R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """``evaluate(*args, **kwargs)``, timed under ``stage``; sends are not in it."""
        histogram = self._child(self.rule_evaluation_seconds, stage)
        return self._timed(histogram, evaluate, *args, **kwargs)

    def case_emitted(
        self, event: CaseEvent, rule: str, occurred_at: dt.datetime, appended_at: float | None
    ) -> None:
        """One case event handed to the producer, caused by a match of ``rule`` that goes back
        to a field record appended at ``appended_at`` and an event that ``occurred_at``."""
        now = self._clock()
        self._child(self.case_events, event.event_type, event.section, rule).inc()
        if event.event_type == ESCALATED and event.previous_section is not None:
            self.case_escalations.labels(event.previous_section, event.section, rule).inc()
        if appended_at is not None:
            self.case_latency_from_append.observe(max(0.0, now - appended_at))
        self.case_latency_from_occurrence.observe(max(0.0, now - occurred_at.timestamp()))

    def alert(self, alert_type: str, sector: str) -> None:
        self.alerts.labels(alert_type, sector).inc()

    def purged(self, table: str, count: int) -> None:
        if count:
            self.state_purged.labels(table).inc(count)

    def late(self, topic: str) -> None:
        self.late_events.labels(topic).inc()

    def set_state_entries(self, sizes: Mapping[str, int]) -> None:
        """Replace every table's entry count: a table no longer held loses its series."""
        self.state_entries.clear()
        for table, entries in sizes.items():
            self.state_entries.labels(table).set(entries)

    # -- every stage ------------------------------------------------------------------------
    def processed(self, stage: str, appended_at: float | None) -> None:
        """A stage finished a record appended at ``appended_at`` (seconds since the epoch)."""
        if appended_at is None:
            return
        self._child(self.stage_latency, stage).observe(max(0.0, self._clock() - appended_at))
        self._child(self.last_processed, stage).set(appended_at)

    def batch_handled(self, stage: str, records: float, release: float, flush: float) -> None:
        """A stage's agent spent these seconds on one batch, phase by phase."""
        for phase, seconds in (("records", records), ("release", release), ("flush", flush)):
            self._child(self.batch_seconds, stage, phase).inc(max(0.0, seconds))

    # -- the consumer -----------------------------------------------------------------------
    def set_consumer_lag(self, lags: Mapping[tuple[str, int], int]) -> None:
        """Replace the lag of every partition: revoked partitions lose their series."""
        self.consumer_lag.clear()
        for (topic, partition), lag in lags.items():
            self.consumer_lag.labels(topic, str(partition)).set(lag)

    def partition_rewound(self, topic: str) -> None:
        self.partitions_rewound.labels(topic).inc()

    def rebalance_started(self) -> None:
        self.rebalances.inc()

    def gc_full_pass(self, freed: int, seconds: float) -> None:
        self.gc_full_passes.observe(seconds)
        self.gc_freed.inc(freed)

    def _timed(
        self, histogram: Histogram, action: Callable[P, R], *args: P.args, **kwargs: P.kwargs
    ) -> R:
        """``action(*args, **kwargs)``, its duration on ``timer`` observed even if it raises."""
        started = self._timer()
        try:
            return action(*args, **kwargs)
        finally:
            histogram.observe(max(0.0, self._timer() - started))


METRICS = Metrics()
