"""The topic catalogue (SPEC 3): every topic fieldcourt reads or writes, declared once.

``apply_topics`` makes the broker match it idempotently: it creates what is missing, adds
partitions where there are too few and sets configs that differ; a second run changes nothing.
The tables' changelog topics are declared here too, so that they exist before a worker joins.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any, Literal

from fieldcourt import kafka_auth as principal
from fieldcourt.settings import Settings
from schemas.cases import case_topic as case_topic
from schemas.outcomes import OUTCOMES_TOPIC as OUTCOMES_TOPIC
from streams.errors import FieldcourtError

DAY_MS = 24 * 3600 * 1000
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
#: A producer's batch for one partition. aiokafka keeps one produce request in flight per
#: broker and one open batch per partition, and a send that finds its partition's batch full
#: waits for the request under way to return (at its default, 16 KiB, ~20 case states): a
#: worker's end-of-batch table flush waited seconds for round trips. Half a broker's default
#: ``message.max.bytes`` (1 MiB), so a full batch is accepted by a broker left at its
#: defaults; a record larger than this still goes out, in a batch of its own.
PRODUCER_BATCH_BYTES = 512 * 1024

Cleanup = Literal["delete", "compact"]


@dataclass(frozen=True)
class TopicSpec:
    name: str
    description: str
    writers: tuple[str, ...]
    readers: tuple[str, ...]
    retention_ms: int | None = None  # None: infinite
    cleanup: Cleanup = "delete"
    partitions: int | None = None  # None: the settings' topic_partitions
    max_message_bytes: int | None = None
    extra: dict[str, str] = field(default_factory=dict)
    #: Kafka principals granted WRITE and READ by ``fieldcourt acl apply``. Internal topics
    #: leave them empty: the worker holds everything under the app id's prefix.
    write_by: tuple[str, ...] = ()
    read_by: tuple[str, ...] = ()

    def configs(self) -> dict[str, str]:
        conf = {
            "cleanup.policy": self.cleanup,
            "retention.ms": str(self.retention_ms if self.retention_ms is not None else -1),
        }
        if self.max_message_bytes is not None:
            conf["max.message.bytes"] = str(self.max_message_bytes)
        conf.update(self.extra)
        return conf


POLICE = ("police systems",)
#: The court's case management system, sole writer of the outcomes topic (contract §8).
COURT_REGISTRY = principal.COURT_REGISTRY
SECTIONS = {
    "p12": "P12 (flagrance)",
    "p20": "P20 (preliminary inquiries)",
    "f3": "F3 (narcotics, organised crime)",
    "p4": "P4 (minors)",
}

FIELD_TOPICS = ("field.arrests.v1", "field.seizures.v1", "field.dealing-addresses.v1")
DEADLETTER_TOPIC = "field.deadletter.v1"
ALERTS_TOPIC = "cojc.alerts.v1"
AUDIT_TOPIC = "audit.v1"


def internal_prefix(settings: Settings) -> str:
    """Internal topics belong to the Faust app id (SPEC 3)."""
    return f"{settings.app_id}-"


def internal_topic(settings: Settings, name: str) -> str:
    return f"{internal_prefix(settings)}{name}"


# Internal stream names (prefixed with the app id).
#: Internal streams whose consumer must see everything in one order (link graph, cases).
SINGLE_PARTITION_STREAMS = frozenset({"links", "matches"})
#: Faust tables and their partition count (None: the settings' topic_partitions). Their
#: changelogs are created by ``apply_topics`` before any worker joins: a changelog that Faust
#: creates while a worker joins is seen with no partitions until the next metadata refresh,
#: and every write to its table fails until then.
#: How long a changelog keeps a deleted key's tombstone (Kafka's default: one day). A local
#: store further behind its changelog than this (a worker off for longer, or a partition it
#: restored at start and is assigned much later, ``agents/restore.py``) would miss deletions,
#: purges and court erasures alike, when brought up to date from where it stood: start such
#: a worker on an empty local store.
CHANGELOG_TOMBSTONE_DAYS = 30.0
TABLES: dict[str, int | None] = {
    "dedupe": None,
    "subject-state": None,
    "subject-alerts": None,
    "address-state": None,
    "sector-state": None,
    "sector-alerts": None,
    "network": 1,
    "cases": 1,
}
INTERNAL_STREAMS: dict[str, str] = {
    "by-subject": "narcotics events on time at their source, keyed by subject reference (no names)",
    "by-address": "events on time at their source, keyed by address key (no names)",
    "by-sector": "narcotics events on time at their source, keyed by sector (no names)",
    "displacements": "subjects displaced between sectors, keyed by the destination sector",
    "links": "events that may link subjects, for the network graph (one partition)",
    "matches": "rule matches for the case manager (one partition)",
}


def _days(days: float) -> int:
    return round(days * DAY_MS)


def catalogue(settings: Settings) -> list[TopicSpec]:
    """Every topic of SPEC 3 plus fieldcourt's internal streams."""
    specs = [
        TopicSpec(
            name,
            f"inbound {name.split('.')[1]} published by police systems",
            writers=POLICE,
            readers=("fieldcourt ingest",),
            retention_ms=_days(settings.retention_field_days),
            max_message_bytes=MAX_MESSAGE_BYTES,
            # the broker stamps each record: end-to-end latency starts at the append, whatever
            # the clock of the police system that sent it
            extra={"message.timestamp.type": "LogAppendTime"},
            write_by=tuple(principal.police_principals(settings)),
            read_by=(principal.WORKER,),
        )
        for name in FIELD_TOPICS
    ]
    specs.append(
        TopicSpec(
            OUTCOMES_TOPIC,
            "court outcomes (dismissal, acquittal, conviction, closure) per case, optionally "
            "per subject, published by the court's case management system",
            writers=(COURT_REGISTRY,),
            readers=("fieldcourt case manager",),
            retention_ms=_days(settings.retention_field_days),
            max_message_bytes=MAX_MESSAGE_BYTES,
            write_by=(principal.COURT_REGISTRY,),
            read_by=(principal.WORKER,),
        )
    )
    specs.append(
        TopicSpec(
            DEADLETTER_TOPIC,
            "rejected input, unchanged, with error headers",
            writers=("fieldcourt ingest",),
            readers=("operators", "police integrators"),
            retention_ms=_days(settings.retention_deadletter_days),
            max_message_bytes=MAX_MESSAGE_BYTES,
            write_by=(principal.WORKER,),
            read_by=(principal.DLQ_ADMIN,),
        )
    )
    specs += [
        TopicSpec(
            case_topic(section),
            f"case events for section {label}; compacted by case id: a case's latest event stays "
            "while it is open, earlier ones at least the closed-case retention, and a closed "
            "case leaves by a tombstone that retention after its closure",
            writers=("fieldcourt case manager",),
            readers=(f"section {label} dashboards",),
            retention_ms=None,
            cleanup="compact",
            extra={"min.compaction.lag.ms": str(_days(settings.retention_closed_case_days))},
            write_by=(principal.WORKER,),
            read_by=(principal.SECTION_PRINCIPALS[section],),
        )
        for section, label in SECTIONS.items()
    ]
    specs.append(
        TopicSpec(
            ALERTS_TOPIC,
            "alerts for the sector coordination cells (COJC); keyed by sector, so kept by time",
            writers=("fieldcourt rules",),
            readers=("COJC of each sector",),
            retention_ms=_days(settings.retention_alerts_days),
            write_by=(principal.WORKER,),
            read_by=(principal.COJC,),
        )
    )
    specs.append(
        TopicSpec(
            AUDIT_TOPIC,
            "one record per disclosure, combination, consultation and erasure (no names)",
            writers=("fieldcourt",),
            readers=("audit readers",),
            retention_ms=_days(settings.retention_audit_days),
            # the sections and the COJC record their own consultations (``fieldcourt watch``)
            write_by=(principal.WORKER, *principal.SECTION_PRINCIPALS.values(), principal.COJC),
            read_by=(principal.AUDIT_READER,),
        )
    )
    specs += [
        TopicSpec(
            internal_topic(settings, name),
            description,
            writers=("fieldcourt",),
            readers=("fieldcourt",),
            retention_ms=_days(settings.retention_internal_days),
            partitions=1 if name in SINGLE_PARTITION_STREAMS else None,
        )
        for name, description in INTERNAL_STREAMS.items()
    ]
    specs += [
        TopicSpec(
            internal_topic(settings, f"{name}-changelog"),
            f"changelog of the {name} table",
            writers=("fieldcourt",),
            readers=("fieldcourt recovery",),
            cleanup="compact",
            partitions=partitions,
            extra={"delete.retention.ms": str(_days(CHANGELOG_TOMBSTONE_DAYS))},
        )
        for name, partitions in TABLES.items()
    ]
    return specs


@dataclass(frozen=True)
class TopicChange:
    topic: str
    action: Literal["created", "partitions", "configs", "unchanged"]
    detail: str = ""


class TopicError(FieldcourtError):
    """The broker refused to create, describe or change a topic; the message names each."""


def _refusal(what: str, topic: str, code: int, message: str | None) -> str:
    from aiokafka.errors import for_code

    return f"{what} {topic}: {for_code(code).__name__}: {message or 'no detail'}"


def _raise_refusals(refusals: list[str]) -> None:
    if refusals:
        raise TopicError("the broker refused:\n" + "\n".join(f"  {r}" for r in refusals))


async def apply_topics(
    settings: Settings, specs: list[TopicSpec], as_principal: str = principal.ADMIN
) -> list[TopicChange]:
    """Make the broker hold every topic of ``specs`` as declared; report each topic's change.
    The administrator creates the catalogue; a worker, its own internal topics.

    ``TopicError`` when the broker refuses a creation or a change (too high a replication
    factor for the cluster, an invalid config value, no authorisation, ...).
    """
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(
        **principal.client_options(settings, as_principal), request_timeout_ms=15000
    )
    try:
        await admin.start()
        existing = set(await admin.list_topics())
        changes: list[TopicChange] = []
        missing = [s for s in specs if s.name not in existing]
        if missing:
            created, raced = await _create(admin, settings, missing)
            changes += [TopicChange(name, "created") for name in created]
            existing |= raced  # checked below like any topic that was there
        present = [s for s in specs if s.name in existing]
        if present:
            changes += await _correct(admin, settings, present)
        return changes
    finally:
        await admin.close()


async def prepare_worker_topics(settings: Settings, as_principal: str) -> list[TopicChange]:
    """What a worker does before it joins: create its own internal topics, and check that the
    catalogue's other topics exist (the administrator creates them: ``topics apply``)."""
    from aiokafka.admin import AIOKafkaAdminClient

    prefix = internal_prefix(settings)
    specs = catalogue(settings)
    changes = await apply_topics(
        settings, [s for s in specs if s.name.startswith(prefix)], as_principal
    )
    admin = AIOKafkaAdminClient(**principal.client_options(settings, as_principal))
    try:
        await admin.start()
        visible = set(await admin.list_topics())  # the topics this principal may describe
    finally:
        await admin.close()
    absent = [s.name for s in specs if not s.name.startswith(prefix) and s.name not in visible]
    if absent:
        raise TopicError(
            f"topics missing or not granted to {principal.principal_of(settings, as_principal)}: "
            f"{', '.join(absent)}; run `fieldcourt topics apply` and `fieldcourt acl apply` "
            "(as the administrator) first"
        )
    return changes


async def _create(
    admin: Any, settings: Settings, specs: list[TopicSpec]
) -> tuple[list[str], set[str]]:
    """Create ``specs``: the names created, and those another client created meanwhile."""
    from aiokafka.admin import NewTopic
    from aiokafka.errors import TopicAlreadyExistsError

    response = await admin.create_topics(
        [
            NewTopic(
                s.name,
                s.partitions or settings.topic_partitions,
                settings.topic_replication,
                topic_configs=s.configs(),
            )
            for s in specs
        ]
    )
    created: list[str] = []
    raced: set[str] = set()
    refusals: list[str] = []
    for topic, code, *message in response.topic_errors:
        if code == 0:
            created.append(topic)
        elif code == TopicAlreadyExistsError.errno:  # another client created it since we listed
            raced.add(topic)
        else:
            refusals.append(_refusal("cannot create", topic, code, next(iter(message), None)))
    _raise_refusals(refusals)
    return created, raced


async def _correct(admin: Any, settings: Settings, specs: list[TopicSpec]) -> list[TopicChange]:
    """Add missing partitions and set differing configs of existing topics."""
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    described = await admin.describe_topics([s.name for s in specs])
    undescribed = [
        _refusal("cannot describe", t["topic"], t["error_code"], None)
        for t in described
        if t["error_code"]
    ]
    _raise_refusals(undescribed)
    partitions = {t["topic"]: len(t["partitions"]) for t in described}
    configs = await _current_configs(admin, [s.name for s in specs])
    changes: list[TopicChange] = []
    for spec in specs:
        want_parts = spec.partitions or settings.topic_partitions
        have_parts = partitions.get(spec.name, want_parts)
        grew = have_parts < want_parts and await _add_partitions(admin, spec.name, want_parts)
        if grew:
            changes.append(TopicChange(spec.name, "partitions", f"{have_parts}->{want_parts}"))
        diff = {k: v for k, v in spec.configs().items() if configs[spec.name].get(k) != v}
        if diff:
            # AlterConfigs replaces the topic's whole dynamic config: send all we declare.
            resource = ConfigResource(ConfigResourceType.TOPIC, spec.name, configs=spec.configs())
            refusals = [
                _refusal("cannot configure", name, code, message)
                for response in await admin.alter_configs([resource])
                for code, message, _type, name in response.resources
                if code
            ]
            _raise_refusals(refusals)
            changes.append(TopicChange(spec.name, "configs", ", ".join(sorted(diff))))
        elif not grew:
            changes.append(TopicChange(spec.name, "unchanged"))
    return changes


async def _add_partitions(admin: Any, topic: str, count: int, wait_s: float = 10.0) -> bool:
    """Grow ``topic`` to ``count`` partitions; False when it already had them. Right after
    partitions are added the broker may still describe the old count, so a second ``apply``
    can ask again and be refused: then wait until the description catches up (or raise)."""
    from aiokafka.admin.new_partitions import NewPartitions
    from aiokafka.errors import InvalidPartitionsError

    try:
        await admin.create_partitions({topic: NewPartitions(count)})  # raises when refused
    except InvalidPartitionsError:
        deadline = asyncio.get_running_loop().time() + wait_s
        while asyncio.get_running_loop().time() < deadline:
            (described,) = await admin.describe_topics([topic])
            if len(described["partitions"]) >= count:
                return False
            await asyncio.sleep(0.2)
        raise
    return True


async def _current_configs(admin: Any, names: list[str]) -> dict[str, dict[str, str]]:
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    responses = await admin.describe_configs(
        [ConfigResource(ConfigResourceType.TOPIC, n) for n in names]
    )
    result: dict[str, dict[str, str]] = {}
    refusals: list[str] = []
    for response in responses:
        for resource in response.resources:
            code, message, _type, name, entries = resource[:5]
            if code:
                refusals.append(_refusal("cannot describe the configs of", name, code, message))
            result[name] = {entry[0]: entry[1] for entry in entries}
    _raise_refusals(refusals)
    return result
