"""Court outcomes: their ingest agent, and what the case agent does with one (contract §8).

An outcome is parsed and dead-lettered like a field record (``streams.ingest``), then handed
to the case manager as a command on the single-partition matches topic, in order with every
match: the case manager alone knows whether the case exists, and owns its state. What a
cleared subject leaves in the stages is erased by ``Erasure`` commands sent to every partition
of each stage's topic (each partition holds its own keys), and acknowledged by the broker
before the ``erase`` audit record: whatever the subject does after the record is visible comes
behind the erasure on their partition, and starts from nothing.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import faust

from agents.ingest import inbound_limits
from agents.io import AgentIO, guarded, hand_to_producer, raw_topic
from fieldcourt.metrics import METRICS
from fieldcourt.settings import Settings
from fieldcourt.topics import OUTCOMES_TOPIC
from schemas.audit import AuditRecord
from schemas.cases import CaseEvent
from schemas.codec import dumps, loads
from schemas.outcomes import Erasure, OutcomeCommand
from streams.audit import erasure
from streams.cases.outcomes import Settled
from streams.errors import RejectedInput
from streams.ingest import outcome_command, parse_outcome

log = logging.getLogger(__name__)

#: Marks a record of an internal topic as a command rather than the topic's usual value.
COMMAND_HEADER = "fieldcourt-command"
OUTCOME, ERASE = b"outcome", b"erase"


def command_of(message: Any) -> bytes | None:
    """The command a record carries (``OUTCOME``, ``ERASE``), ``None`` for a usual record."""
    for name, value in message.headers or ():
        if name == COMMAND_HEADER:
            return bytes(value)
    return None


def erasure_of(message: Any) -> Erasure | None:
    return loads(Erasure, message.value) if command_of(message) == ERASE else None


@dataclass(frozen=True)
class InboundRecord:
    """The outcome's original record, rebuilt from its command for the dead-letter writer."""

    topic: str
    partition: int
    offset: int
    key: bytes
    value: bytes
    headers: list[tuple[str, bytes]]

    @classmethod
    def of(cls, command: OutcomeCommand) -> InboundRecord:
        source = command.source
        return cls(
            source.topic,
            source.partition,
            source.offset,
            command.key.encode(),
            command.value.encode(),
            [(name, base64.b64decode(value)) for name, value in command.headers],
        )


def register_outcomes(app: faust.App, settings: Settings, io: AgentIO, matches: Any) -> None:
    """The ingest agent of ``court.outcomes.v1``: valid outcomes to the case manager."""
    limits = inbound_limits(settings)

    async def handle(message: Any) -> None:
        METRICS.consumed(message.topic)
        now = dt.datetime.now(dt.UTC)
        result = parse_outcome(message.key, message.value, now, limits)
        if isinstance(result, RejectedInput):
            await io.deadletter.send(message, result)
            return
        position = (message.topic, message.partition, message.offset)
        command = outcome_command(
            result, position, (message.key, message.value), message.headers or ()
        )
        key = command.outcome.case_id.encode()
        await hand_to_producer(matches, key, dumps(command), [(COMMAND_HEADER, OUTCOME)])
        METRICS.accepted(message.topic, "outcome")

    app.agent(raw_topic(app, OUTCOMES_TOPIC), name="ingest-outcomes")(
        guarded(handle, "outcomes", io)
    )


Audited = Callable[[AuditRecord], Awaitable[None]]


@dataclass(frozen=True)
class ErasureTargets:
    """Where a cleared subject's state lives: every partition of these topics."""

    #: (topic, its partition count); the by-subject topic first.
    topics: tuple[tuple[faust.TopicT, int], ...]

    async def send(self, command: Erasure) -> None:
        """One command per partition, all acknowledged before this returns."""
        value, headers = dumps(command), [(COMMAND_HEADER, ERASE)]
        key = command.subject_ref.encode()
        futures = [
            await hand_to_producer(topic, key, value, headers, partition=partition)
            for topic, partitions in self.topics
            for partition in range(partitions)
        ]
        await asyncio.gather(*futures)


async def apply_outcome(
    command: OutcomeCommand,
    settled: Settled,
    at: dt.datetime,
    io: AgentIO,
    targets: ErasureTargets,
    audited: Audited,
) -> list[CaseEvent]:
    """What the case agent does with an outcome the case manager ``settled`` at ``at``:
    dead-letter it if refused; else erase each cleared subject everywhere (acknowledged),
    then record the erasure at the time the outcome was first applied (a redelivered or
    replayed outcome writes the same record). Returns the case events, which the caller
    audits and publishes like a match's."""
    if settled.rejected is not None:
        await io.deadletter.send(InboundRecord.of(command), settled.rejected)
        return []
    outcome = command.outcome
    if not settled.events and not settled.erased:  # recorded in the log, never silently
        log.info(
            "court outcome %s (%s of %s in %s) changes nothing: the case goes on or is closed",
            outcome.outcome_id,
            outcome.outcome,
            outcome.subject_ref or "the whole case",
            outcome.case_id,
        )
    case_id = settled.events[0].case_id if settled.events else outcome.case_id
    for ref in settled.erased:
        await targets.send(Erasure(subject_ref=ref, outcome_id=outcome.outcome_id, case_id=case_id))
        await audited(erasure(outcome, case_id, ref, settled.at or at))
    return settled.events
