"""How far a consumer group is behind: what the demo and the benchmarks wait on."""

from __future__ import annotations

from fieldcourt.kafka_auth import ClientOptions
from fieldcourt.settings import Settings
from fieldcourt.topics import FIELD_TOPICS, INTERNAL_STREAMS, OUTCOMES_TOPIC, internal_topic


def consumed_topics(settings: Settings) -> list[str]:
    """Every topic a fieldcourt worker reads (changelogs aside)."""
    inbound = [*FIELD_TOPICS, OUTCOMES_TOPIC]
    return [*inbound, *(internal_topic(settings, name) for name in INTERNAL_STREAMS)]


async def group_lag(kafka: ClientOptions, group: str, topics: list[str]) -> int:
    """Records of ``topics`` the group has yet to process; a partition it has committed
    nothing on counts whole, so work not yet started is never mistaken for work done."""
    from aiokafka import AIOKafkaConsumer
    from aiokafka.admin import AIOKafkaAdminClient
    from aiokafka.structs import TopicPartition

    admin = AIOKafkaAdminClient(**kafka)
    consumer = AIOKafkaConsumer(**kafka)
    await admin.start()
    await consumer.start()
    try:
        partitions = [
            TopicPartition(described["topic"], part["partition"])
            for described in await admin.describe_topics(topics)
            for part in described["partitions"]
        ]
        committed = await admin.list_consumer_group_offsets(group)
        ends = await consumer.end_offsets(partitions)
        done = {tp: meta.offset for tp, meta in committed.items() if meta.offset >= 0}
        return int(sum(max(0, ends[tp] - done.get(tp, 0)) for tp in partitions))
    finally:
        await consumer.stop()
        await admin.close()
