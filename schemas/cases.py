"""What fieldcourt publishes: case events for the sections and alerts for the COJC.

Described in docs/contract.md §7.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from schemas.common import StrictModel, UtcDatetime
from schemas.enriched import SUBJECT_REF_PATTERN

Section = Literal["P12", "P20", "F3", "P4"]
CaseEventType = Literal[
    "case_opened",
    "case_updated",
    "case_escalated",
    "case_transferred",
    "case_merged",
    "case_closed",
]
AnchorKind = Literal["subject", "address", "network", "operation"]
AlertType = Literal["displacement", "trade_migration", "surge"]


class Anchor(StrictModel):
    kind: AnchorKind
    ref: str = Field(min_length=1)


class CaseSubject(StrictModel):
    ref: str = Field(pattern=SUBJECT_REF_PATTERN)
    roles: list[str] = Field(default_factory=list)


class CaseEvent(StrictModel):
    event_type: CaseEventType
    case_id: str = Field(pattern=r"^C-[0-9a-z]+$")
    section: Section
    previous_section: Section | None = None
    #: For ``case_transferred``: the section the case moved to; for ``case_merged``: the case
    #: that absorbed it.
    transferred_to: Section | None = None
    merged_into: str | None = None
    anchor: Anchor
    sector: str | None = None
    rule_ids: list[str] = Field(min_length=1)
    reason: str = Field(min_length=1)
    subjects: list[CaseSubject] = Field(default_factory=list)
    addresses: list[str] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)
    procedure_refs: list[str] = Field(default_factory=list)
    first_event_at: UtcDatetime
    last_event_at: UtcDatetime
    version: int = Field(ge=1)
    emitted_at: UtcDatetime


class AlertWindow(StrictModel):
    start: UtcDatetime
    end: UtcDatetime


class Alert(StrictModel):
    alert_type: AlertType
    alert_id: str = Field(pattern=r"^A-[0-9a-z]+$")
    sector: str
    from_sector: str | None = None
    subjects: list[Annotated[str, Field(pattern=SUBJECT_REF_PATTERN)]] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)
    window: AlertWindow
    reason: str = Field(min_length=1)
    emitted_at: UtcDatetime


def case_topic(section: str) -> str:
    """The topic a section's case events are published on (contract §3)."""
    return f"court.{section.lower()}.cases.v1"
