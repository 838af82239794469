"""Synthetic field events for tests: invented people only, never real data (docs/contract.md §8).

``raw_*`` return JSON-ready dicts as police systems would publish them; ``make_*`` return the
validated models. Keyword overrides replace top-level fields; datetimes, dates and models given
as overrides are turned into their wire form.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from pydantic import BaseModel

from schemas.codec import dumps_obj, loads
from schemas.common import Person
from schemas.field import Arrest, DealingAddress, Seizure

#: Invented names, with accents, apostrophes and hyphens to exercise normalisation.
LAST_NAMES = (
    "Zorvanek",
    "Quillardet",
    "Bémontrieux",
    "Ostrakine",
    "Valdérac",
    "N'Talvo",
    "Lunefroide-Arsac",
    "Pétrovane",
)
FIRST_NAMES = ("Alrik", "Zélinde", "Oréos", "Kalvine", "Tibérin", "Norvane", "Sélvio", "Quérane")
ALIASES = ("Le Brumeux", "Kozo-Vert", "Tintabule", "Zefyrin")

#: Tuesday 14 April 2026, 23:30 in Paris (CEST): the same calendar day in UTC and in Paris.
BASE_TIME = dt.datetime(2026, 4, 14, 21, 30, tzinfo=dt.UTC)

#: A point inside each default sector (docs/contract.md §5) and one outside all of them.
LES_HALLES = {"lat": 48.8620, "lon": 2.3460}
ROSA_PARKS = {"lat": 48.8970, "lon": 2.3720}
STALINGRAD = {"lat": 48.8845, "lon": 2.3690}
NOWHERE = {"lat": 48.8400, "lon": 2.2900}

_ids = itertools.count(1)


def _wire(value: Any) -> Any:
    if isinstance(value, dt.datetime):
        return value.isoformat()
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, BaseModel):
        return value.model_dump(mode="json", exclude_none=True)
    if isinstance(value, list | tuple):
        return [_wire(v) for v in value]
    return value


def _with(base: dict[str, Any], overrides: dict[str, Any]) -> dict[str, Any]:
    """``base`` updated with ``overrides``; an override of ``None`` removes the field."""
    merged = {**base, **{k: _wire(v) for k, v in overrides.items()}}
    return {k: v for k, v in merged.items() if v is not None}


def raw_person(index: int = 0, **overrides: Any) -> dict[str, Any]:
    """Synthetic person ``index`` (wraps around the name lists), born in 1999."""
    base = {
        "last_name": LAST_NAMES[index % len(LAST_NAMES)],
        "first_name": FIRST_NAMES[index % len(FIRST_NAMES)],
        "birth_date": dt.date(1999, 1 + index % 12, 1 + index % 28),
        "aliases": [ALIASES[index % len(ALIASES)]],
    }
    return _with({k: _wire(v) for k, v in base.items()}, overrides)


def make_person(index: int = 0, **overrides: Any) -> Person:
    return loads(Person, dumps_obj(raw_person(index, **overrides)))


def _raw_event(kind: str, location: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    return {
        "event_id": f"test-{kind}-{next(_ids):06d}",
        "occurred_at": BASE_TIME.isoformat(),
        "reported_at": (BASE_TIME + dt.timedelta(minutes=40)).isoformat(),
        "source": {"system": "test-lrp", "unit": "CSP 19"},
        "procedure_ref": "2026/000123",
        "location": location,
        **extra,
    }


def raw_arrest(**overrides: Any) -> dict[str, Any]:
    base = _raw_event(
        "arrest",
        dict(LES_HALLES),
        {
            "person": raw_person(0),
            "offense": "trafficking",
            "flagrant": True,
            "role": "seller",
        },
    )
    return _with(base, overrides)


def raw_seizure(**overrides: Any) -> dict[str, Any]:
    base = _raw_event(
        "seizure",
        {**STALINGRAD, "address": "3 bd de la Villette, 75019 Paris"},
        {
            "substance": "crack",
            "quantity_g": 12.5,
            "cash_eur": 340.0,
            "weapons": 0,
            "persons": [raw_person(1), raw_person(2)],
        },
    )
    return _with(base, overrides)


def raw_dealing_address(**overrides: Any) -> dict[str, Any]:
    base = _raw_event(
        "dealing_address",
        {**ROSA_PARKS, "address": "12, Rue Curial 75019 Paris"},
        {"usage": "dealing_point", "evidence": "surveillance", "occupant": raw_person(3)},
    )
    return _with(base, overrides)


def make_arrest(**overrides: Any) -> Arrest:
    return loads(Arrest, dumps_obj(raw_arrest(**overrides)))


def make_seizure(**overrides: Any) -> Seizure:
    return loads(Seizure, dumps_obj(raw_seizure(**overrides)))


def make_dealing_address(**overrides: Any) -> DealingAddress:
    return loads(DealingAddress, dumps_obj(raw_dealing_address(**overrides)))


def raw_outcome(case_id: str, **overrides: Any) -> dict[str, Any]:
    """A court outcome (contract §8) for ``case_id``: the whole case closed, unless overridden."""
    base = {
        "outcome_id": f"test-outcome-{next(_ids):06d}",
        "case_id": case_id,
        "outcome": "closed",
        "decided_at": (BASE_TIME + dt.timedelta(days=30)).isoformat(),
        "procedure_ref": "TJ-PARIS-2026-000042",
    }
    return _with(base, overrides)
