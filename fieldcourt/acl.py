"""The ACLs of SPEC 8, derived from the topic catalogue, and ``fieldcourt acl apply``.

Who writes and reads each public topic is declared with the topic (``TopicSpec.write_by`` and
``read_by``); the worker holds everything under its app id's prefix (internal streams,
changelogs, Faust's own topics), its consumer group and its transactional ids; each reading
principal may use consumer groups named after itself (a dashboard's group). Nothing else is
allowed: the broker's StandardAuthorizer denies what no ACL allows.

aiokafka has no ACL calls, but it has the protocol messages (CreateAcls and DescribeAcls, one
binding per request), which this module sends through its admin client.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from enum import IntEnum
from typing import Any

from fieldcourt import kafka_auth as principal
from fieldcourt.kafka_auth import client_options
from fieldcourt.settings import KafkaSecurity, Settings
from fieldcourt.topics import (
    TopicChange,
    TopicSpec,
    apply_topics,
    catalogue,
    internal_prefix,
)
from streams.errors import FieldcourtError


class Resource(IntEnum):
    """Kafka's ``ResourceType`` codes."""

    TOPIC = 2
    GROUP = 3
    TRANSACTIONAL_ID = 5


class Pattern(IntEnum):
    """Kafka's ``PatternType`` codes."""

    LITERAL = 3
    PREFIXED = 4


class Operation(IntEnum):
    """Kafka's ``AclOperation`` codes (READ and WRITE imply DESCRIBE)."""

    ALL = 2
    READ = 3
    WRITE = 4


ALLOW = 3  # AclPermissionType
ACL_VISIBLE_S = 30.0  # how long a created binding may take to be listed
ANY_HOST = "*"


@dataclass(frozen=True, order=True)
class Acl:
    """One ALLOW binding: ``principal`` may ``operation`` on the resource ``name``."""

    principal: str
    resource: Resource
    name: str
    pattern: Pattern
    operation: Operation

    def describe(self) -> str:
        prefix = "*" if self.pattern is Pattern.PREFIXED else ""
        return (
            f"{self.principal:16} {self.operation.name:6} "
            f"{self.resource.name.lower()} {self.name}{prefix}"
        )


def _topic_acls(spec: TopicSpec) -> list[Acl]:
    return [
        Acl(who, Resource.TOPIC, spec.name, Pattern.LITERAL, operation)
        for operation, principals in (
            (Operation.WRITE, spec.write_by),
            (Operation.READ, spec.read_by),
        )
        for who in principals
    ]


def derive_acls(settings: Settings, specs: list[TopicSpec] | None = None) -> list[Acl]:
    """Every ACL of SPEC 8 for this app id, sorted, no duplicates."""
    specs = catalogue(settings) if specs is None else specs
    prefix = internal_prefix(settings)
    acls = {acl for spec in specs if not spec.name.startswith(prefix) for acl in _topic_acls(spec)}
    worker = principal.WORKER
    acls |= {
        Acl(worker, Resource.TOPIC, prefix, Pattern.PREFIXED, Operation.ALL),
        Acl(worker, Resource.GROUP, settings.app_id, Pattern.LITERAL, Operation.ALL),
        Acl(worker, Resource.TRANSACTIONAL_ID, prefix, Pattern.PREFIXED, Operation.ALL),
    }
    readers = {who for spec in specs for who in spec.read_by} - {worker}
    acls |= {Acl(who, Resource.GROUP, who, Pattern.PREFIXED, Operation.READ) for who in readers}
    return sorted(acls)


class AclError(FieldcourtError):
    """The broker refused to list or create ACLs; the message says which and why."""


async def _existing(admin: Any, acls: list[Acl], node: int | None = None) -> set[Acl]:
    """The ALLOW bindings on the resources of ``acls``, as broker ``node`` (any one when
    ``None``) lists them."""
    from aiokafka.errors import for_code
    from aiokafka.protocol.admin import DescribeAclsRequest

    found: set[Acl] = set()
    for resource, name, pattern in sorted({(a.resource, a.name, a.pattern) for a in acls}):
        request = DescribeAclsRequest(resource, name, pattern, None, None, 1, ALLOW)  # 1: ANY op
        response = await admin._send_request(request, node)  # aiokafka: no public ACL call
        if response.error_code:
            error = for_code(response.error_code).__name__
            raise AclError(f"cannot list the ACLs of {name}: {error}: {response.error_message}")
        for res_type, res_name, res_pattern, bindings in response.resources:
            for who, _host, operation, _permission in bindings:
                if who.startswith("User:") and operation in Operation._value2member_map_:
                    found.add(
                        Acl(
                            who.removeprefix("User:"),
                            Resource(res_type),
                            res_name,
                            Pattern(res_pattern),
                            Operation(operation),
                        )
                    )
    return found


async def _create(admin: Any, acl: Acl) -> None:
    from aiokafka.errors import for_code
    from aiokafka.protocol.admin import CreateAclsRequest

    request = CreateAclsRequest(
        acl.resource,
        acl.name,
        acl.pattern,
        f"User:{acl.principal}",
        ANY_HOST,
        acl.operation,
        ALLOW,
    )
    response = await admin._send_request(request)  # aiokafka: no public ACL call
    for code, message in response.creation_responses:
        if code:
            error = for_code(code).__name__
            raise AclError(f"cannot create {acl.describe()}: {error}: {message or 'no detail'}")


async def prepare_broker(settings: Settings) -> tuple[list[TopicChange], list[AclChange]]:
    """The catalogue's topics, then their ACLs when clients authenticate: what a fresh broker
    needs before a worker joins (the demo, the tests)."""
    topics = await apply_topics(settings, catalogue(settings))
    if settings.kafka_security is KafkaSecurity.PLAINTEXT:
        return topics, []  # no authorizer to ask
    return topics, await apply_acls(settings, derive_acls(settings))


@dataclass(frozen=True)
class AclChange:
    acl: Acl
    action: str  # "created" or "unchanged"


async def apply_acls(settings: Settings, acls: list[Acl]) -> list[AclChange]:
    """Create the bindings of ``acls`` that the broker lacks, as the admin principal; what
    was created and what was there. Bindings the broker has beyond these are left alone."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(
        **client_options(settings, principal.ADMIN), request_timeout_ms=15000
    )
    try:
        await admin.start()
        present = await _existing(admin, acls)
        changes = []
        for acl in acls:
            if acl not in present:
                await _create(admin, acl)
            changes.append(AclChange(acl, "unchanged" if acl in present else "created"))
        await until_listed(admin, acls)
        return changes
    finally:
        await admin.close()


async def until_listed(admin: Any, acls: list[Acl], timeout_s: float = ACL_VISIBLE_S) -> None:
    """Wait until every broker lists every binding of ``acls``.

    CreateAcls answers once the controller has committed the binding; each broker's
    authorizer learns it when that broker replays the metadata log, a moment later. A client
    that reaches a broker in that moment is refused (a CI run's worker was:
    GroupAuthorizationFailed on its own group). DescribeAcls is answered from the authorizer
    of the broker asked, so once each broker lists them they are in force everywhere.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    brokers = sorted(broker.nodeId for broker in admin._client.cluster.brokers())
    for node in brokers or [None]:
        while missing := set(acls) - await _existing(admin, acls, node):
            if loop.time() > deadline:
                names = ", ".join(acl.describe() for acl in sorted(missing))
                raise AclError(
                    f"broker {node} does not list ACLs it accepted after {timeout_s:.0f} s: {names}"
                )
            await asyncio.sleep(0.1)
