"""Consultations through fieldcourt's own tools, recorded in ``audit.v1`` before anything is
shown: the record is on the broker (acknowledged) or the tool shows nothing (contract §8).

One writer for every tool: ``watch`` records its one consultation with a producer of its own
(``record_consultation``), the dashboard each case page opened with the producer it keeps
(``publish_consultation``)."""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Sequence
from typing import Any

from aiokafka import AIOKafkaProducer

from fieldcourt.kafka_auth import ClientOptions
from fieldcourt.topics import AUDIT_TOPIC
from schemas.audit import AuditRecord
from schemas.codec import dumps
from streams.audit import audit_key, consultation


def who() -> str:
    """The person consulting: the operating-system user running the tool."""
    return getpass.getuser()


def audit_producer(**client_options: Any) -> AIOKafkaProducer:
    """A producer whose sends are acknowledged by every in-sync replica, once each."""
    return AIOKafkaProducer(**client_options, acks="all", enable_idempotence=True)


async def publish_consultation(
    producer: AIOKafkaProducer,
    actor: str,
    purpose: str,
    detail: str,
    subjects: Sequence[str] = (),
    *,
    case_id: str | None = None,
) -> AuditRecord:
    """Record one consultation with a started producer; returns once the broker acknowledged
    it (an exception otherwise: then nothing may be shown)."""
    at = dt.datetime.now(dt.UTC)
    record = consultation(actor, purpose, detail, at, subjects, case_id=case_id)
    await producer.send_and_wait(AUDIT_TOPIC, dumps(record), key=audit_key(record))
    return record


async def record_consultation(
    kafka: ClientOptions, purpose: str, detail: str, subjects: Sequence[str] = ()
) -> None:
    producer = audit_producer(**kafka)
    try:
        await producer.start()  # a refused start leaves connections to close
        await publish_consultation(producer, who(), purpose, detail, subjects)
    finally:
        await producer.stop()
