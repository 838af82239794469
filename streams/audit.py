"""The audit records of automated processing: what each case event, alert and match disclosed
or combined (contract §8). Plain functions; the agents write the records before what they
record, so no disclosure is ever visible without its audit record."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from schemas.audit import AuditRecord
from schemas.cases import Alert, CaseEvent
from schemas.outcomes import Outcome
from streams.matches import RuleMatch

#: The actor of automated processing; a rule's records name it after a slash.
AUTOMATED = "fieldcourt"


def case_disclosure(event: CaseEvent, topic: str) -> AuditRecord:
    return AuditRecord(
        action="disclose",
        actor=AUTOMATED,
        at=event.emitted_at,
        case_id=event.case_id,
        subjects=[s.ref for s in event.subjects],
        evidence=list(event.evidence),
        detail=f"{event.event_type} version {event.version} on {topic}",
    )


def alert_disclosure(alert: Alert, topic: str) -> AuditRecord:
    return AuditRecord(
        action="disclose",
        actor=AUTOMATED,
        at=alert.emitted_at,
        subjects=list(alert.subjects),
        evidence=list(alert.evidence),
        detail=f"{alert.alert_type} alert {alert.alert_id} to {alert.sector} on {topic}",
    )


def combination(match: RuleMatch, case_id: str, at: datetime) -> AuditRecord:
    """A rule match applied to a case: the events and subjects it brought together."""
    return AuditRecord(
        action="combine",
        actor=f"{AUTOMATED}/{match.rule_id}",
        at=at,
        case_id=case_id,
        subjects=[s.ref for s in match.subjects],
        evidence=list(match.evidence),
        detail=f"{match.rule_id} matched {match.anchor_kind} {match.anchor_ref}",
    )


def erasure(outcome: Outcome, case_id: str, ref: str, at: datetime) -> AuditRecord:
    """A subject cleared by the court and erased from fieldcourt's state (contract §8)."""
    return AuditRecord(
        action="erase",
        actor=f"{AUTOMATED}/court-outcome",
        at=at,
        purpose=f"court outcome {outcome.outcome_id}, procedure {outcome.procedure_ref}",
        case_id=case_id,
        subjects=[ref],
        detail=f"{outcome.outcome}: removed from {case_id}; events, windows, alert slots and "
        "links erased from every stage",
    )


def expiry(case_id: str, topic: str, at: datetime) -> AuditRecord:
    """A closed case past its retention, removed from fieldcourt's state and, by a tombstone,
    from its section topic (contract §8)."""
    return AuditRecord(
        action="erase",
        actor=f"{AUTOMATED}/retention",
        at=at,
        purpose="retention after closure elapsed",
        case_id=case_id,
        subjects=[],
        detail=f"closed case forgotten; tombstone on {topic}",
    )


def audit_key(record: AuditRecord) -> bytes:
    """The record's key: its case id, else its first subject reference, else ``-``."""
    return (record.case_id or (record.subjects[0] if record.subjects else "-")).encode()


def consultation(
    actor: str,
    purpose: str,
    detail: str,
    at: datetime,
    subjects: Sequence[str] = (),
    *,
    case_id: str | None = None,
) -> AuditRecord:
    """A read through one of fieldcourt's tools; ``purpose`` is required (contract §8).
    ``subjects``: the references looked up, for a lookup about given people; ``case_id``: the
    case read, for a case page."""
    if not purpose.strip():
        raise ValueError("a consultation needs a purpose: a procedure number or a short reason")
    return AuditRecord(
        action="consult",
        actor=actor,
        at=at,
        purpose=purpose.strip(),
        case_id=case_id,
        subjects=list(subjects),
        detail=detail,
    )
