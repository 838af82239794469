"""Court outcomes (contract §8): what the court decided about a case, on ``court.outcomes.v1``.

``Outcome`` is what the court's case management system publishes. ``OutcomeCommand`` carries
a validated outcome from ingest to the case manager on the single-partition matches topic, with
what a dead letter needs (the record's bytes and source position), since only the case manager
knows whether the case exists. ``Erasure`` tells a stage to forget a subject.
"""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from schemas.common import Identifier, InboundRecord, StrictModel, UtcDatetime
from schemas.enriched import SUBJECT_REF_PATTERN

#: The court's topic (contract §3, §8), key ``case_id``.
OUTCOMES_TOPIC = "court.outcomes.v1"

OutcomeKind = Literal["dismissed", "acquitted", "convicted", "closed"]
#: Outcomes that clear a subject: they leave the case and fieldcourt forgets them.
CLEARING: frozenset[str] = frozenset({"dismissed", "acquitted"})
CASE_ID_PATTERN = r"^C-[0-9a-z]+$"


class Outcome(InboundRecord):
    #: The record key (contract §3): all outcomes of a case meet in order.
    KEY_FIELD: ClassVar[str] = "case_id"
    TIME_FIELD: ClassVar[str] = "decided_at"

    outcome_id: Identifier
    case_id: str = Field(pattern=CASE_ID_PATTERN, max_length=128)
    outcome: OutcomeKind
    #: The outcome concerns this subject of the case only; absent: the whole case.
    subject_ref: str | None = Field(None, pattern=SUBJECT_REF_PATTERN)
    decided_at: UtcDatetime
    procedure_ref: Identifier


class SourcePosition(StrictModel):
    topic: str
    partition: int
    offset: int


class OutcomeCommand(StrictModel):
    """An accepted outcome on its way to the case manager."""

    outcome: Outcome
    #: sha256 of the canonical JSON: a known ``outcome_id`` with another payload is a conflict.
    fingerprint: str
    source: SourcePosition
    #: The inbound record's key and value, unchanged (UTF-8, validated), and the sender's
    #: headers (values in base64), for a dead letter.
    key: str
    value: str
    headers: tuple[tuple[str, str], ...] = ()


class Erasure(StrictModel):
    """Forget ``subject_ref``: sent by the case manager to every stage holding subjects."""

    subject_ref: str = Field(pattern=SUBJECT_REF_PATTERN)
    outcome_id: Identifier
    case_id: str = Field(pattern=CASE_ID_PATTERN)
