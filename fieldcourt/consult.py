"""Consultations through fieldcourt's own tools, recorded in ``audit.v1`` before anything is
shown: the record is on the broker (acknowledged) or the tool shows nothing (contract §8)."""

from __future__ import annotations

import datetime as dt
import getpass
from collections.abc import Sequence

from aiokafka import AIOKafkaProducer

from fieldcourt.topics import AUDIT_TOPIC
from schemas.codec import dumps
from streams.audit import audit_key, consultation


def who() -> str:
    """The person consulting: the operating-system user running the tool."""
    return getpass.getuser()


async def record_consultation(
    bootstrap: str, purpose: str, detail: str, subjects: Sequence[str] = ()
) -> None:
    record = consultation(who(), purpose, detail, dt.datetime.now(dt.UTC), subjects)
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap, acks="all", enable_idempotence=True)
    await producer.start()
    try:
        await producer.send_and_wait(AUDIT_TOPIC, dumps(record), key=audit_key(record))
    finally:
        await producer.stop()
