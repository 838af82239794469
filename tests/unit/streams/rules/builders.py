"""Synthetic enriched events for the rule tests: invented references, never real data."""

from __future__ import annotations

import base64
import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.common import Source
from schemas.enriched import EnrichedEvent, SubjectRef, SubjectRole
from schemas.field import NARCOTICS_OFFENSES, Offense, Substance

#: The start of an epoch-aligned 90-, 30- and 1-day period, so that tests about "once per
#: period" are not split by a period boundary unless they mean to be.
T0 = datetime(2025, 9, 9, tzinfo=UTC)
NOW = datetime(2026, 1, 1, tzinfo=UTC)

HALLES, ROSA, STALINGRAD = "les-halles", "rosa-parks", "stalingrad"
ADDRESS = "12 RUE CURIAL 75019 PARIS"

_ids = itertools.count(1)


def at(days: float = 0, hours: float = 0) -> datetime:
    return T0 + timedelta(days=days, hours=hours)


def ref(n: int) -> str:
    """A synthetic subject reference: ``S-`` + 16 base32 characters of ``n``."""
    return "S-" + base64.b32encode(n.to_bytes(10, "big")).decode()


def person(n: int, role: SubjectRole = "seller", minor: bool | None = None) -> SubjectRef:
    return SubjectRef(ref=ref(n), role=role, minor=minor)


def event(
    kind: Any,
    when: datetime,
    *,
    sector: str | None = HALLES,
    address: str | None = None,
    subjects: tuple[SubjectRef, ...] = (),
    narcotics: bool = True,
    delay_h: float = 1.0,
    event_id: str | None = None,
    operation: str | None = None,
    procedure: str | None = None,
    **fields: Any,
) -> EnrichedEvent:
    return EnrichedEvent(
        event_id=event_id or f"E-{next(_ids):05d}",
        kind=kind,
        occurred_at=when,
        reported_at=when + timedelta(hours=delay_h),
        report_delay_s=delay_h * 3600,
        source=Source(system="synthetic", unit="test"),
        procedure_ref=procedure,
        operation_ref=operation,
        lat=48.86,
        lon=2.35,
        sector=sector,
        address_key=address,
        narcotics=narcotics,
        subjects=list(subjects),
        **fields,
    )


def arrest(
    subject: int,
    when: datetime,
    *,
    offense: Offense = "trafficking",
    flagrant: bool = False,
    role: SubjectRole = "seller",
    minor: bool | None = None,
    **kw: Any,
) -> EnrichedEvent:
    return event(
        "arrest",
        when,
        subjects=(person(subject, role, minor),),
        narcotics=offense in NARCOTICS_OFFENSES,
        offense=offense,
        flagrant=flagrant,
        role=role if role != "seized_with" else "unknown",
        **kw,
    )


def seizure(
    when: datetime,
    *,
    persons: tuple[int, ...] = (),
    substance: Substance = "crack",
    quantity_g: float = 0.0,
    cash_eur: float = 0.0,
    weapons: int = 0,
    minor: bool | None = None,
    **kw: Any,
) -> EnrichedEvent:
    return event(
        "seizure",
        when,
        subjects=tuple(person(n, "seized_with", minor) for n in persons),
        substance=substance,
        quantity_g=quantity_g,
        cash_eur=cash_eur,
        weapons=weapons,
        **kw,
    )


def dealing_address(
    when: datetime, *, address: str = ADDRESS, occupant: int | None = None, **kw: Any
) -> EnrichedEvent:
    occupants = () if occupant is None else (person(occupant, "facilitator"),)
    return event(
        "dealing_address",
        when,
        address=address,
        subjects=occupants,
        usage="dealing_point",
        evidence="surveillance",
        **kw,
    )
