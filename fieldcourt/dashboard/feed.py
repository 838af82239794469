"""The dashboard's Kafka side: one consumer per role's topic, read from the beginning into the
state and then followed; and the producer of consultation records.

Every client is built by ``kafka_client`` from ``fieldcourt.kafka_auth.client_options``, the
one place that says how fieldcourt reaches the broker. One consumer per topic, without a group
(reading never moves a committed offset, and any number of dashboards can run), each as the
principal of its role (``section-p12`` reads ``court.p12.cases.v1``, ``cojc`` the alerts); the
consultation records are written as ``cojc`` (sections and the COJC may write ``audit.v1``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.errors import KafkaError
from aiokafka.structs import TopicPartition

from fieldcourt.consult import audit_producer, publish_consultation
from fieldcourt.dashboard.state import DashboardState
from fieldcourt.dashboard.users import ROLES, Role, role_topic
from fieldcourt.kafka_auth import COJC, SECTION_PRINCIPALS, client_options
from fieldcourt.settings import Settings

log = logging.getLogger("fieldcourt.dashboard")

#: How long to wait before looking again for a topic that does not exist yet.
TOPIC_RETRY_S = 2.0


def principal(role: Role) -> str:
    """The Kafka principal that may read ``role``'s topic."""
    return COJC if role == "cojc" else SECTION_PRINCIPALS[role]


def kafka_client(settings: Settings, role: Role, kind: str, *topics: str, **extra: Any) -> Any:
    """A consumer of ``topics`` without a group (``kind="consumer"``) or the audit producer
    (``"producer"``), as ``role``'s principal."""
    options = {**client_options(settings, principal(role)), **extra}
    if kind == "producer":
        return audit_producer(**options)
    return AIOKafkaConsumer(*topics, group_id=None, enable_auto_commit=False, **options)


class Feed:
    """Follows each role's topic into ``state``; ``ready`` once every topic was read up to
    where it ended when the dashboard started (the rebuilt state is complete)."""

    def __init__(self, settings: Settings, state: DashboardState) -> None:
        self.settings = settings
        self.state = state
        self.caught_up: dict[Role, bool] = dict.fromkeys(ROLES, False)
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def ready(self) -> bool:
        return all(self.caught_up.values())

    def start(self) -> None:
        self._tasks = [
            asyncio.create_task(self._follow(role), name=f"dashboard-{role}") for role in ROLES
        ]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _follow(self, role: Role) -> None:
        topic = role_topic(role)
        while True:
            try:
                await self._read(role, topic)
            except asyncio.CancelledError:
                raise
            except KafkaError as exc:
                log.warning("dashboard: reading %s failed (%s); again in %.0f s", topic, exc, 5)
                await asyncio.sleep(5.0)

    async def _read(self, role: Role, topic: str) -> None:
        await self._exists(role, topic)
        # No group: every partition, read from the beginning, no committed offset.
        consumer = kafka_client(
            self.settings, role, "consumer", topic, auto_offset_reset="earliest"
        )
        await consumer.start()
        try:
            partitions = sorted(consumer.assignment())
            await consumer.seek_to_beginning(*partitions)
            ends: dict[TopicPartition, int] = await consumer.end_offsets(partitions)
            while True:
                if not self.caught_up[role]:
                    positions = [await consumer.position(tp) for tp in partitions]
                    if all(pos >= ends[tp] for pos, tp in zip(positions, partitions, strict=True)):
                        self.caught_up[role] = True
                        log.info("dashboard: %s read (%s)", topic, role)
                batches = await consumer.getmany(timeout_ms=500)
                for records in batches.values():
                    for record in records:
                        self.state.apply(record.topic, record.value, record.key)
        finally:
            await consumer.stop()

    async def _exists(self, role: Role, topic: str) -> None:
        """Returns once the topic exists (the catalogue may be applied after the dashboard
        started): a consumer subscribed to a missing topic would wait for ever."""
        probe = kafka_client(self.settings, role, "consumer")
        await probe.start()
        try:
            warned = False
            while topic not in await probe.topics():
                if not warned:
                    log.warning("dashboard: topic %s does not exist yet; waiting for it", topic)
                    warned = True
                await asyncio.sleep(TOPIC_RETRY_S)
        finally:
            await probe.stop()


class Auditor:
    """Records each consultation in ``audit.v1`` and returns once the broker acknowledged it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._producer: AIOKafkaProducer | None = None
        self._lock = asyncio.Lock()

    async def _started(self) -> AIOKafkaProducer:
        async with self._lock:
            if self._producer is None:
                producer = kafka_client(self.settings, "cojc", "producer")
                await producer.start()
                self._producer = producer
            return self._producer

    async def __call__(self, actor: str, purpose: str, case_id: str, topic: str) -> None:
        producer = await self._started()
        detail = f"dashboard: case {case_id} on {topic}"
        await publish_consultation(producer, actor, purpose, detail, case_id=case_id)

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None
