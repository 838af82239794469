"""fieldcourt's configuration: one typed object read from ``FIELDCOURT_*`` variables.

Validated once at start-up; every other module receives a ``Settings`` instead of reading the
environment itself.
"""

from __future__ import annotations

import difflib
import os
import secrets
from collections.abc import Mapping
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Self

from pydantic import Field, SecretStr, ValidationError, field_validator, model_validator
from pydantic_core import ErrorDetails
from pydantic_settings import BaseSettings, SettingsConfigDict

from fieldcourt.faults import CrashPlan
from streams.errors import ConfigurationError
from streams.pseudonym import PSEUDONYM_KEY_MIN_BYTES

PROJECT_ROOT = Path(__file__).resolve().parent.parent
ENV_PREFIX = "FIELDCOURT_"
#: ``FIELDCOURT_*`` variables that are not settings: read by the test suite and benchmarks only.
NOT_SETTINGS = frozenset({"FIELDCOURT_TEST_BOOTSTRAP"})


class Environment(StrEnum):
    DEVELOPMENT = "development"
    PRODUCTION = "production"


class TableStore(StrEnum):
    MEMORY = "memory"
    ROCKSDB = "rocksdb"


class KafkaSecurity(StrEnum):
    """How clients reach the broker: SASL/SCRAM over TLS, or plaintext (development only)."""

    SASL_SSL = "sasl_ssl"
    PLAINTEXT = "plaintext"


class ProcessingGuarantee(StrEnum):
    AT_LEAST_ONCE = "at_least_once"
    EXACTLY_ONCE = "exactly_once"


Port = Annotated[int, Field(ge=1, le=65535)]


class Settings(BaseSettings):
    """Everything an operator can set, with defaults that work on a fresh machine."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, extra="forbid", frozen=True, validate_default=True
    )

    environment: Environment = Environment.DEVELOPMENT
    app_id: str = Field("fieldcourt", min_length=1, max_length=100, pattern=r"^[A-Za-z0-9._-]+$")
    broker: str = Field("127.0.0.1:9092", min_length=1, description="Kafka bootstrap servers")
    pseudonym_key: SecretStr | None = Field(
        None, description="HMAC key for subject references; required in production"
    )
    #: The same key read from a file (a mounted secret): it never enters the environment.
    pseudonym_key_file: Path | None = None
    web_bind: str = "127.0.0.1"
    web_port: Port = 6066
    store: TableStore = TableStore.ROCKSDB
    data_dir: Path = PROJECT_ROOT / "var"
    rules_file: Path | None = None
    sectors_file: Path | None = None
    topic_partitions: int = Field(4, ge=1, le=256)
    topic_replication: int = Field(1, ge=1, le=16)
    processing_guarantee: ProcessingGuarantee = ProcessingGuarantee.AT_LEAST_ONCE
    max_message_bytes: int = Field(1_048_576, ge=1024)
    future_tolerance_s: float = Field(300.0, ge=0)
    #: How long the group waits for a silent worker before its partitions move (and so how
    #: long a crashed worker's partitions stand still).
    session_timeout_s: float = Field(30.0, ge=6, le=300)
    #: How often each partition's state is purged of what is past its retention.
    purge_interval_s: float = Field(3600.0, gt=0)
    #: Records an agent takes at once: table writes are grouped per batch (``agents/io.py``).
    batch_max: int = Field(500, ge=1, le=100_000)
    #: The most an agent waits, from a batch's first record, for the batch to fill before
    #: processing what it has (while records keep coming).
    batch_within_s: float = Field(0.05, gt=0, le=5)
    #: A batch is handed on once what the consumer fetched is all in
    #: (``agents.batches.take_ready``); while the stream is held up (Faust's flow control, a
    #: rebalance) it looks again after this long, and an ``AgentIO`` without the consumer's
    #: hand-offs hands a batch on once no record has joined it for this long.
    batch_idle_s: float = Field(0.01, gt=0, le=1)
    #: How long the producer waits for more records to send in one request (records handed
    #: on while one is in flight go together in the next anyway); 0.005 added its 5 ms to
    #: every hop and to each wait for audit acknowledgements.
    producer_linger_s: float = Field(0.0, ge=0, le=1)
    #: The most the consumer fetches from one partition at once (at least one record of the
    #: largest accepted size).
    consumer_fetch_bytes: int = Field(1_114_112, ge=1024 * 1024)
    #: Before joining the group, bring the local RocksDB tables up to the end of their
    #: changelogs in bulk (``agents.restore``) rather than through Faust's slower recovery.
    restore_on_start: bool = True
    # Retention per data category (contract §8), applied by `fieldcourt topics apply`.
    #: Field topics: the police's records as sent, names included.
    retention_field_days: float = Field(30.0, gt=0)
    #: The dead-letter topic: rejected records unchanged, names included.
    retention_deadletter_days: float = Field(30.0, gt=0)
    #: fieldcourt's internal streams (pseudonymised events, matches).
    retention_internal_days: float = Field(30.0, gt=0)
    #: The audit topic.
    retention_audit_days: float = Field(3 * 365.0, gt=0)
    #: How long the case manager keeps a case after the court closed it (contract §8).
    retention_closed_case_days: float = Field(365.0, gt=0)
    #: The alerts topic (keyed by sector, so kept by time rather than compacted).
    retention_alerts_days: float = Field(365.0, gt=0)
    #: A field-topic partition a stage has not heard from for this long no longer holds that
    #: stage's purges back (``streams.eventtime``).
    idle_feed_s: float = Field(3600.0, gt=0)
    #: Test only: crash the worker at a named point (``fieldcourt/faults.py``); refused in
    #: production.
    crash_at: str | None = None
    #: How often the worker counts its tables' entries for ``fieldcourt_state_entries`` (a
    #: RocksDB table is counted by a scan of its keys).
    state_metrics_interval_s: float = Field(30.0, gt=0)
    #: How often the worker runs the garbage collector's full pass, which it no longer starts
    #: on its own (``fieldcourt.collector``): each one holds every record in flight.
    gc_full_interval_s: float = Field(600.0, gt=0)

    # Access to Kafka (contract §8): how every client authenticates.
    kafka_security: KafkaSecurity = KafkaSecurity.SASL_SSL
    #: The principal this process authenticates as; unset: the tool's own (``fieldcourt``
    #: for the worker, ``police-replay`` for replay, ``section-p12`` for ``watch --section
    #: P12``..., see ``fieldcourt/kafka_auth.py``).
    kafka_user: str | None = Field(None, min_length=1, pattern=r"^[A-Za-z0-9._-]+$")
    #: A file holding the password: the password alone (a mounted secret), or the local
    #: broker's credentials file (JSON, one password per principal). Unset in development: the
    #: local broker's ``<data dir>/kafka/credentials.json``; required in production.
    kafka_password_file: Path | None = None
    #: The CA that signed the broker's certificate (PEM). Unset: the local broker's development
    #: CA in development, the system's trusted CAs in production.
    kafka_ca_file: Path | None = None
    #: One ``police-<system>`` principal per publishing system (comma-separated names).
    police_systems: str = Field("replay,simulator", pattern=r"^[a-z0-9-]+(,[a-z0-9-]+)*$")

    # The section dashboards (`fieldcourt dashboard`).
    dashboard_bind: str = "127.0.0.1"
    dashboard_port: Port = 6080
    #: Who may sign in (``fieldcourt dashboard add-user``); default ``<data dir>/dashboard/users``.
    dashboard_users_file: Path | None = None
    #: How long a sign-in lasts; the session cookie is refused after it.
    dashboard_session_ttl_s: float = Field(8 * 3600.0, ge=1, le=7 * 24 * 3600)

    # The local broker that `fieldcourt kafka up` runs (development, tests, demo).
    kafka_home: Path = PROJECT_ROOT / ".kafka"
    kafka_port: Port = 9092
    kafka_controller_port: Port = 9093
    kafka_heap: str = Field("512m", pattern=r"^[0-9]+[kmgKMG]$")

    @field_validator("rules_file", "sectors_file", "kafka_password_file", "kafka_ca_file")
    @classmethod
    def _existing_file(cls, path: Path | None) -> Path | None:
        """Checked at start: a wrong path must not wait for the first event to fail."""
        if path is not None and not path.is_file():
            raise ValueError(f"no such file: {path}")
        return path

    @model_validator(mode="before")
    @classmethod
    def _key_from_file(cls, data: object) -> object:
        """``FIELDCOURT_PSEUDONYM_KEY_FILE``: the key is read once, at start."""
        if not isinstance(data, dict) or data.get("pseudonym_key_file") is None:
            return data
        if data.get("pseudonym_key") is not None:
            raise ValueError(
                "give FIELDCOURT_PSEUDONYM_KEY or FIELDCOURT_PSEUDONYM_KEY_FILE, not both"
            )
        key = read_secret(Path(str(data["pseudonym_key_file"])), "FIELDCOURT_PSEUDONYM_KEY_FILE")
        return {**data, "pseudonym_key": key}

    @model_validator(mode="after")
    def _check(self) -> Self:
        if self.environment is Environment.PRODUCTION and self.pseudonym_key is None:
            raise ValueError(
                "FIELDCOURT_PSEUDONYM_KEY or FIELDCOURT_PSEUDONYM_KEY_FILE is required in "
                "production: subject references must be keyed with the office's secret"
            )
        if self.pseudonym_key is not None and (
            len(self.pseudonym_key.get_secret_value().encode()) < PSEUDONYM_KEY_MIN_BYTES
        ):
            raise ValueError(
                f"FIELDCOURT_PSEUDONYM_KEY must be at least {PSEUDONYM_KEY_MIN_BYTES} bytes long"
            )
        if self.crash_at is not None:
            if self.environment is Environment.PRODUCTION:
                raise ValueError("FIELDCOURT_CRASH_AT is for tests: refused in production")
            CrashPlan.parse(self.crash_at)
        if self.environment is Environment.PRODUCTION:
            if self.kafka_security is KafkaSecurity.PLAINTEXT:
                raise ValueError(
                    "FIELDCOURT_KAFKA_SECURITY=plaintext is for development: refused in "
                    "production, where clients authenticate over TLS (sasl_ssl)"
                )
            if self.kafka_password_file is None:
                raise ValueError(
                    "FIELDCOURT_KAFKA_PASSWORD_FILE is required in production: the password "
                    "of the Kafka principal, read from a file (a mounted secret)"
                )
        if self.kafka_port == self.kafka_controller_port:
            raise ValueError(
                "FIELDCOURT_KAFKA_PORT and FIELDCOURT_KAFKA_CONTROLLER_PORT must differ"
            )
        return self

    def pseudonym_key_bytes(self) -> bytes:
        """The HMAC key; in development a missing key becomes one stored in the data folder."""
        if self.pseudonym_key is not None:
            return self.pseudonym_key.get_secret_value().encode()
        path = self.data_dir / "dev-pseudonym.key"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(secrets.token_hex(32))
            path.chmod(0o600)
        return path.read_text().strip().encode()

    @property
    def users_file(self) -> Path:
        return self.dashboard_users_file or self.data_dir / "dashboard" / "users"

    @property
    def broker_url(self) -> str:
        return ",".join(f"kafka://{host}" for host in self.broker.split(","))


def read_secret(path: Path, variable: str) -> str:
    """A secret read from a file (a mounted secret), stripped; ``ValueError`` naming
    ``variable`` when it cannot be read."""
    try:
        return path.read_text().strip()
    except OSError as exc:
        raise ValueError(f"{variable}: cannot read {path}: {exc.strerror}") from None


class SettingsError(ConfigurationError):
    """The configuration is invalid; the message names each bad variable."""


def load_settings(**overrides: object) -> Settings:
    """Read and validate the settings once, turning pydantic's report into a readable one.

    A ``FIELDCOURT_*`` variable that is not a setting is refused: a typo would otherwise leave
    the default silently in force.
    """
    problems = unknown_variables(os.environ)
    try:
        settings = Settings(**overrides)  # type: ignore[arg-type]
    except ValidationError as exc:
        problems += [_describe(err) for err in exc.errors()]
    if problems:
        if len(problems) == 1:
            raise SettingsError(f"invalid configuration: {problems[0]}")
        raise SettingsError("invalid configuration:\n" + "\n".join(f"  {p}" for p in problems))
    return settings


def unknown_variables(environ: Mapping[str, str]) -> list[str]:
    """One line per ``FIELDCOURT_*`` variable of ``environ`` that is no setting, with the
    settings whose names are close to it. Names are compared upper-cased, as
    pydantic-settings reads them regardless of case."""
    known = [name.upper() for name in Settings.model_fields]
    lines = []
    for name in sorted(environ):
        upper = name.upper()
        if not upper.startswith(ENV_PREFIX) or upper in NOT_SETTINGS:
            continue
        suffix = upper.removeprefix(ENV_PREFIX)
        if suffix in known:
            continue
        close = [f"{ENV_PREFIX}{c}" for c in difflib.get_close_matches(suffix, known, n=3)]
        hint = f"did you mean {' or '.join(close)}?" if close else "see README, Configuration"
        lines.append(f"{name}: not a fieldcourt setting ({hint})")
    return lines


def _describe(err: ErrorDetails) -> str:
    """``FIELDCOURT_NAME: what``; a check across settings names its variables itself."""
    where = ".".join(str(p) for p in err["loc"])
    what = str(err["ctx"]["error"]) if err["type"] == "value_error" else err["msg"]
    return f"{ENV_PREFIX}{where.upper()}: {what}" if where else what
