"""Prometheus metrics: created once here (the container), recorded through typed methods.

Labels never carry event, case or subject ids: only topics, kinds, reasons, sections.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class Metrics:
    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry()
        self.events_consumed = Counter(
            "fieldcourt_events_consumed_total", "Records read from inbound topics.",
            ["topic"], registry=self.registry,
        )  # fmt: skip
        self.events_accepted = Counter(
            "fieldcourt_events_accepted_total", "Valid events passed on to correlation.",
            ["topic", "kind"], registry=self.registry,
        )  # fmt: skip
        self.deadletters = Counter(
            "fieldcourt_deadlettered_total", "Records written to the dead-letter topic.",
            ["reason"], registry=self.registry,
        )  # fmt: skip
        self.duplicates = Counter(
            "fieldcourt_duplicates_dropped_total", "Redeliveries with an identical payload.",
            ["topic"], registry=self.registry,
        )  # fmt: skip
        self.state_purged = Counter(
            "fieldcourt_state_purged_total", "State entries purged past their retention.",
            ["table"], registry=self.registry,
        )  # fmt: skip

    def consumed(self, topic: str) -> None:
        self.events_consumed.labels(topic).inc()

    def accepted(self, topic: str, kind: str) -> None:
        self.events_accepted.labels(topic, kind).inc()

    def deadlettered(self, reason: str) -> None:
        self.deadletters.labels(str(reason)).inc()

    def duplicate(self, topic: str) -> None:
        self.duplicates.labels(topic).inc()

    def purged(self, table: str, count: int) -> None:
        if count:
            self.state_purged.labels(table).inc(count)


METRICS = Metrics()
