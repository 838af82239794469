"""Synthetic enriched events and rule matches for the case manager and link graph tests.

Everything is invented: subject references are hashes of a counter, addresses do not exist.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Sequence
from typing import Any

from schemas.cases import AnchorKind
from schemas.common import Source
from schemas.enriched import EnrichedEvent, EventKind, SubjectRef, SubjectRole
from streams.matches import MatchSubject, RuleMatch, RuleSection, stable_id

T0 = dt.datetime(2026, 4, 1, 12, 0, tzinfo=dt.UTC)
EMITTED = dt.datetime(2026, 6, 1, 8, 0, tzinfo=dt.UTC)
SOURCE = Source(system="synthetic", unit="test-unit")
ADDRESS = "12 RUE IMAGINAIRE 75019 PARIS"
OTHER_ADDRESS = "3 BIS ALLEE FICTIVE 75001 PARIS"

RULE_SECTIONS: dict[str, RuleSection] = {
    "p12.flagrant": "P12",
    "p20.recurrence": "P20",
    "p20.dealing_address": "P20",
    "f3.seizure": "F3",
    "f3.network": "F3",
}
DEFAULT_ROLE: dict[EventKind, SubjectRole] = {
    "arrest": "seller",
    "seizure": "seized_with",
    "dealing_address": "facilitator",
}


def subject(n: int) -> str:
    """The n-th invented subject reference (``S-`` + 16 base32 characters)."""
    digest = hashlib.sha256(f"synthetic-subject-{n}".encode()).digest()
    return "S-" + base64.b32encode(digest).decode()[:16]


def network(n: int) -> str:
    return stable_id("N", subject(n))


def at(day: float) -> dt.datetime:
    return T0 + dt.timedelta(days=day)


def event(
    event_id: str,
    kind: EventKind = "arrest",
    who: Sequence[int] = (),
    day: float = 0,
    *,
    op: str | None = None,
    address: str | None = None,
    narcotics: bool = True,
    sector: str | None = "rosa-parks",
    procedure_ref: str | None = None,
) -> EnrichedEvent:
    """An enriched event whose subjects are ``subject(n)`` for each n in ``who``."""
    role = DEFAULT_ROLE[kind]
    return EnrichedEvent(
        event_id=event_id,
        kind=kind,
        occurred_at=at(day),
        reported_at=at(day),
        report_delay_s=0.0,
        source=SOURCE,
        procedure_ref=procedure_ref,
        operation_ref=op,
        lat=48.897,
        lon=2.372,
        sector=sector,
        address_key=address,
        narcotics=narcotics,
        subjects=[SubjectRef(ref=subject(n), role=role) for n in who],
    )


def arrest(event_id: str, who: int, day: float = 0, **kw: Any) -> EnrichedEvent:
    return event(event_id, "arrest", (who,), day, **kw)


def seizure(event_id: str, who: Sequence[int], day: float = 0, **kw: Any) -> EnrichedEvent:
    return event(event_id, "seizure", who, day, **kw)


def dealing_address(event_id: str, occupant: int, day: float = 0, **kw: Any) -> EnrichedEvent:
    return event(event_id, "dealing_address", (occupant,), day, **kw)


def match(
    rule_id: str = "p12.flagrant",
    *,
    evidence: Sequence[str] = ("e1",),
    kind: AnchorKind = "subject",
    ref: str | None = None,
    minor: bool = False,
    roles: Sequence[str] = ("seller",),
    addresses: Sequence[str] = (),
    procedure_refs: Sequence[str] = (),
    sector: str | None = "rosa-parks",
    days: tuple[float, float] = (0, 0),
    absorbs: Sequence[str] = (),
) -> RuleMatch:
    """A rule match; a subject anchor is also its only subject, with ``roles``."""
    ref = ref if ref is not None else subject(1)
    subjects = (MatchSubject(ref=ref, roles=tuple(roles)),) if kind == "subject" else ()
    first, last = at(days[0]), at(days[1])
    return RuleMatch(
        rule_id=rule_id,
        anchor_kind=kind,
        anchor_ref=ref,
        section=RULE_SECTIONS[rule_id],
        minor=minor,
        subjects=subjects,
        addresses=tuple(addresses),
        evidence=tuple(evidence),
        procedure_refs=tuple(procedure_refs),
        sector=sector,
        trigger_event_id=evidence[-1],
        occurred_at=last,
        first_event_at=first,
        last_event_at=last,
        reason=f"{rule_id} matched on {last:%Y-%m-%d} in {sector}.",
        absorbs=tuple(absorbs),
    )
