"""Faust's Kafka transport with one fix: a partition the group never committed is read again
from its beginning whenever Faust seeks its partitions back to their committed offsets.

Faust fetches while a worker recovers its tables and drops what it fetched for the streams
(flow suspended, generation changed); it then seeks every stream partition back to its
committed offset (``Consumer.perform_seek``). aiokafka's ``seek_to_committed`` leaves a
partition without a committed offset (or committed at 0) where the fetcher left it, past the
dropped records: a worker restarted right after a crash, before its predecessor's first commit
on a partition, never processed that partition's records (the consumer group kept their lag;
faust-streaming issues #216 and #221 describe the same family of gaps). For such partitions
this consumer seeks to the beginning, which is what ``auto_offset_reset=earliest`` means.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import faust
from faust.transport.drivers import aiokafka as faust_kafka
from faust.types import TP


class RewindingConsumer(faust_kafka.Consumer):
    async def seek_to_committed(self) -> Mapping[TP, int]:
        committed: Mapping[TP, int] = await super().seek_to_committed()
        changelogs = self.app.tables.changelog_topics  # recovery positions those itself
        never = [tp for tp, offset in committed.items()
                 if not offset and tp.topic not in changelogs]  # fmt: skip
        if never:
            await self._thread.seek_to_beginning(*never)
        return committed


class RewindingTransport(faust_kafka.Transport):
    Consumer = RewindingConsumer


class FieldcourtApp(faust.App):
    """The Faust app, consuming through :class:`RewindingTransport`."""

    def _new_transport(self) -> Any:
        return RewindingTransport(self.conf.broker_consumer, self)
