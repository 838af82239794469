"""Reading what a run wrote: every record of the section, alert and dead-letter topics, held
to the in-memory pipeline's answer with nothing missing, extra or forked."""

from __future__ import annotations

import orjson
from aiokafka.structs import ConsumerRecord

from fieldcourt.settings import Settings
from fieldcourt.topics import ALERTS_TOPIC, DEADLETTER_TOPIC, internal_topic
from schemas.cases import Alert, CaseEvent
from schemas.codec import loads
from streams.cases.state import CaseState
from streams.state.keyspace import CASE
from tests.kafka import consume_until, run
from tests.scenario import Outcome, differences, outcome


def outcome_of(records: list[ConsumerRecord[bytes, bytes]]) -> Outcome:
    cases = [loads(CaseEvent, r.value) for r in records if r.topic.startswith("court.")]
    alerts = [loads(Alert, r.value) for r in records if r.topic == ALERTS_TOPIC]
    return outcome(cases, alerts)


def forked(first: bytes, record: ConsumerRecord[bytes, bytes]) -> str:
    """Two events under one ``(case_id, version)``: what differs between them, and where the
    second one is in its topic."""
    a, b = orjson.loads(first), orjson.loads(record.value)
    differ = {
        name: (a.get(name), b.get(name)) for name in sorted({*a, *b}) if a.get(name) != b.get(name)
    }
    return (
        f"case {b['case_id']} version {b['version']} forked "
        f"(second at {record.topic}[{record.partition}]@{record.offset}): {differ}"
    )


def assert_same_outcome(
    records: list[ConsumerRecord[bytes, bytes]], expected: Outcome, dead_letters: int = 0
) -> None:
    """Everything ``records`` hold against ``expected``: each difference fails, extra cases,
    alerts and dead letters as much as missing ones.

    Version numbers: each case's versions must run 1..n with no gap and no two different
    events under one number. ``n`` itself is not compared with the oracle's, on purpose: the
    subject, address and network stages race into the one matches topic, so a case may reach
    F3 directly or through P20 (one escalation more) depending on which match comes first;
    SPEC 7 holds the final state to the same answer, not the path."""
    found = differences(expected, outcome_of(records))
    assert found == [], "\n".join(map(str, found))  # a helper module: pytest shows no diff
    assert len([r for r in records if r.topic == DEADLETTER_TOPIC]) == dead_letters
    # one event per (case_id, version), versions from 1 with no gap: a consumer deduplicating
    # on the pair sees each case's whole history
    versions: dict[str, dict[int, bytes]] = {}
    for record in records:
        if record.topic.startswith("court."):
            event = orjson.loads(record.value)
            seen = versions.setdefault(event["case_id"], {})
            first = seen.setdefault(event["version"], record.value)
            assert first == record.value, forked(first, record)
    for case_id, seen in versions.items():
        assert sorted(seen) == list(range(1, len(seen) + 1)), case_id


def stored_versions(changelog: list[ConsumerRecord[bytes, bytes]]) -> dict[str, int | None]:
    """Each case's version as the cases changelog last holds it (``None``: deleted): what a
    worker taking the case stage over restores."""
    stored: dict[str, int | None] = {}
    for record in changelog:
        key = orjson.loads(record.key) if record.key else None
        if isinstance(key, str) and CASE.owns(key):
            value = None if record.value is None else orjson.loads(record.value)
            stored[CASE.parse(key)] = None if value is None else CaseState.stored_version(value)
    return stored


def published_versions(records: list[ConsumerRecord[bytes, bytes]]) -> dict[str, int]:
    """Each case's highest version on the section topics."""
    published: dict[str, int] = {}
    for record in records:
        if record.topic.startswith("court.") and record.value is not None:
            event = orjson.loads(record.value)
            published[event["case_id"]] = max(event["version"], published.get(event["case_id"], 0))
    return published


def state_differences(
    changelog: list[ConsumerRecord[bytes, bytes]], published: dict[str, int]
) -> list[str]:
    """Cases whose stored version is not the one last ``published``: a worker restoring that
    state would publish a second, different event under a number already out."""
    stored = stored_versions(changelog)
    return [
        f"{case_id}: stored at version {stored.get(case_id)}, published up to {version}"
        for case_id, version in sorted(published.items())
        if stored.get(case_id) != version
    ]


def assert_state_as_published(
    settings: Settings, records: list[ConsumerRecord[bytes, bytes]], timeout_s: float = 30
) -> None:
    """The cases changelog, read until it settles, holds each case at the version last
    published in ``records``."""
    published = published_versions(records)
    changelog = run(
        consume_until(
            settings,
            [internal_topic(settings, "cases-changelog")],
            lambda found: not state_differences(found, published),
            timeout_s=timeout_s,
        )
    )
    found = state_differences(changelog, published)
    assert found == [], "\n".join(found)
