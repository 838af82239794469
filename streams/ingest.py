"""Ingest's first step: raw Kafka bytes to a validated field event, or a reason to reject them.

Never raises for bad input: every failure is a ``RejectedInput`` with a reason and a sentence.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

import orjson
from pydantic import ValidationError

from schemas.common import InboundRecord
from schemas.field import FIELD_MODELS, FieldEvent
from schemas.outcomes import Outcome, OutcomeCommand, SourcePosition
from streams.errors import Reason, RejectedInput

DEFAULT_MAX_BYTES = 1_048_576
DEFAULT_FUTURE_TOLERANCE = dt.timedelta(minutes=5)


E = TypeVar("E", bound=InboundRecord)


@dataclass(frozen=True)
class Accepted(Generic[E]):
    event: E
    #: sha256 of the canonical JSON (sorted keys): equal payloads, equal fingerprints.
    fingerprint: str


@dataclass(frozen=True)
class Limits:
    """What an inbound record may be: its size, and how far ahead its event time may be."""

    max_bytes: int = DEFAULT_MAX_BYTES
    future_tolerance: dt.timedelta = DEFAULT_FUTURE_TOLERANCE


def parse_record(
    topic: str, key: bytes | None, value: bytes | None, now: dt.datetime, limits: Limits = Limits()
) -> Accepted[FieldEvent] | RejectedInput:
    """Validate one field record against its topic's schema and SPEC 4's rules."""
    model = FIELD_MODELS.get(topic)
    if model is None:
        return RejectedInput(Reason.UNKNOWN_TOPIC, f"ingest does not read topic {topic!r}")
    return _parse(model, key, value, now, limits)


def parse_outcome(
    key: bytes | None, value: bytes | None, now: dt.datetime, limits: Limits = Limits()
) -> Accepted[Outcome] | RejectedInput:
    """Validate one court outcome exactly as a field record (contract §8)."""
    return _parse(Outcome, key, value, now, limits)


def outcome_command(
    accepted: Accepted[Outcome],
    position: tuple[str, int, int],
    record: tuple[bytes, bytes],
    headers: Iterable[tuple[str, bytes]] = (),
) -> OutcomeCommand:
    """An accepted outcome for the case manager, with what a dead letter of it needs: its
    source position, its key and value (``record``) and the sender's headers."""
    topic, partition, offset = position
    key, value = record
    return OutcomeCommand(
        outcome=accepted.event,
        fingerprint=accepted.fingerprint,
        source=SourcePosition(topic=topic, partition=partition, offset=offset),
        key=key.decode(),
        value=value.decode(),
        headers=tuple((name, base64.b64encode(data).decode()) for name, data in headers),
    )


def _parse(
    model: type[E],
    key: bytes | None,
    value: bytes | None,
    now: dt.datetime,
    limits: Limits,
) -> Accepted[E] | RejectedInput:
    max_bytes, future_tolerance = limits.max_bytes, limits.future_tolerance
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
        event: E = model.model_validate_json(value, strict=True)
    except ValidationError as exc:
        return RejectedInput(Reason.SCHEMA_VIOLATION, describe_validation_error(model, exc))
    if event.event_time > now + future_tolerance:
        return RejectedInput(
            Reason.FUTURE_EVENT,
            f"{model.TIME_FIELD} {event.event_time.isoformat()} is more than "
            f"{future_tolerance} after the time of processing {now.isoformat()}",
        )
    if key != event.record_key.encode():
        return RejectedInput(
            Reason.KEY_MISMATCH,
            f"the record key must be the {model.KEY_FIELD} {event.record_key!r} (SPEC 3), so "
            "that redeliveries meet on one partition",
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
