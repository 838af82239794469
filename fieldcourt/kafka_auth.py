"""Who a client is on Kafka, and the one place where aiokafka client options are built.

Every client (the worker through Faust, replay, simulate, watch, topics and ACLs, the local
broker's readiness probe, the tests' producers and consumers) calls ``client_options``: the
broker address, SASL/SCRAM-SHA-512 over TLS with the principal's password and the CA, or
plaintext when the settings say so (development only, refused in production by ``Settings``).
Nothing is read from the command line.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from fieldcourt.settings import Environment, KafkaSecurity, Settings, read_secret
from streams.errors import ConfigurationError

SCRAM_MECHANISM = "SCRAM-SHA-512"

#: aiokafka client keyword arguments: the broker's address and how to authenticate to it.
ClientOptions = dict[str, Any]

#: Super users: the broker itself (inter-broker and controller traffic) and the operator's
#: administration principal (topics, ACLs). No client of fieldcourt's pipeline uses them.
BROKER = "broker"
ADMIN = "admin"
#: The workers (SPEC 8).
WORKER = "fieldcourt"
SECTION_PRINCIPALS = {section: f"section-{section}" for section in ("p12", "p20", "f3", "p4")}
COJC = "cojc"
COURT_REGISTRY = "court-registry"
DLQ_ADMIN = "dlq-admin"
AUDIT_READER = "audit-reader"
#: The default principals of the publishing tools (each a ``police-<system>``).
REPLAY = "police-replay"
SIMULATOR = "police-simulator"


def police_principals(settings: Settings) -> list[str]:
    return [f"police-{system}" for system in settings.police_systems.split(",")]


def principals(settings: Settings) -> list[str]:
    """Every principal the local broker knows, super users first."""
    return [
        BROKER,
        ADMIN,
        WORKER,
        *police_principals(settings),
        *SECTION_PRINCIPALS.values(),
        COJC,
        COURT_REGISTRY,
        DLQ_ADMIN,
        AUDIT_READER,
    ]


class KafkaAuthError(ConfigurationError):
    """A principal's password or the CA cannot be found; the message says where it looked."""


# -- the local broker's credentials file ----------------------------------------------------


def credentials_file(settings: Settings) -> Path:
    """``<data dir>/kafka/credentials.json``: the local broker's principals and passwords."""
    return settings.data_dir / "kafka" / "credentials.json"


def dev_ca_file(settings: Settings) -> Path:
    return settings.data_dir / "kafka" / "tls" / "ca.pem"


def load_credentials(path: Path) -> dict[str, str]:
    """The passwords per principal of a credentials file (JSON); none if it does not exist."""
    known: dict[str, str] = json.loads(path.read_text()) if path.exists() else {}
    return known


def new_passwords(names: list[str]) -> dict[str, str]:
    return {name: secrets.token_urlsafe(24) for name in names}


def save_credentials(path: Path, passwords: dict[str, str]) -> dict[str, str]:
    """Add or replace ``passwords`` in the credentials file (mode 0600); all it holds."""
    known = {**load_credentials(path), **passwords}
    write_private(path, json.dumps(known, indent=2) + "\n")
    return known


def ensure_credentials(path: Path, names: list[str]) -> dict[str, str]:
    """The passwords of ``names`` in ``path`` (JSON, mode 0600), generating the missing ones."""
    known = load_credentials(path)
    missing = [name for name in names if name not in known]
    return save_credentials(path, new_passwords(missing)) if missing else known


def write_private(path: Path, text: str) -> None:
    """Write ``text`` to a file only its owner may read, never readable by others meanwhile."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as out:
        out.write(text)
    path.chmod(0o600)


# -- what a client needs ----------------------------------------------------------------------


def password(settings: Settings, principal: str) -> str:
    """``principal``'s password from ``FIELDCOURT_KAFKA_PASSWORD_FILE`` (the password alone,
    or a JSON object of passwords per principal), else, in development, from the local
    broker's credentials file."""
    path = settings.kafka_password_file
    if path is None:
        if settings.environment is Environment.PRODUCTION:  # Settings refuses it; be sure
            raise KafkaAuthError("FIELDCOURT_KAFKA_PASSWORD_FILE is required in production")
        path = credentials_file(settings)
        if not path.exists():
            raise KafkaAuthError(
                f"no Kafka credentials: {path} does not exist (start the local broker with "
                "`fieldcourt kafka up`, or set FIELDCOURT_KAFKA_PASSWORD_FILE)"
            )
    try:
        text = read_secret(path, "FIELDCOURT_KAFKA_PASSWORD_FILE")
    except ValueError as exc:
        raise KafkaAuthError(str(exc)) from None
    if not text.startswith("{"):
        if not text:
            raise KafkaAuthError(f"the Kafka password file {path} is empty")
        return text
    try:
        found = json.loads(text).get(principal)
    except (ValueError, AttributeError):
        raise KafkaAuthError(f"{path}: not a JSON object of passwords per principal") from None
    if not isinstance(found, str):
        raise KafkaAuthError(f"{path} holds no password for the Kafka principal {principal!r}")
    return found


def principal_of(settings: Settings, default: str) -> str:
    """``FIELDCOURT_KAFKA_USER`` if set, else the tool's own principal."""
    return settings.kafka_user or default


def tls_context(settings: Settings) -> ssl.SSLContext:
    """Verifies the broker's certificate and host name against the configured CA."""
    ca = settings.kafka_ca_file
    if ca is None and settings.environment is Environment.DEVELOPMENT:
        ca = dev_ca_file(settings)
        if not ca.exists():
            raise KafkaAuthError(
                f"no CA to verify the broker: {ca} does not exist (start the local broker "
                "with `fieldcourt kafka up`, or set FIELDCOURT_KAFKA_CA_FILE)"
            )
    return ssl.create_default_context(cafile=str(ca) if ca is not None else None)


def client_options(settings: Settings, default_principal: str) -> ClientOptions:
    """aiokafka client keyword arguments: where the broker is and how to authenticate to it,
    as ``default_principal`` unless ``FIELDCOURT_KAFKA_USER`` names another."""
    options: ClientOptions = {"bootstrap_servers": settings.broker}
    if settings.kafka_security is KafkaSecurity.PLAINTEXT:
        return {**options, "security_protocol": "PLAINTEXT"}
    principal = principal_of(settings, default_principal)
    return {
        **options,
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": SCRAM_MECHANISM,
        "sasl_plain_username": principal,
        "sasl_plain_password": password(settings, principal),
        "ssl_context": tls_context(settings),
    }


def client_env(settings: Settings) -> dict[str, str]:
    """The ``FIELDCOURT_*`` variables by which a child process (a worker) reaches the broker
    the way ``settings`` do, files resolved; its principal stays its own."""
    env = {
        "FIELDCOURT_BROKER": settings.broker,
        "FIELDCOURT_KAFKA_SECURITY": settings.kafka_security,
    }
    if settings.kafka_security is KafkaSecurity.PLAINTEXT:
        return env
    env["FIELDCOURT_KAFKA_PASSWORD_FILE"] = str(
        settings.kafka_password_file or credentials_file(settings)
    )
    ca = settings.kafka_ca_file
    if ca is None and settings.environment is Environment.DEVELOPMENT:
        ca = dev_ca_file(settings)
    if ca is not None:
        env["FIELDCOURT_KAFKA_CA_FILE"] = str(ca)
    return env


def faust_credentials(settings: Settings) -> dict[str, Any]:
    """Faust's ``broker_credentials`` for the worker's principal (none in plaintext)."""
    options = client_options(settings, WORKER)
    if options["security_protocol"] == "PLAINTEXT":
        return {}
    from faust.auth import SASLCredentials

    credentials = SASLCredentials(
        username=options["sasl_plain_username"],
        password=options["sasl_plain_password"],
        ssl_context=options["ssl_context"],
        mechanism=options["sasl_mechanism"],
    )
    return {"broker_credentials": credentials}


class _ClientLog(logging.Handler):
    """Takes aiokafka's log lines while a command runs, noting an authentication refusal."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.refused = False

    def emit(self, record: logging.LogRecord) -> None:
        self.refused = self.refused or "AuthenticationFailed" in record.getMessage()


@contextmanager
def refusals_explained() -> Iterator[None]:
    """aiokafka's own log lines are kept from stderr (the command prints one line of its
    own), and a connection failure after the broker refused the credentials becomes a
    ``KafkaAuthError`` that says so: aiokafka reports it only as "unable to bootstrap"."""
    from aiokafka.errors import KafkaConnectionError

    client_log = logging.getLogger("aiokafka")
    handler, propagate = _ClientLog(), client_log.propagate
    client_log.addHandler(handler)
    client_log.propagate = False
    try:
        yield
    except KafkaConnectionError as exc:
        if not handler.refused:
            raise
        raise KafkaAuthError(
            "the broker refused the credentials (SASL authentication failed): check "
            "FIELDCOURT_KAFKA_USER and FIELDCOURT_KAFKA_PASSWORD_FILE"
        ) from exc
    finally:
        client_log.removeHandler(handler)
        client_log.propagate = propagate
