"""The topic catalogue (SPEC 3): every topic fieldcourt reads or writes, declared once.

``apply_topics`` makes the broker match it idempotently: it creates what is missing, adds
partitions where there are too few and sets configs that differ; a second run changes nothing.
Faust's own changelog topics are created by Faust from the table definitions.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

from fieldcourt.settings import Settings

DAY_MS = 24 * 3600 * 1000
MAX_MESSAGE_BYTES = 16 * 1024 * 1024

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
SECTIONS = {"p12": "P12 (flagrance)", "p20": "P20 (preliminary inquiries)",
            "f3": "F3 (narcotics, organised crime)", "p4": "P4 (minors)"}  # fmt: skip

FIELD_TOPICS = ("field.arrests.v1", "field.seizures.v1", "field.dealing-addresses.v1")
DEADLETTER_TOPIC = "field.deadletter.v1"
ALERTS_TOPIC = "cojc.alerts.v1"


def case_topic(section: str) -> str:
    return f"court.{section.lower()}.cases.v1"


def internal_topic(settings: Settings, name: str) -> str:
    """Internal topics belong to the Faust app id (SPEC 3)."""
    return f"{settings.app_id}-{name}"


# Internal stream names (prefixed with the app id).
VALID_EVENTS = "events-valid"
#: Internal streams whose consumer must see everything in one order (link graph, cases).
SINGLE_PARTITION_STREAMS = frozenset({"links", "matches"})
#: Faust tables and their partition count (None: the settings' topic_partitions). Their
#: changelogs are created by ``apply_topics`` before any worker joins: a changelog that Faust
#: creates while a worker joins is seen with no partitions until the next metadata refresh,
#: and every write to its table fails until then.
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
    VALID_EVENTS: "validated, pseudonymised events from ingest to correlation (no names)",
    "by-subject": "narcotics events re-keyed by subject reference",
    "by-address": "events re-keyed by address key",
    "by-sector": "narcotics events re-keyed by sector",
    "displacements": "subjects displaced between sectors, keyed by the destination sector",
    "links": "events that may link subjects, for the network graph (one partition)",
    "matches": "rule matches for the case manager (one partition)",
}


def catalogue(settings: Settings) -> list[TopicSpec]:
    """Every topic of SPEC 3 plus fieldcourt's internal streams."""
    specs = [
        TopicSpec(
            name, f"inbound {name.split('.')[1]} published by police systems",
            writers=POLICE, readers=("fieldcourt ingest",),
            retention_ms=365 * DAY_MS, max_message_bytes=MAX_MESSAGE_BYTES,
            # the broker stamps each record: end-to-end latency starts at the append, whatever
            # the clock of the police system that sent it
            extra={"message.timestamp.type": "LogAppendTime"},
        )
        for name in FIELD_TOPICS
    ]  # fmt: skip
    specs.append(
        TopicSpec(
            DEADLETTER_TOPIC, "rejected input, unchanged, with error headers",
            writers=("fieldcourt ingest",), readers=("operators", "police integrators"),
            retention_ms=30 * DAY_MS, max_message_bytes=MAX_MESSAGE_BYTES,
        )
    )  # fmt: skip
    specs += [
        TopicSpec(
            case_topic(section), f"case events for section {label}",
            writers=("fieldcourt case manager",), readers=(f"section {label} dashboards",),
            retention_ms=None,
        )
        for section, label in SECTIONS.items()
    ]  # fmt: skip
    specs.append(
        TopicSpec(
            ALERTS_TOPIC, "alerts for the sector coordination cells (COJC)",
            writers=("fieldcourt rules",), readers=("COJC of each sector",), retention_ms=None,
        )
    )  # fmt: skip
    specs += [
        TopicSpec(
            internal_topic(settings, name), description,
            writers=("fieldcourt",), readers=("fieldcourt",), retention_ms=30 * DAY_MS,
            partitions=1 if name in SINGLE_PARTITION_STREAMS else None,
        )
        for name, description in INTERNAL_STREAMS.items()
    ]  # fmt: skip
    specs += [
        TopicSpec(
            internal_topic(settings, f"{name}-changelog"), f"changelog of the {name} table",
            writers=("fieldcourt",), readers=("fieldcourt recovery",), cleanup="compact",
            partitions=partitions,
        )
        for name, partitions in TABLES.items()
    ]  # fmt: skip
    return specs


@dataclass(frozen=True)
class TopicChange:
    topic: str
    action: Literal["created", "partitions", "configs", "unchanged"]
    detail: str = ""


async def apply_topics(settings: Settings, specs: list[TopicSpec]) -> list[TopicChange]:
    """Make the broker hold every topic of ``specs`` as declared; report each topic's change."""
    from aiokafka.admin import AIOKafkaAdminClient, NewTopic
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
    from aiokafka.admin.new_partitions import NewPartitions

    admin = AIOKafkaAdminClient(bootstrap_servers=settings.broker, request_timeout_ms=15000)
    await admin.start()
    try:
        existing = set(await admin.list_topics())
        described = {
            t["topic"]: len(t["partitions"])
            for t in await admin.describe_topics([s.name for s in specs if s.name in existing])
        }
        changes: list[TopicChange] = []
        missing = [s for s in specs if s.name not in existing]
        if missing:
            await admin.create_topics(
                [
                    NewTopic(
                        s.name,
                        s.partitions or settings.topic_partitions,
                        settings.topic_replication,
                        topic_configs=s.configs(),
                    )
                    for s in missing
                ]
            )
            changes += [TopicChange(s.name, "created") for s in missing]
        present = [s for s in specs if s.name in existing]
        configs = await _current_configs(admin, [s.name for s in present]) if present else {}
        for spec in present:
            want_parts = spec.partitions or settings.topic_partitions
            have_parts = described.get(spec.name, want_parts)
            if have_parts < want_parts:
                await admin.create_partitions({spec.name: NewPartitions(want_parts)})
                changes.append(TopicChange(spec.name, "partitions", f"{have_parts}->{want_parts}"))
            diff = {k: v for k, v in spec.configs().items() if configs[spec.name].get(k) != v}
            if diff:
                # AlterConfigs replaces the topic's whole dynamic config: send all we declare.
                resource = ConfigResource(
                    ConfigResourceType.TOPIC, spec.name, configs=spec.configs()
                )
                await admin.alter_configs([resource])
                changes.append(TopicChange(spec.name, "configs", ", ".join(sorted(diff))))
            elif have_parts >= want_parts:
                changes.append(TopicChange(spec.name, "unchanged"))
        return changes
    finally:
        await admin.close()


async def _current_configs(admin: object, names: list[str]) -> dict[str, dict[str, str]]:
    from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType

    responses = await admin.describe_configs(  # type: ignore[attr-defined]
        [ConfigResource(ConfigResourceType.TOPIC, n) for n in names]
    )
    result: dict[str, dict[str, str]] = {}
    for response in responses:
        for resource in response.resources:
            _code, _msg, _type, name, entries = resource[:5]
            result[name] = {entry[0]: entry[1] for entry in entries}
    return result
