"""Valid example payloads (synthetic people only) and helpers to edit, parse and reject them."""

from __future__ import annotations

import copy
import json
from typing import Any, TypeVar

import pytest
from pydantic import BaseModel, ValidationError

from schemas import codec
from schemas.cases import Alert, CaseEvent
from schemas.enriched import EnrichedEvent
from schemas.field import Arrest, DealingAddress, Seizure

M = TypeVar("M", bound=BaseModel)

#: A path into a JSON document: object keys and list indices.
DocPath = tuple[str | int, ...]

#: Stands for "remove this key" in ``edited``.
MISSING: Any = object()

PERSON: dict[str, Any] = {"last_name": "Fictif", "first_name": "Aubin"}

COMMON: dict[str, Any] = {
    "event_id": "evt-0001",
    "occurred_at": "2025-09-01T22:15:00+02:00",
    "source": {"system": "synthetic-lrp", "unit": "BAC 75N"},
    "location": {"lat": 48.8620, "lon": 2.3470, "address": "12 rue Curial, 75019 Paris"},
}

EXAMPLES: dict[type[BaseModel], dict[str, Any]] = {
    Arrest: {**COMMON, "person": PERSON, "offense": "trafficking", "flagrant": True},
    Seizure: {**COMMON, "substance": "crack", "quantity_g": 12.5},
    DealingAddress: {**COMMON, "usage": "dealing_point", "evidence": "surveillance"},
    EnrichedEvent: {
        "event_id": "evt-0001",
        "kind": "arrest",
        "occurred_at": "2025-09-01T20:15:00Z",
        "reported_at": "2025-09-01T21:00:00Z",
        "report_delay_s": 2700.0,
        "source": COMMON["source"],
        "lat": 48.8620,
        "lon": 2.3470,
        "sector": "les-halles",
        "address_key": "12 RUE CURIAL 75019 PARIS",
        "narcotics": True,
        "subjects": [{"ref": "S-AAAABBBBCCCCDDDD", "role": "seller", "minor": False}],
        "offense": "trafficking",
        "flagrant": True,
        "role": "seller",
    },
    CaseEvent: {
        "event_type": "case_opened",
        "case_id": "C-3f2a9c",
        "section": "P12",
        "anchor": {"kind": "subject", "ref": "S-AAAABBBBCCCCDDDD"},
        "sector": "les-halles",
        "rule_ids": ["p12.flagrant"],
        "reason": "Flagrant trafficking arrest on 2025-09-01 at 22:15 in Les Halles.",
        "subjects": [{"ref": "S-AAAABBBBCCCCDDDD", "roles": ["seller"]}],
        "evidence": ["evt-0001"],
        "first_event_at": "2025-09-01T20:15:00Z",
        "last_event_at": "2025-09-01T20:15:00Z",
        "version": 1,
        "emitted_at": "2025-09-01T20:15:01Z",
    },
    Alert: {
        "alert_type": "displacement",
        "alert_id": "A-91bc07",
        "sector": "rosa-parks",
        "from_sector": "les-halles",
        "subjects": ["S-AAAABBBBCCCCDDDD"],
        "evidence": ["evt-0001", "evt-0002"],
        "window": {"start": "2025-09-01T20:15:00Z", "end": "2025-10-02T09:00:00Z"},
        "reason": "A subject seen dealing in Les Halles on 1 September was arrested in Rosa Parks.",
        "emitted_at": "2025-10-02T09:00:01Z",
    },
}


def example(model: type[BaseModel]) -> dict[str, Any]:
    """A fresh copy, so that a test may edit it freely."""
    return copy.deepcopy(EXAMPLES[model])


def edited(doc: dict[str, Any], path: DocPath, value: Any) -> dict[str, Any]:
    """A copy of ``doc`` with ``value`` at ``path`` (``MISSING`` removes the key)."""
    result = copy.deepcopy(doc)
    parent: Any = result
    for step in path[:-1]:
        parent = parent[step]
    if value is MISSING:
        del parent[path[-1]]
    else:
        parent[path[-1]] = value
    return result


def encode(doc: Any) -> bytes:
    """Plain ``json`` rather than orjson: it also writes integers beyond 64 bits."""
    return json.dumps(doc).encode()


def accepts(model: type[M], doc: Any) -> M:
    return codec.loads(model, encode(doc))


def rejects(model: type[BaseModel], doc: Any, loc: DocPath = ()) -> ValidationError:
    """Assert that ``doc`` is refused, and for a reason located at ``loc``."""
    with pytest.raises(ValidationError) as caught:
        accepts(model, doc)
    locs = [error["loc"][: len(loc)] for error in caught.value.errors()]
    assert loc in locs, caught.value
    return caught.value
