"""Builds the one ``faust.App`` from the settings and attaches the agents to it.

Nothing is decorated onto a global app at import time: ``create_app`` is the only place that
creates the app, so tests and the CLI build as many independent apps as they need.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import faust

from agents.correlate import register_correlation
from agents.ingest import register_ingest
from agents.io import AgentIO, ChangelogLedger, DeadLetter, raw_topic
from agents.partitioner import RememberingPartitioner
from agents.transport import FieldcourtApp
from agents.web import register_web
from fieldcourt.collector import full_pass
from fieldcourt.faults import FAULTS, CrashPlan
from fieldcourt.kafka_auth import faust_credentials
from fieldcourt.metrics import METRICS
from fieldcourt.settings import ProcessingGuarantee, Settings, TableStore
from fieldcourt.topics import DEADLETTER_TOPIC, MAX_MESSAGE_BYTES, PRODUCER_BATCH_BYTES
from streams.rules import load_rules


def faust_config(settings: Settings) -> dict[str, Any]:
    """Faust settings derived from ours; the web server exposes nothing but what we add."""
    return {
        "broker": settings.broker_url,
        "store": "rocksdb://" if settings.store is TableStore.ROCKSDB else "memory://",
        "datadir": str(settings.data_dir / "faust" / settings.app_id),
        "topic_partitions": settings.topic_partitions,
        "topic_replication_factor": settings.topic_replication,
        "topic_allow_declare": True,
        "processing_guarantee": (
            "exactly_once"
            if settings.processing_guarantee is ProcessingGuarantee.EXACTLY_ONCE
            else "at_least_once"
        ),
        "producer_max_request_size": MAX_MESSAGE_BYTES + 65536,
        "producer_max_batch_size": PRODUCER_BATCH_BYTES,
        "producer_linger": settings.producer_linger_s,
        "producer_partitioner": RememberingPartitioner(),
        "consumer_max_fetch_size": settings.consumer_fetch_bytes,
        "consumer_auto_offset_reset": "earliest",
        # topics created after the worker joined are seen within 30 s, not 5 minutes
        "consumer_metadata_max_age_ms": 30_000,
        "broker_session_timeout": settings.session_timeout_s,
        "broker_rebalance_timeout": settings.session_timeout_s,
        "broker_heartbeat_interval": min(3.0, settings.session_timeout_s / 3),
        "web_enabled": True,
        "web_bind": settings.web_bind,
        "web_port": settings.web_port,
        "web_host": settings.web_bind,
        "web_router_enabled": False,
        "web_tables_enabled": False,
        "web_stats_enabled": False,
        "web_graph_enabled": False,
        "web_metrics_enabled": False,
        "web_in_thread": False,
        **faust_credentials(settings),
    }


#: The worker's GIL switch interval: Faust's consumer runs in a thread of its own, and every
#: fetch crosses to the event loop's thread and back; at Python's default (5 ms) each crossing
#: waited for the other thread's time slice.
SWITCH_INTERVAL_S = 0.001


def create_app(settings: Settings) -> faust.App:
    FAULTS.plan = None if settings.crash_at is None else CrashPlan.parse(settings.crash_at)
    config = faust_config(settings)
    Path(config["datadir"]).parent.mkdir(parents=True, exist_ok=True)
    app = FieldcourtApp(settings.app_id, changelog=ChangelogLedger(), **config)
    io = AgentIO(
        DeadLetter(raw_topic(app, DEADLETTER_TOPIC)),
        settings.purge_interval_s,
        batch_max=settings.batch_max,
        batch_within_s=settings.batch_within_s,
        batch_idle_s=settings.batch_idle_s,
        flush_tables=app.flush_tables,
        deliveries=app.deliveries,
    )
    rules = load_rules(settings.rules_file)
    streams = register_correlation(app, settings, rules, io)
    register_ingest(app, settings, rules, io, streams)
    register_web(app, settings)
    register_full_passes(app, settings.gc_full_interval_s)
    return app


def register_full_passes(app: faust.App, interval_s: float) -> None:
    """The garbage collector's full passes, which the worker no longer lets Python start
    (``fieldcourt.collector``), every ``interval_s``."""

    async def full_pass_now() -> None:
        METRICS.gc_full_pass(*full_pass())

    app.timer(interval_s, name="gc-full-pass")(full_pass_now)
