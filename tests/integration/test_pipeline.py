"""The whole pipeline on the real broker: field topics in, section topics and alerts out."""

from __future__ import annotations

import datetime as dt
import re
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka.structs import ConsumerRecord

from fieldcourt.faults import CRASH_EXIT
from fieldcourt.kafka_auth import ADMIN, client_options
from fieldcourt.settings import Settings
from fieldcourt.topics import ALERTS_TOPIC, AUDIT_TOPIC, DEADLETTER_TOPIC, SECTIONS, case_topic
from schemas.audit import AuditRecord
from schemas.cases import Alert, CaseEvent
from schemas.codec import loads
from streams.pipeline import Pipeline
from streams.pseudonym import fold
from streams.state import AddressState, SectorState, SubjectState
from tests.conftest import TEST_KEY
from tests.factories import raw_arrest, raw_person
from tests.kafka import WorkerProcess, consume_until, produce, read_table, run
from tests.outputs import assert_same_outcome, assert_state_as_published, outcome_of
from tests.scenario import ARRESTS, differences, oracle, outcome, phases, scenario

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

OUTPUTS = [*map(case_topic, SECTIONS), ALERTS_TOPIC, DEADLETTER_TOPIC]


@pytest.fixture
def kafka_broker(private_broker: dict[str, Any]) -> dict[str, Any]:
    """A broker for each test alone: a worker reads the inbound topics from the beginning, and
    another scenario's history, earlier on the same field partitions, would be weeks ahead of
    this scenario's first events, which would then be late at their source and trigger
    nothing; the session's history would also eat the phases' time budget."""
    return private_broker


def publish(settings: Settings, records: list[tuple[str, dict[str, Any]]]) -> None:
    wire = [(t, r["event_id"].encode(), orjson.dumps(r)) for t, r in records]
    run(produce(settings, wire))


Records = list[ConsumerRecord[bytes, bytes]]


def reached(records: Records, expected: Pipeline) -> bool:
    """Every record the outputs hold is the expected answer, nothing missing or extra."""
    return not differences(outcome(expected.case_events, expected.alerts), outcome_of(records))


def collect(settings: Settings, expected: Pipeline, timeout_s: float = 120) -> Records:
    """Every record of the section, alert and dead-letter topics, once they hold the answer
    (and 3 s more, for what should not come)."""

    def answered(found: Records) -> bool:
        return reached(found, expected)

    return run(consume_until(settings, OUTPUTS, answered, timeout_s, settle_s=3))


def start_of_scenario() -> dt.datetime:
    return dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=40)


def assert_story(records: Records, expected: Pipeline, dead_letters: int = 0) -> None:
    """The outputs are the in-memory answer, record for record (tests/outputs.py), and the
    story's path is there."""
    assert_same_outcome(records, outcome(expected.case_events, expected.alerts), dead_letters)
    cases = [loads(CaseEvent, r.value) for r in records if r.topic.startswith("court.")]
    alerts = [loads(Alert, r.value) for r in records if r.topic == ALERTS_TOPIC]
    kinds = {(e.event_type, e.section, e.anchor.kind) for e in cases}
    # Whether the flagrant dealer's case passes through P20 on its way to F3 depends on whether
    # recurrence or the seizure reaches the case manager first (two agents race); the
    # in-memory oracle pins the full path, here the ends and the transfer must hold.
    assert ("case_opened", "P12", "subject") in kinds
    assert ("case_transferred", "P12", "subject") in kinds  # on the old section's topic
    assert ("case_escalated", "F3", "subject") in kinds
    assert ("case_opened", "P20", "address") in kinds
    assert ("case_opened", "F3", "network") in kinds
    assert ("case_opened", "P4", "subject") in kinds
    assert any(a.alert_type == "displacement" and a.sector == "rosa-parks" for a in alerts)


def play(
    settings: Settings, records: list[tuple[str, dict[str, Any]]], between: Callable[[], None]
) -> Records:
    """Publish phase by phase, calling ``between`` right after each publish and then waiting
    for the phase's outcome (the oracle of the prefix) before the next phase. An earlier
    phase must be reached too: a worker that stalls is a failure even if a later restart
    would catch up."""
    done: list[tuple[str, dict[str, Any]]] = []
    out: Records | None = None
    stages = phases(records)
    for number, phase in enumerate(stages, 1):
        done += phase
        publish(settings, phase)
        between()
        expected = oracle(done, TEST_KEY.encode())
        out = collect(settings, expected)
        if number < len(stages):  # the last phase is checked in detail by assert_story
            assert reached(out, expected), f"phase {number} of {len(stages)} not reached"
    assert out is not None
    return out


def personal_data(records: list[tuple[str, dict[str, Any]]]) -> set[bytes]:
    """Every name, alias and birth date the police events carried, as sent and as folded for
    an identity key (``ZELINDE``): neither spelling may leave ingest."""
    people = []
    for _, event in records:
        people += [event.get("person"), event.get("occupant"), *event.get("persons", [])]
    found: set[str] = set()
    for person in filter(None, people):
        words = [person["last_name"], person["first_name"], *person.get("aliases", [])]
        found |= {spelling for word in words for spelling in (word, fold(word))}
        if "birth_date" in person:
            found.add(person["birth_date"])
    return {secret.encode() for secret in found}


def named_garbage(run: str) -> tuple[str, dict[str, Any]]:
    """An arrest that breaks the schema with personal data everywhere: in a value of the wrong
    type, and as an unknown key. It must reach the dead-letter topic, unchanged, and nothing
    about it but its reason and the field paths may reach a header, a log or a metric."""
    person = raw_person(2, aliases=["Tintabule"])
    person[person["last_name"]] = person["first_name"]  # an unknown key that is a name
    person["birth_date"] = person["last_name"]  # a name where a date belongs
    return ARRESTS, raw_arrest(event_id=f"{run}-garbage", person=person)


async def everything_written(settings: Settings) -> list[ConsumerRecord[bytes, bytes]]:
    """Every record of every topic fieldcourt writes: internal, changelogs, outputs, DLQ."""
    from aiokafka.admin import AIOKafkaAdminClient

    admin = AIOKafkaAdminClient(**client_options(settings, ADMIN))
    await admin.start()
    try:
        topics = [
            t
            for t in await admin.list_topics()
            if t.startswith(f"{settings.app_id}-") or t in {*OUTPUTS, AUDIT_TOPIC}
        ]
    finally:
        await admin.close()
    return await consume_until(settings, topics, lambda _: False, timeout_s=8)


def assert_audited(outputs: Records, audit: Records) -> None:
    """One disclosure record per case event and alert published (none missing, none extra),
    one combination per match that changed a case; the run had no crash, so no replay."""
    records = [loads(AuditRecord, r.value) for r in audit]
    disclosed = sorted(
        (r.case_id, r.detail) for r in records if r.action == "disclose" and r.case_id
    )
    published = sorted(
        (event["case_id"], f"{event['event_type']} version {event['version']} on {r.topic}")
        for r in outputs
        if r.topic.startswith("court.")
        for event in [orjson.loads(r.value)]
    )
    assert disclosed == published
    alerts = sorted(
        r.detail.split()[2] for r in records if r.action == "disclose" and not r.case_id
    )
    assert alerts == sorted(
        orjson.loads(r.value)["alert_id"] for r in outputs if r.topic == ALERTS_TOPIC
    )
    combined = {r.case_id for r in records if r.action == "combine"}
    assert combined <= {case_id for case_id, _ in published}
    assert all(r.actor.startswith("fieldcourt/") for r in records if r.action == "combine")


def test_scenario_yields_the_expected_cases_and_alerts_and_no_name_leaves_ingest(
    app_settings: Settings, worker: Callable[..., WorkerProcess]
) -> None:
    records = scenario(app_settings.app_id, start_of_scenario())
    garbage = named_garbage(app_settings.app_id)
    proc = worker()
    publish(app_settings, [garbage])
    out = play(app_settings, records, lambda: None)
    assert_story(out, oracle(records, TEST_KEY.encode()), dead_letters=1)

    secrets = personal_data([*records, garbage])
    assert len(secrets) > 20
    written = run(everything_written(app_settings))
    assert_audited(out, [r for r in written if r.topic == AUDIT_TOPIC])
    topics = {r.topic for r in written}
    assert any(t.endswith("-changelog") for t in topics)  # tables were scanned too
    rejected = [r for r in written if r.topic == DEADLETTER_TOPIC]
    assert [r.value for r in rejected] == [orjson.dumps(garbage[1])]  # unchanged, by design
    assert dict(rejected[0].headers)["error.reason"] == b"schema_violation"
    for record in written:
        headers = b"".join(name.encode() + value for name, value in record.headers)
        # the dead-letter value is the input itself (SPEC 3); everything else is ours
        value = b"" if record.topic == DEADLETTER_TOPIC else (record.value or b"")
        blob = (record.key or b"") + value + headers
        leaked = [s for s in secrets if s in blob]
        assert not leaked, (record.topic, leaked)
    status, metrics = proc.http_get("/metrics")
    assert status == 200
    assert "fieldcourt_deadlettered_total" in metrics
    for stage in ("dedupe", "subject", "cases"):  # every stage's agent times its batches
        assert f'fieldcourt_batch_seconds_total{{phase="flush",stage="{stage}"}}' in metrics
    for where, text in (("log", proc.output()), ("metrics", metrics)):
        assert not [s for s in secrets if s in text.encode()], where


@pytest.mark.timeout(600)
def test_sigkill_at_three_points_loses_nothing_and_never_forks_a_version(
    app_settings: Settings, worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    records = scenario(app_settings.app_id, start_of_scenario())
    workers = [worker()]

    def crash_and_restart() -> None:
        workers[-1].stop(signal.SIGKILL)  # mid-stream: whatever was in flight is cut
        # Restarted at once, while the dead member is still in the group, before its first
        # commit on some partitions, and on an empty local store: every table must come back
        # from its changelog and every uncommitted record must be read again. The second
        # successor leaves that to Faust's own recovery; the others restore in bulk first.
        restore = "false" if len(workers) == 2 else "true"
        workers.append(
            worker(
                FIELDCOURT_DATA_DIR=str(tmp_path / f"store{len(workers)}"),
                FIELDCOURT_RESTORE_ON_START=restore,
            )
        )

    out = play(app_settings, records, crash_and_restart)
    assert len(workers) == 4
    expected = oracle(records, TEST_KEY.encode())
    assert_story(out, expected)
    # The last worker started on an empty store: its tables came back from the changelogs.
    assert workers[-1].stop() == 0
    bulk = [re.search(r"restored ([\d,]+) changelog records in", w.output()) for w in workers]
    assert bulk[2] is None  # the second successor was told to leave it to Faust
    assert bulk[3] is not None  # the last one restored in bulk what it compares below
    assert int(bulk[3].group(1).replace(",", "")) > 0
    moments = sorted(dt.datetime.fromisoformat(raw["occurred_at"]) for _, raw in records)
    assert_same_state(tmp_path / "store3", app_settings.app_id, expected, moments)


def without_watermarks(store: dict[str, Any]) -> dict[str, Any]:
    """A state store less what it heard of the feeds' progress: the broker keeps it per
    partition, the in-memory pipeline in one."""
    return {key: value for key, value in store.items() if not key.startswith("__")}


def assert_same_state(
    data_dir: Path, app_id: str, expected: Pipeline, moments: list[dt.datetime]
) -> None:
    """A recovered worker's state tables hold what the in-memory pipeline holds, and answer
    the rules' queries alike at each of ``moments``: a subject's last 30 days, an address's
    30 days either side, a sector's trailing day and the 7 days before it."""
    tables = {"subject": "subject-state", "address": "address-state", "sector": "sector-state"}
    recovered = {
        name: without_watermarks(read_table(data_dir, app_id, table))
        for name, table in tables.items()
    }
    for name, content in recovered.items():
        assert content, name
        assert content == without_watermarks(expected.stores[name]), name
    subjects, addresses = SubjectState(recovered["subject"]), AddressState(recovered["address"])
    sectors = SectorState(recovered["sector"])
    want_subjects = SubjectState(expected.stores["subject"])
    want_addresses = AddressState(expected.stores["address"])
    want_sectors = SectorState(expected.stores["sector"])
    month = dt.timedelta(days=30)
    refs, keys = ({k.split("|", 1)[0] for k in recovered[n]} for n in ("subject", "address"))
    assert refs
    assert keys
    for t in moments:
        for ref in refs:
            assert subjects.events(ref, t - month, t) == want_subjects.events(ref, t - month, t)
        for key in keys:
            assert addresses.around(key, t, 30) == want_addresses.around(key, t, 30)
        for sector in ("les-halles", "rosa-parks", "stalingrad"):
            assert sectors.trailing(sector, t) == want_sectors.trailing(sector, t)


#: Where each crash lands in the scenario: late enough that state and outputs exist, early
#: enough that most of the input is still to come.
CRASHES = [
    ("after-outputs", 25),
    ("between-outputs", 3),
    ("changelog-unacked", 30),
    ("rebalance", 2),  # the first is the worker's own joining; the second, another's
]


@pytest.mark.timeout(600)
@pytest.mark.parametrize(("point", "occurrence"), CRASHES)
def test_a_crash_at_each_named_point_loses_nothing_and_forks_no_version(
    app_settings: Settings,
    worker: Callable[..., WorkerProcess],
    tmp_path: Path,
    point: str,
    occurrence: int,
) -> None:
    """The worker exits at a point the test names (fieldcourt/faults.py), not wherever a
    signal happens to land; a successor on an empty store must still give the answer."""
    scenario_records = scenario(app_settings.app_id, start_of_scenario())
    expected = oracle(scenario_records, TEST_KEY.encode())
    crashing = worker(FIELDCOURT_CRASH_AT=f"{point}:{occurrence}")
    publish(app_settings, scenario_records)
    successor = {"FIELDCOURT_DATA_DIR": str(tmp_path / "successor")}
    if point == "rebalance":
        worker(**successor)  # its joining is the rebalance the first worker dies in
    assert crashing.proc is not None
    assert crashing.proc.wait(timeout=120) == CRASH_EXIT
    assert f"crash injected at {point} (occurrence {occurrence})" in crashing.output()
    if point != "rebalance":
        worker(**successor)
    # published at once, so the path a case takes may differ from the phased story's; its
    # final state, the alerts, and one event per (case_id, version) may not
    records = collect(app_settings, expected)
    assert_same_outcome(records, outcome(expected.case_events, expected.alerts))
    assert_state_as_published(app_settings, records)
