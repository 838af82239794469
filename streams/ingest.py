"""Ingest's first step: raw Kafka bytes to a validated field event, or a reason to reject them.

Never raises for bad input: every failure is a ``RejectedInput`` with a reason and a sentence.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

import orjson
from pydantic import ValidationError

from schemas.field import FIELD_MODELS, FieldEvent
from streams.errors import Reason, RejectedInput

DEFAULT_MAX_BYTES = 1_048_576
DEFAULT_FUTURE_TOLERANCE = dt.timedelta(minutes=5)


@dataclass(frozen=True)
class Accepted:
    event: FieldEvent
    #: sha256 of the canonical JSON (sorted keys): equal payloads, equal fingerprints.
    fingerprint: str


def parse_record(
    topic: str,
    key: bytes | None,
    value: bytes | None,
    now: dt.datetime,
    *,
    max_bytes: int = DEFAULT_MAX_BYTES,
    future_tolerance: dt.timedelta = DEFAULT_FUTURE_TOLERANCE,
) -> Accepted | RejectedInput:
    """Validate one inbound record against its topic's schema and SPEC 4's rules."""
    model = FIELD_MODELS.get(topic)
    if model is None:
        return RejectedInput(Reason.UNKNOWN_TOPIC, f"ingest does not read topic {topic!r}")
    if not value:
        return RejectedInput(Reason.EMPTY_VALUE, "the record has no value (tombstone or empty)")
    if len(value) > max_bytes:
        return RejectedInput(
            Reason.TOO_LARGE, f"the value has {len(value)} bytes; at most {max_bytes} are accepted"
        )
    try:
        value.decode("utf-8")
    except UnicodeDecodeError as exc:
        return RejectedInput(Reason.INVALID_ENCODING, f"the value is not UTF-8: {exc}")
    try:
        obj = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        return RejectedInput(Reason.INVALID_JSON, f"the value is not JSON: {exc}")
    if not isinstance(obj, dict):
        return RejectedInput(
            Reason.NOT_AN_OBJECT, f"the value is a JSON {type(obj).__name__}, not an object"
        )
    try:
        event = model.model_validate_json(value, strict=True)
    except ValidationError as exc:
        return RejectedInput(Reason.SCHEMA_VIOLATION, describe_validation_error(model, exc))
    if event.occurred_at > now + future_tolerance:
        return RejectedInput(
            Reason.FUTURE_EVENT,
            f"occurred_at {event.occurred_at.isoformat()} is more than "
            f"{future_tolerance} after the time of processing {now.isoformat()}",
        )
    if key != event.event_id.encode():
        return RejectedInput(
            Reason.KEY_MISMATCH,
            f"the record key must be the event_id {event.event_id!r} (SPEC 3), so that "
            "redeliveries meet on one partition",
        )
    canonical = orjson.dumps(obj, option=orjson.OPT_SORT_KEYS)
    return Accepted(event, hashlib.sha256(canonical).hexdigest())


def describe_validation_error(model: type, exc: ValidationError) -> str:
    """One line per problem, naming the field: what a police integrator needs to fix the feed.

    Values are never quoted, nor are unknown keys: a key is the sender's text and may be a
    name (``{"Dupont": ...}``), and this sentence goes to headers and logs. An unknown key is
    shown as ``<unknown key>`` under its parent; the record itself is in the dead-letter topic.
    """
    problems = []
    for err in exc.errors(include_url=False, include_input=False):
        loc = list(err["loc"])
        if err["type"] == "extra_forbidden" and loc:
            loc[-1] = "<unknown key>"
        where = ".".join(str(p) for p in loc) or "(value)"
        problems.append(f"{where}: {err['msg']}")
    return f"not a valid {model.__name__}: " + "; ".join(problems)
