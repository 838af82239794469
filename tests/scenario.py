"""A scripted scenario that touches every subject, address and network rule, and its oracle.

The oracle is the in-memory ``Pipeline`` run on the same events: the Kafka topology must reach
the same final cases and alerts, whatever order its partitions interleave in.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from schemas.cases import Alert, CaseEvent
from schemas.codec import dumps_obj, loads
from schemas.field import FIELD_MODELS
from schemas.outcomes import OUTCOMES_TOPIC, OutcomeCommand
from streams.enrich import Enricher
from streams.eventtime import feed_name
from streams.geofence import load_sectors
from streams.ingest import Accepted, outcome_command, parse_outcome
from streams.partitioning import partition_of
from streams.pipeline import Pipeline
from streams.pseudonym import Pseudonymiser
from tests.factories import (
    LES_HALLES,
    ROSA_PARKS,
    STALINGRAD,
    raw_arrest,
    raw_dealing_address,
    raw_person,
    raw_seizure,
)

ARRESTS, SEIZURES, ADDRESSES = "field.arrests.v1", "field.seizures.v1", "field.dealing-addresses.v1"


def scenario(run: str, start: dt.datetime) -> list[tuple[str, dict[str, Any]]]:
    """Events of one run, in event-time order; people get run-unique ``person_id``s."""

    def who(index: int, name: str, **kw: Any) -> dict[str, Any]:
        return raw_person(index, person_id=f"{run}-{name}", **kw)

    x, y, z, w, v, o = (who(i, n) for i, n in enumerate("XYZWVO"))
    minor = who(6, "M", birth_date=(start - dt.timedelta(days=16 * 365)).date())

    def at(days: float) -> str:
        return (start + dt.timedelta(days=days)).isoformat()

    def ev(kind: str, n: int) -> str:
        return f"{run}-{kind}{n}"

    # run-unique streets, so that other runs on the same broker never share an address key
    halles = {**LES_HALLES, "address": f"4 rue Berger-{run} 75001 Paris"}
    rosa = {**ROSA_PARKS, "address": f"12 rue curial-{run}, 75019 PARIS"}
    curial = {**ROSA_PARKS, "address": f"12, Rue Curial-{run} 75019 Paris"}
    lescot = {**LES_HALLES, "address": f"7 rue Pierre Lescot-{run} 75001 Paris"}
    return [
        (
            ARRESTS,
            raw_arrest(
                event_id=ev("a", 1),
                occurred_at=at(0),
                reported_at=at(0.1),
                person=x,
                offense="trafficking",
                flagrant=True,
                location=halles,
            ),
        ),
        (
            ARRESTS,
            raw_arrest(
                event_id=ev("a", 2),
                occurred_at=at(5),
                reported_at=at(5.1),
                person=x,
                offense="possession",
                flagrant=False,
                location=halles,
            ),
        ),
        (
            ARRESTS,
            raw_arrest(
                event_id=ev("a", 3),
                occurred_at=at(12),
                reported_at=at(12.1),
                person=x,
                offense="use",
                flagrant=False,
                location=halles,
            ),
        ),
        (
            SEIZURES,
            raw_seizure(
                event_id=ev("s", 1),
                occurred_at=at(14),
                reported_at=at(14.2),
                persons=[x, y, z, w],
                substance="crack",
                quantity_g=62.0,
                cash_eur=800.0,
                operation_ref=f"{run}-OP",
                location={**STALINGRAD, "address": f"3 bd Villette-{run}"},
            ),
        ),
        (
            ADDRESSES,
            raw_dealing_address(
                event_id=ev("d", 1),
                occurred_at=at(20),
                reported_at=at(20.5),
                occupant=o,
                location=curial,
            ),
        ),
        (
            ARRESTS,
            raw_arrest(
                event_id=ev("a", 4),
                occurred_at=at(21),
                reported_at=at(21.1),
                person=v,
                offense="trafficking",
                flagrant=False,
                location=rosa,
            ),
        ),
        (
            ARRESTS,
            raw_arrest(
                event_id=ev("a", 5),
                occurred_at=at(22),
                reported_at=at(22.1),
                person=x,
                offense="trafficking",
                flagrant=False,
                location=rosa,
            ),
        ),
        (
            ARRESTS,
            raw_arrest(
                event_id=ev("a", 6),
                occurred_at=at(23),
                reported_at=at(23.1),
                person=minor,
                offense="possession",
                flagrant=True,
                location=lescot,
            ),
        ),
    ]


def phases(records: list[tuple[str, dict[str, Any]]]) -> list[list[tuple[str, dict[str, Any]]]]:
    """The scenario in phases of at most 5 days of event time.

    Within a phase any arrival order stays inside the 7-day lateness bound, so publishing a
    phase at once and waiting for its outcome before the next is what a live feed looks like.
    """
    return [records[:2], records[2:4], records[4:]]


def oracle(records: list[tuple[str, dict[str, Any]]], key: bytes, partitions: int = 4) -> Pipeline:
    """The in-memory pipeline's answer for ``records`` published in this order with their
    ``event_id`` as key: each lands on the partition Kafka's default partitioner picks, which
    is the feed its lateness is judged on. Court outcomes (keyed by ``case_id``) are settled
    in their place in the order."""
    enricher = Enricher(Pseudonymiser(key), load_sectors(None))
    pipeline = Pipeline()
    for topic, raw in records:
        if topic == OUTCOMES_TOPIC:
            pipeline.settle(outcome_command_of(raw))
            continue
        event = enricher.enrich(loads(FIELD_MODELS[topic], dumps_obj(raw)))
        pipeline.ingest(feed_name(topic, partition_of(event.event_id, partitions)), event)
    return pipeline


def outcome_command_of(raw: dict[str, Any]) -> OutcomeCommand:
    """A valid court outcome as ingest hands it to the case manager."""
    key, value = raw["case_id"].encode(), dumps_obj(raw)
    accepted = parse_outcome(key, value, dt.datetime.now(dt.UTC))
    assert isinstance(accepted, Accepted), accepted
    return outcome_command(accepted, (OUTCOMES_TOPIC, 0, 0), (key, value))


def last_versions(events: list[CaseEvent]) -> dict[str, CaseEvent]:
    """Each case's latest version (a transfer, on the old section's topic, is not one)."""
    last: dict[str, CaseEvent] = {}
    for event in events:
        if event.event_type != "case_transferred":
            current = last.get(event.case_id)
            if current is None or event.version > current.version:
                last[event.case_id] = event
    return last


def final_cases(events: list[CaseEvent]) -> dict[str, tuple[Any, ...]]:
    """Each case's last word: section, merged, rules, subjects, addresses, evidence, closed
    (no versions)."""
    last = last_versions(events)
    return {
        case_id: (
            e.section,
            e.event_type == "case_merged",
            tuple(sorted(e.rule_ids)),
            tuple(sorted((s.ref, tuple(sorted(s.roles))) for s in e.subjects)),
            tuple(sorted(e.addresses)),
            tuple(sorted(e.evidence)),
            e.event_type == "case_closed",
        )
        for case_id, e in last.items()
    }


@dataclass(frozen=True)
class Outcome:
    """What SPEC 7 holds the same whatever the schedule: each case's final state (network
    cases by what they hold, not by id: which one survives a merge may follow arrival order),
    and the alert ids (surges apart: a surge is judged on what was processed when its last
    event was, so another schedule may raise more of them, never fewer, see ``compare``)."""

    cases: dict[str, tuple[Any, ...]]
    networks: frozenset[tuple[Any, ...]]
    alerts: frozenset[str]
    surges: frozenset[str]


def outcome(case_events: list[CaseEvent], alerts: list[Alert]) -> Outcome:
    final = final_cases(case_events)
    networks = {e.case_id for e in case_events if e.anchor.kind == "network"}
    return Outcome(
        cases={k: v for k, v in final.items() if k not in networks},
        # a merged network's content lives on in the survivor: the survivors say it all
        networks=frozenset(v for k, v in final.items() if k in networks and not v[1]),
        alerts=frozenset(a.alert_id for a in alerts if a.alert_type != "surge"),
        surges=frozenset(a.alert_id for a in alerts if a.alert_type == "surge"),
    )


def differences(expected: Outcome, got: Outcome) -> list[str]:
    """Everything that differs; a surge of the event-time-order run (the oracle) missing from
    ``got`` is a difference, an extra one is not (SPEC 6: only ever raised on fewer events)."""
    found = []
    for case_id in sorted(expected.cases.keys() | got.cases.keys()):
        want, have = expected.cases.get(case_id), got.cases.get(case_id)
        if want != have:
            found.append(f"case {case_id}: expected {want}, got {have}")
    for network in sorted(expected.networks ^ got.networks, key=repr):
        side = "missing" if network in expected.networks else "extra"
        found.append(f"{side} network case {network}")
    for alert_id in sorted(expected.alerts ^ got.alerts):
        found.append(f"{'missing' if alert_id in expected.alerts else 'extra'} alert {alert_id}")
    found += [f"missing surge {a}" for a in sorted(expected.surges - got.surges)]
    return found
