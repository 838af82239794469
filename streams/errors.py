"""fieldcourt's errors, and why an input is rejected (the dead-letter reasons).

Errors are exceptions; a rejected input is a value (``RejectedInput``), returned by the parser
and written to ``field.deadletter.v1``, never raised. Every error fieldcourt raises on purpose
descends from ``FieldcourtError`` and carries the exit status the command line gives it::

    FieldcourtError                 exit 1
    ├── ConfigurationError          exit 2   a setting or a configuration file is wrong
    │   ├── SettingsError                    FIELDCOURT_* variables (fieldcourt/settings.py)
    │   ├── RulesConfigError                 the rules file (streams/rules/config.py)
    │   ├── ConfigError                      the sectors file, checked at start (cli.py)
    │   ├── KafkaAuthError                   a password or the CA not found (kafka_auth.py)
    │   └── UsersFileError                   the dashboard's users file (dashboard/users.py)
    ├── IdentityError               exit 2   subject lookup: identity attributes (lookup.py)
    ├── BrokerError                 exit 1   the local broker cannot start (kafka_local.py)
    ├── TopicError                  exit 1   the broker refused a topic change (topics.py)
    ├── AclError                    exit 1   the broker refused to list or set ACLs (acl.py)
    ├── ScramError                  exit 1   the broker refused a SCRAM credential (scram.py)
    ├── PkiError                    exit 1   openssl missing or failed (devpki.py)
    ├── UnknownTopic                exit 1   a catalogue topic the AsyncAPI document lacks
    └── FaustInternalsMissing       exit 70  Faust lacks what our consumer fixes use (transport)

    RejectedInput (a value)                  an inbound record goes to field.deadletter.v1
    ├── reason empty_value          a tombstone or empty value
    ├── reason too_large            larger than the configured maximum
    ├── reason invalid_encoding     not UTF-8
    ├── reason invalid_json         not JSON
    ├── reason not_an_object        JSON, but not an object
    ├── reason schema_violation     does not match its topic's schema
    ├── reason future_event         occurred_at more than 5 minutes in the future
    ├── reason key_mismatch         record key is not the event_id (contract §3)
    ├── reason conflicting_duplicate  a known event_id with another payload
    ├── reason unknown_topic        a topic ingest does not know
    ├── reason unknown_case         a court outcome for a case (or subject) fieldcourt does not hold
    └── reason processing_error     fieldcourt failed on it (a bug): kept, not lost

The reason travels in the ``error.reason`` header, a human-readable sentence in ``error.detail``.
"""

from __future__ import annotations

import traceback
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import ClassVar


class Reason(StrEnum):
    EMPTY_VALUE = "empty_value"
    TOO_LARGE = "too_large"
    INVALID_ENCODING = "invalid_encoding"
    INVALID_JSON = "invalid_json"
    NOT_AN_OBJECT = "not_an_object"
    SCHEMA_VIOLATION = "schema_violation"
    FUTURE_EVENT = "future_event"
    KEY_MISMATCH = "key_mismatch"
    CONFLICTING_DUPLICATE = "conflicting_duplicate"
    UNKNOWN_TOPIC = "unknown_topic"
    UNKNOWN_CASE = "unknown_case"
    PROCESSING_ERROR = "processing_error"


class FieldcourtError(Exception):
    """Base of fieldcourt's own errors; ``exit_status`` is what the command line exits with."""

    exit_status = 1


class ConfigurationError(FieldcourtError):
    """A setting or a configuration file is wrong: fix it and start again."""

    exit_status = 2


@dataclass(frozen=True)
class RejectedInput:
    """An inbound record that cannot be accepted; it is dead-lettered, never dropped."""

    MAX_DETAIL: ClassVar[int] = 1000

    reason: Reason
    detail: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "detail", self.detail[: self.MAX_DETAIL])

    def __str__(self) -> str:
        return f"{self.reason}: {self.detail}"


def describe_failure(exc: BaseException) -> str:
    """A bug's type and where it struck, without its message: a message may quote the record
    (at ingest, a name), and this line goes to logs and the dead-letter headers. The record is
    kept in the dead-letter topic, so the failure can be reproduced with its message."""
    frames = traceback.extract_tb(exc.__traceback__)
    if not frames:
        return type(exc).__name__
    last = frames[-1]
    return f"{type(exc).__name__} at {Path(last.filename).name}:{last.lineno} in {last.name}"


def failure_trace(exc: BaseException) -> str:
    """The stack of ``exc`` (code lines only, no message), for a developer reading the log."""
    return "".join(traceback.format_list(traceback.extract_tb(exc.__traceback__))).rstrip()
