"""What the rules share: event ordering, the wording of reasons, and building a ``RuleMatch``."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta

from schemas.cases import AnchorKind
from schemas.enriched import EnrichedEvent
from streams.matches import MatchSubject, RuleMatch, RuleSection
from streams.rules.ports import PastEvent


def order(event: PastEvent) -> tuple[datetime, str]:
    """Event-time order, ties broken by id: the order the state returns events in."""
    return (event.occurred_at, event.event_id)


def day(moment: datetime) -> str:
    """``%Y-%m-%d``; ``isoformat`` writes the same for four-digit years, much faster."""
    return moment.date().isoformat() if moment.year >= 1000 else f"{moment:%Y-%m-%d}"


def place(event: PastEvent) -> str:
    return f"in {event.sector}" if event.sector else "outside any sector"


def span(delta: timedelta) -> str:
    """A gap in words: whole days, or hours under a day."""
    if delta >= timedelta(days=1):
        days = delta.days
        return f"{days} day{'s' if days > 1 else ''}"
    return f"{delta.total_seconds() / 3600:.0f} h"


def is_minor(event: PastEvent, ref: str) -> bool:
    """Under 18 on the event's ``occurred_at``; an unknown birth date counts as adult."""
    return any(s.ref == ref and s.minor is True for s in event.subjects)


def roles_of(ref: str, events: Iterable[PastEvent]) -> tuple[str, ...]:
    return tuple(sorted({s.role for e in events for s in e.subjects if s.ref == ref}))


def build_match(
    *,
    rule_id: str,
    section: RuleSection,
    anchor: tuple[AnchorKind, str],
    trigger: EnrichedEvent,
    events: Iterable[PastEvent],
    subjects: Iterable[MatchSubject],
    reason: str,
    minor: bool = False,
) -> RuleMatch:
    """One match; addresses, evidence, procedures and the time span come from ``events``."""
    found: dict[str, PastEvent] = {e.event_id: e for e in events}
    found[trigger.event_id] = trigger
    evidence = sorted(found.values(), key=order)
    return RuleMatch(
        rule_id=rule_id,
        anchor_kind=anchor[0],
        anchor_ref=anchor[1],
        section=section,
        minor=minor,
        subjects=tuple(subjects),
        addresses=tuple(sorted({e.address_key for e in evidence if e.address_key})),
        evidence=tuple(e.event_id for e in evidence),
        procedure_refs=tuple(sorted({e.procedure_ref for e in evidence if e.procedure_ref})),
        sector=trigger.sector,
        trigger_event_id=trigger.event_id,
        occurred_at=trigger.occurred_at,
        first_event_at=evidence[0].occurred_at,
        last_event_at=evidence[-1].occurred_at,
        reason=reason,
    )
