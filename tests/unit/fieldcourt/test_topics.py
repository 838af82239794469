"""Growing a topic while the broker's description of it lags behind (no broker can be made
to lag on demand, so the admin client is a stand-in that behaves as Kafka's did)."""

from __future__ import annotations

from typing import Any

import pytest
from aiokafka.errors import InvalidPartitionsError

from fieldcourt.topics import _add_partitions


class LaggingAdmin:
    """Refuses to add partitions the topic already has; describes the old count ``lag``
    more times first."""

    def __init__(self, has: int, lag: int) -> None:
        self.has, self.lag = has, lag
        self.created: list[int] = []

    async def create_partitions(self, request: dict[str, Any]) -> None:
        (wanted,) = (p.total_count for p in request.values())
        if wanted <= self.has:
            raise InvalidPartitionsError(f"Topic currently has {self.has} partitions")
        self.created.append(wanted)
        self.has = wanted

    async def describe_topics(self, topics: list[str]) -> list[dict[str, Any]]:
        shown = 2 if self.lag > 0 else self.has
        self.lag -= 1
        return [{"topic": topics[0], "partitions": list(range(shown)), "error_code": 0}]


async def test_partitions_added_now_are_reported() -> None:
    admin = LaggingAdmin(has=2, lag=0)
    assert await _add_partitions(admin, "t", 4) is True
    assert admin.created == [4]


async def test_a_refusal_for_partitions_already_there_waits_for_the_description() -> None:
    admin = LaggingAdmin(has=4, lag=3)  # added by the previous apply, still described as 2
    assert await _add_partitions(admin, "t", 4) is False
    assert admin.created == []


async def test_a_refusal_that_does_not_catch_up_is_raised() -> None:
    admin = LaggingAdmin(has=4, lag=1_000)
    with pytest.raises(InvalidPartitionsError):
        await _add_partitions(admin, "t", 4, wait_s=0.5)


def test_each_data_category_keeps_its_own_declared_retention() -> None:
    from fieldcourt.settings import load_settings
    from fieldcourt.topics import AUDIT_TOPIC, DAY_MS, DEADLETTER_TOPIC, FIELD_TOPICS, catalogue

    settings = load_settings(
        app_id="fc-ret",
        retention_field_days=7,
        retention_deadletter_days=14,
        retention_internal_days=3,
        retention_audit_days=3650,
    )
    kept = {spec.name: spec.configs()["retention.ms"] for spec in catalogue(settings)}
    assert {kept[name] for name in FIELD_TOPICS} == {str(7 * DAY_MS)}
    assert kept[DEADLETTER_TOPIC] == str(14 * DAY_MS)
    assert kept[AUDIT_TOPIC] == str(3650 * DAY_MS)
    assert kept["fc-ret-by-subject"] == str(3 * DAY_MS)
    defaults = {spec.name: spec.configs()["retention.ms"] for spec in catalogue(load_settings())}
    assert {defaults[name] for name in (*FIELD_TOPICS, DEADLETTER_TOPIC)} == {str(30 * DAY_MS)}


def test_case_topics_are_compacted_by_case_id_and_alerts_kept_by_time() -> None:
    """A case's latest event stays while it is open; earlier ones at least the closed-case
    retention; alerts (keyed by sector) for their own retention."""
    from fieldcourt.settings import load_settings
    from fieldcourt.topics import ALERTS_TOPIC, DAY_MS, SECTIONS, case_topic, catalogue

    settings = load_settings(retention_closed_case_days=200, retention_alerts_days=90)
    configs = {spec.name: spec.configs() for spec in catalogue(settings)}
    for section in SECTIONS:
        kept = configs[case_topic(section)]
        assert kept["cleanup.policy"] == "compact"
        assert kept["min.compaction.lag.ms"] == str(200 * DAY_MS)
    assert configs[ALERTS_TOPIC]["cleanup.policy"] == "delete"
    assert configs[ALERTS_TOPIC]["retention.ms"] == str(90 * DAY_MS)
