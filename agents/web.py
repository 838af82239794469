"""The worker's HTTP endpoint: ``/metrics``, ``/healthz`` and ``/readyz``, and nothing else.

Faust's aiohttp server mounts pages of its own (an index at ``/`` even with every optional page
switched off in ``faust_config``), so a middleware answers 404 to any other path whatever Faust
registers. A Faust sensor counts rebalances (Faust calls it when one starts) and, on timers,
asks the broker whether it answers and for the consumer lag through clients of its own; Faust
starts sensors before, and stops them after, everything else.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

import faust
from aiohttp import web
from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from faust.tables.manager import TableManager
from faust.types import AppT
from faust.web.drivers.aiohttp import Web as AiohttpWeb

from fieldcourt.kafka_auth import WORKER, ClientOptions, client_options
from fieldcourt.metrics import METRICS, Metrics
from fieldcourt.settings import Settings
from streams.geofence import load_sectors

log = logging.getLogger(__name__)

PATHS = frozenset({"/metrics", "/healthz", "/readyz"})
#: How often the sensor asks the broker whether it answers, and for the consumer lag.
PROBE_INTERVAL_S = 2.0
LAG_INTERVAL_S = 5.0
#: A broker that does not answer within this is unreachable (connection refused is at once).
PROBE_TIMEOUT_S = 3.0

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BrokerView:
    """Our own clients to the broker, for the probe and the lag: never Faust's consumer, whose
    thread serves its calls two at a time (a call of ours waiting there would stall fetching
    and committing)."""

    def __init__(self, kafka: ClientOptions, group: str) -> None:
        self.kafka = kafka
        self.group = group
        self._clients: tuple[AIOKafkaConsumer, AIOKafkaAdminClient] | None = None

    async def _connected(self) -> tuple[AIOKafkaConsumer, AIOKafkaAdminClient]:
        if self._clients is None:
            timeout_ms = int(PROBE_TIMEOUT_S * 1000)
            reader = AIOKafkaConsumer(
                **self.kafka,
                group_id=None,
                enable_auto_commit=False,
                request_timeout_ms=timeout_ms,
            )
            admin = AIOKafkaAdminClient(**self.kafka, request_timeout_ms=timeout_ms)
            try:
                await reader.start()
                await admin.start()
            except BaseException:
                await _close(reader, admin)
                raise
            self._clients = reader, admin
        return self._clients

    async def probe(self) -> None:
        """Raises unless the broker serves metadata."""
        reader, _ = await self._connected()
        await reader.topics()

    async def lag(self, partitions: list[TopicPartition]) -> dict[tuple[str, int], int]:
        """End offset minus the group's committed offset, as the broker has them (what
        ``kafka-consumer-groups --describe`` shows); from the start of a partition with no
        commit, since the group reads from the earliest offset."""
        if not partitions:
            return {}
        reader, admin = await self._connected()
        ends = await reader.end_offsets(partitions)
        starts = await reader.beginning_offsets(partitions)
        committed = await admin.list_consumer_group_offsets(self.group, partitions=partitions)
        lags = {}
        for tp in partitions:
            done = committed[tp].offset if tp in committed else -1
            lags[(tp.topic, tp.partition)] = max(0, ends[tp] - (done if done >= 0 else starts[tp]))
        return lags

    async def close(self) -> None:
        clients, self._clients = self._clients, None
        if clients is not None:
            await _close(*clients)


async def _close(reader: AIOKafkaConsumer, admin: AIOKafkaAdminClient) -> None:
    await reader.stop()
    await admin.close()


class OperationsSensor(faust.Sensor):
    """Counts rebalances, and keeps the broker's reachability, the consumer lag and the
    tables' sizes current."""

    def __init__(self, app: faust.App, settings: Settings, metrics: Metrics, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.app = app
        self.metrics = metrics
        self.broker = BrokerView(client_options(settings, WORKER), settings.app_id)
        self.state_interval_s = settings.state_metrics_interval_s
        #: Why the broker is not known to be reachable; ``None`` once it answered the last probe.
        self.broker_error: str | None = "not probed yet"

    def on_rebalance_start(self, app: AppT) -> dict[str, Any]:
        self.metrics.rebalance_started()
        return cast(dict[str, Any], super().on_rebalance_start(app))

    @faust.Service.timer(PROBE_INTERVAL_S, exec_first=True)
    async def _probe_broker(self) -> None:
        try:
            await asyncio.wait_for(self.broker.probe(), PROBE_TIMEOUT_S)
        except Exception as exc:  # any failure means unreachable, and says why
            self.broker_error = f"unreachable: {exc!r}"
            await self.broker.close()  # reconnect from scratch next time
        else:
            self.broker_error = None

    @faust.Service.timer(LAG_INTERVAL_S)
    async def _update_lag(self) -> None:
        if self.broker_error is not None:
            return  # keep the last figures: the probe reports the outage
        try:
            partitions = read_partitions(self.app)
            lags = await asyncio.wait_for(self.broker.lag(partitions), PROBE_TIMEOUT_S)
        except Exception as exc:  # not started, or the broker went away: try next time
            log.debug("consumer lag not updated: %r", exc)
            return
        self.metrics.set_consumer_lag(lags)

    @faust.Service.task
    async def _count_state(self) -> None:
        while not self.should_stop:
            await self.sleep(self.state_interval_s)
            if self.app.rebalancing or self.app.in_recovery:
                continue  # stores are being rebuilt: keep the last figures
            try:
                sizes = {name: len(table) for name, table in self.app.tables.items()}
            except Exception as exc:  # a store not open yet: try next time
                log.debug("state sizes not counted: %r", exc)
                continue
            self.metrics.set_state_entries(sizes)

    async def on_stop(self) -> None:
        await self.broker.close()


def read_partitions(app: faust.App) -> list[TopicPartition]:
    """The partitions this worker's agents read (its assignment less the tables' changelogs)."""
    changelogs = app.tables.changelog_topics
    return [
        TopicPartition(tp.topic, tp.partition)
        for tp in app.consumer.assignment()
        if tp.topic not in changelogs
    ]


@dataclass(frozen=True)
class Readiness:
    ready: bool
    reason: str


def readiness(app: faust.App, sensor: OperationsSensor) -> Readiness:
    """Ready when the broker answers, partitions are assigned and every table is recovered and
    writable; the first reason it is not, otherwise."""
    if sensor.broker_error is not None:
        return Readiness(False, f"broker {sensor.broker_error}")
    if not cast(TableManager, app.tables).recovery.completed.is_set():
        return Readiness(False, "tables not recovered yet")
    if app.rebalancing or app.in_recovery:
        return Readiness(False, "rebalancing")
    try:
        assigned = bool(app.consumer.assignment())
    except Exception as exc:  # the consumer is not started
        return Readiness(False, f"consumer not started: {exc!r}")
    if not assigned:
        return Readiness(False, "no partitions assigned")
    return Readiness(True, "ready")


@web.middleware
async def only_our_paths(request: web.Request, handler: Handler) -> web.StreamResponse:
    """404 for every path but ours: Faust's own pages must not be reachable."""
    if request.path not in PATHS:
        raise web.HTTPNotFound()
    return await handler(request)


def register_web(app: faust.App, settings: Settings, metrics: Metrics = METRICS) -> None:
    """Serve ``/metrics``, ``/healthz`` and ``/readyz`` on the worker's web server."""
    sensor = OperationsSensor(app, settings, metrics)
    app.sensors.add(sensor)
    metrics.expect_sectors(load_sectors(settings.sectors_file).names)

    async def serve_metrics(request: web.Request) -> web.Response:
        response = web.Response(body=metrics.exposition())
        response.headers["Content-Type"] = metrics.content_type
        return response

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"alive": True})

    async def readyz(request: web.Request) -> web.Response:
        state = readiness(app, sensor)
        return web.json_response(
            {"ready": state.ready, "reason": state.reason}, status=200 if state.ready else 503
        )

    driver = app.web
    if not isinstance(driver, AiohttpWeb):
        raise TypeError(f"fieldcourt serves its endpoint through aiohttp, not {driver!r}")
    server = driver.web_app
    server.middlewares.append(only_our_paths)
    server.router.add_get("/metrics", serve_metrics)
    server.router.add_get("/healthz", healthz)
    server.router.add_get("/readyz", readyz)
