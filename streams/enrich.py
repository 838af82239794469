"""Enrichment (SPEC 2, 4): a validated field event becomes an ``EnrichedEvent``.

This is where names stop: persons leave as subject references with a role and a minor flag,
never with a name, birth date or alias (SPEC 8).
"""

from __future__ import annotations

import datetime as dt
from typing import Any, cast
from zoneinfo import ZoneInfo

from schemas.common import Person
from schemas.enriched import EnrichedEvent, EventKind, SubjectRef, SubjectRole
from schemas.field import NARCOTICS_OFFENSES, Arrest, FieldEvent, Seizure
from streams.address import address_key
from streams.geofence import SectorIndex
from streams.pseudonym import Pseudonymiser

#: Age is counted on the calendar day where the event happened, which for Paris is not the UTC
#: day between 22:00/23:00 and midnight UTC.
LOCAL_ZONE = ZoneInfo("Europe/Paris")
AGE_OF_MAJORITY = 18


def age_on(birth_date: dt.date, day: dt.date) -> int:
    """Completed years on ``day``: one is N on the Nth birthday (29 February: on 1 March)."""
    return day.year - birth_date.year - ((day.month, day.day) < (birth_date.month, birth_date.day))


def is_minor(birth_date: dt.date | None, occurred_at: dt.datetime) -> bool | None:
    """Under 18 on the Paris calendar day of ``occurred_at``; ``None`` without a birth date."""
    if birth_date is None:
        return None
    return age_on(birth_date, occurred_at.astimezone(LOCAL_ZONE).date()) < AGE_OF_MAJORITY


def is_narcotics(event: FieldEvent) -> bool:
    """SPEC 4: every seizure and dealing-address report; arrests for a drug offense."""
    return not isinstance(event, Arrest) or event.offense in NARCOTICS_OFFENSES


def _merge_minor(a: bool | None, b: bool | None) -> bool | None:
    """Two records of one subject that disagree count as a minor: the protective reading."""
    if a is None or b is None:
        return a if b is None else b
    return a or b


class Enricher:
    """Adds sector, address key, narcotics flag, report delay and pseudonymised subjects."""

    def __init__(self, pseudonymiser: Pseudonymiser, sectors: SectorIndex) -> None:
        self._pseudonymiser = pseudonymiser
        self._sectors = sectors

    def enrich(self, event: FieldEvent) -> EnrichedEvent:
        location = event.location
        return EnrichedEvent(
            event_id=event.event_id,
            kind=cast(EventKind, event.KIND),
            occurred_at=event.occurred_at,
            reported_at=event.reported,
            report_delay_s=(event.reported - event.occurred_at).total_seconds(),
            source=event.source,
            procedure_ref=event.procedure_ref,
            operation_ref=event.operation_ref,
            lat=location.lat,
            lon=location.lon,
            sector=self._sectors.sector_of(location.lat, location.lon),
            address_key=address_key(location.address),
            narcotics=is_narcotics(event),
            subjects=self._subjects(event),
            **_specific_fields(event),
        )

    def _subjects(self, event: FieldEvent) -> list[SubjectRef]:
        """One entry per distinct subject, in the order the event lists them."""
        found: dict[str, tuple[SubjectRole, bool | None]] = {}
        for person, role in _persons(event):
            ref = self._pseudonymiser.ref(person)
            minor = is_minor(person.birth_date, event.occurred_at)
            if ref in found:
                role, seen_minor = found[ref]
                minor = _merge_minor(seen_minor, minor)
            found[ref] = (role, minor)
        return [SubjectRef(ref=ref, role=role, minor=minor) for ref, (role, minor) in found.items()]


def _persons(event: FieldEvent) -> list[tuple[Person, SubjectRole]]:
    if isinstance(event, Arrest):
        return [(event.person, event.role)]
    if isinstance(event, Seizure):
        return [(person, "seized_with") for person in event.persons]
    return [] if event.occupant is None else [(event.occupant, "facilitator")]


def _specific_fields(event: FieldEvent) -> dict[str, Any]:
    if isinstance(event, Arrest):
        return {
            "offense": event.offense,
            "natinf": event.natinf,
            "flagrant": event.flagrant,
            "role": event.role,
        }
    if isinstance(event, Seizure):
        return {
            "substance": event.substance,
            "quantity_g": event.quantity_g,
            "cash_eur": event.cash_eur,
            "weapons": event.weapons,
        }
    return {"usage": event.usage, "evidence": event.evidence}
