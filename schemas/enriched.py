"""The enriched event: what leaves ingest. References and keys only, never names.

See docs/contract.md §4.5 and §8.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.common import Identifier, Source, StrictModel, UtcDatetime
from schemas.field import Evidence, Offense, Role, Substance, Usage

EventKind = Literal["arrest", "seizure", "dealing_address"]
SubjectRole = Literal[
    "seller", "buyer", "lookout", "runner", "facilitator", "unknown", "seized_with"
]

SUBJECT_REF_PATTERN = r"^S-[A-Z2-7]{16}$"


class SubjectRef(StrictModel):
    """A pseudonymised person: ``S-`` + 16 base32 chars of an HMAC of their identity key."""

    ref: str = Field(pattern=SUBJECT_REF_PATTERN)
    role: SubjectRole
    #: Under 18 on ``occurred_at``; ``None`` when the birth date is unknown.
    minor: bool | None = None


class EnrichedEvent(StrictModel):
    event_id: Identifier
    kind: EventKind
    occurred_at: UtcDatetime
    reported_at: UtcDatetime
    report_delay_s: float
    source: Source
    procedure_ref: Identifier | None = None
    operation_ref: Identifier | None = None
    lat: float = Field(ge=-90.0, le=90.0)
    lon: float = Field(ge=-180.0, le=180.0)
    sector: str | None = None
    address_key: str | None = None
    narcotics: bool
    subjects: list[SubjectRef] = Field(default_factory=list)
    # arrest
    offense: Offense | None = None
    natinf: Identifier | None = None
    flagrant: bool | None = None
    role: Role | None = None
    # seizure
    substance: Substance | None = None
    quantity_g: float | None = None
    cash_eur: float | None = None
    weapons: int | None = None
    # dealing address
    usage: Usage | None = None
    evidence: Evidence | None = None
