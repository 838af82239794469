"""SCRAM credentials set on a running broker through the Admin API (AlterUserScramCredentials,
KIP-554): principals added after the storage was formatted, and password rotation.

aiokafka has no call for it; this module declares the protocol message (version 0, the only
one) and sends it through aiokafka's admin client. The salted password is computed here, as
Kafka's own tools do: PBKDF2-HMAC-SHA-512 of the password with a random salt; the password
itself never leaves this process.
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
from pathlib import Path

from aiokafka.protocol.api import Request, RequestStruct, Response
from aiokafka.protocol.types import (
    CompactArray,
    CompactBytes,
    CompactString,
    Int8,
    Int16,
    Int32,
    Schema,
    TaggedFields,
)

from fieldcourt.kafka_auth import (
    BROKER,
    ClientOptions,
    load_credentials,
    new_passwords,
    save_credentials,
)
from streams.errors import FieldcourtError

SCRAM_SHA_512 = 2  # Kafka's ScramMechanism code
ITERATIONS = 4096


class AlterUserScramCredentialsResponse_v0(Response):  # type: ignore[misc]  # aiokafka: untyped
    API_KEY = 51
    API_VERSION = 0
    FLEXIBLE_VERSION = True
    SCHEMA = Schema(
        ("throttle_time_ms", Int32),
        (
            "results",
            CompactArray(
                ("user", CompactString("utf-8")),
                ("error_code", Int16),
                ("error_message", CompactString("utf-8")),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class AlterUserScramCredentialsRequest_v0(RequestStruct):  # type: ignore[misc]
    API_KEY = 51
    API_VERSION = 0
    FLEXIBLE_VERSION = True
    RESPONSE_TYPE = AlterUserScramCredentialsResponse_v0
    SCHEMA = Schema(
        (
            "deletions",
            CompactArray(
                ("name", CompactString("utf-8")), ("mechanism", Int8), ("tags", TaggedFields)
            ),
        ),
        (
            "upsertions",
            CompactArray(
                ("name", CompactString("utf-8")),
                ("mechanism", Int8),
                ("iterations", Int32),
                ("salt", CompactBytes),
                ("salted_password", CompactBytes),
                ("tags", TaggedFields),
            ),
        ),
        ("tags", TaggedFields),
    )


class AlterUserScramCredentialsRequest(Request[AlterUserScramCredentialsRequest_v0]):  # type: ignore[misc]
    API_KEY = 51

    def __init__(self, passwords: dict[str, str]) -> None:
        self.upsertions: list[tuple[str, int, int, bytes, bytes, dict[int, bytes]]] = []
        for name, password in passwords.items():
            salt = secrets.token_bytes(32)
            salted = hashlib.pbkdf2_hmac("sha512", password.encode(), salt, ITERATIONS)
            self.upsertions.append((name, SCRAM_SHA_512, ITERATIONS, salt, salted, {}))

    def build(
        self, request_struct_class: type[AlterUserScramCredentialsRequest_v0]
    ) -> AlterUserScramCredentialsRequest_v0:
        return request_struct_class([], self.upsertions, {})


class ScramError(FieldcourtError):
    """The broker refused to set a SCRAM credential; the message names each."""


async def set_passwords(kafka: ClientOptions, passwords: dict[str, str]) -> None:
    """Create or replace the SCRAM-SHA-512 credentials of ``passwords``' principals, as the
    principal of ``kafka`` (the administrator)."""
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.errors import for_code

    admin = AIOKafkaAdminClient(**kafka, request_timeout_ms=15000)
    try:
        await admin.start()
        request = AlterUserScramCredentialsRequest(passwords)
        response = await admin._send_request(request)  # aiokafka: no public call for it
    finally:
        await admin.close()
    refusals = [
        f"  {user}: {for_code(code).__name__}: {message or 'no detail'}"
        for user, code, message, _tags in response.results
        if code
    ]
    if refusals:
        raise ScramError("the broker refused SCRAM credentials:\n" + "\n".join(refusals))


def add_principals(credentials: Path, names: list[str], kafka: ClientOptions) -> list[str]:
    """The principals of ``names`` that ``credentials`` lacks (added to the settings after the
    broker's storage was formatted, such as a new police system): their passwords made, set
    on the broker, then written to the file."""
    absent = [name for name in names if name not in load_credentials(credentials)]
    if absent:
        passwords = new_passwords(absent)
        asyncio.run(set_passwords(kafka, passwords))
        save_credentials(credentials, passwords)
    return absent


def rotate(credentials: Path, kafka: ClientOptions) -> list[str]:
    """New passwords for every principal of ``credentials`` but the broker's own (it is in
    the broker's configuration: delete the data folder to change it), set on the broker, then
    written to the file; the principals rotated. Clients must be restarted."""
    names = [name for name in load_credentials(credentials) if name != BROKER]
    passwords = new_passwords(names)
    asyncio.run(set_passwords(kafka, passwords))
    save_credentials(credentials, passwords)
    return names
