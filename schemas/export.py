"""JSON Schema files of the event types: the contract police integrators and consumers read.

The files are generated from the models and committed under ``schemas/json/``; ``check_schemas``
says when the models have moved on without them.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from schemas.audit import AuditRecord
from schemas.cases import Alert, CaseEvent
from schemas.enriched import EnrichedEvent
from schemas.field import Arrest, DealingAddress, Seizure
from schemas.outcomes import Outcome

JSON_SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"

#: Event type -> its model and where it travels. The file is ``<event type>.json``.
EVENT_TYPES: dict[str, tuple[type[BaseModel], str]] = {
    "arrest": (Arrest, "An arrest, published by police systems on field.arrests.v1."),
    "seizure": (Seizure, "A seizure, published by police systems on field.seizures.v1."),
    "dealing_address": (
        DealingAddress,
        "An address used for dealing, published by police systems on field.dealing-addresses.v1.",
    ),
    "outcome": (
        Outcome,
        "A court outcome, published by the court's case management system on "
        "court.outcomes.v1 (key: case_id).",
    ),
    "enriched_event": (
        EnrichedEvent,
        "A field event after ingest: pseudonymised subjects and keys, never names.",
    ),
    "case_event": (CaseEvent, "A case event, published by fieldcourt on court.<section>.cases.v1."),
    "alert": (Alert, "An alert for a sector's COJC, published by fieldcourt on cojc.alerts.v1."),
    "audit_record": (
        AuditRecord,
        "What fieldcourt did with personal data: a disclosure, combination, consultation or "
        "erasure, on audit.v1.",
    ),
}


def schema_of(event_type: str) -> dict[str, Any]:
    """The JSON Schema of what the model accepts, which every message of that type satisfies."""
    model, description = EVENT_TYPES[event_type]
    schema = model.model_json_schema(mode="validation")
    schema.update(
        {
            "$schema": JSON_SCHEMA_DIALECT,
            "$id": f"urn:fieldcourt:schema:{event_type}:v1",
            "title": f"fieldcourt {event_type} v1",
            "description": description,
        }
    )
    return schema


def render(event_type: str) -> bytes:
    """Pretty, key-sorted, newline-terminated: the same models always give the same bytes."""
    text = json.dumps(schema_of(event_type), indent=2, sort_keys=True, ensure_ascii=False)
    return (text + "\n").encode("utf-8")


def _file_name(event_type: str) -> str:
    return f"{event_type}.json"


def export_schemas(directory: Path) -> list[Path]:
    """Write one schema file per event type into ``directory``; other files are left alone."""
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for event_type in EVENT_TYPES:
        path = directory / _file_name(event_type)
        path.write_bytes(render(event_type))
        written.append(path)
    return written


def check_schemas(directory: Path) -> list[str]:
    """File names in ``directory`` that are missing, differ from the models, or are not ours."""
    expected = {_file_name(event_type): render(event_type) for event_type in EVENT_TYPES}
    present = {path.name for path in directory.glob("*.json") if path.is_file()}
    drifted = {name for name in present if name not in expected}
    for name, content in expected.items():
        path = directory / name
        if name not in present or path.read_bytes() != content:
            drifted.add(name)
    return sorted(drifted)
