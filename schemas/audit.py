"""What fieldcourt records of its own processing of personal data (contract §8, LED art. 25).

One ``AuditRecord`` per disclosure (a case event or an alert published), combination (a rule
match applied to a case), consultation (a read through fieldcourt's own tools) and erasure.
Subject references and event ids only, never names.
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from schemas.common import StrictModel, UtcDatetime

AuditAction = Literal["disclose", "combine", "consult", "erase"]


class AuditRecord(StrictModel):
    action: AuditAction
    #: A principal or user; ``fieldcourt/<rule id>`` for automated processing.
    actor: str = Field(min_length=1)
    at: UtcDatetime
    #: Required for a consultation: a procedure number or a short reason.
    purpose: str | None = None
    case_id: str | None = None
    subjects: list[str] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)
    #: What was disclosed, combined or erased: a topic and version, an alert id, a rule.
    detail: str = ""
