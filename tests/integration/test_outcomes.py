"""Court outcomes on the real broker (contract §8): closures, acquittals, erasure, dead letters."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiokafka.structs import ConsumerRecord

from fieldcourt.faults import CRASH_EXIT
from fieldcourt.settings import Settings
from fieldcourt.topics import (
    ALERTS_TOPIC,
    AUDIT_TOPIC,
    DEADLETTER_TOPIC,
    OUTCOMES_TOPIC,
    SECTIONS,
    case_topic,
)
from schemas.audit import AuditRecord
from schemas.cases import CaseEvent
from schemas.codec import loads
from streams.cases import case_id_for
from streams.pipeline import Pipeline
from streams.pseudonym import Pseudonymiser
from tests.conftest import TEST_KEY
from tests.factories import make_person, raw_arrest, raw_outcome, raw_person, raw_seizure
from tests.kafka import WorkerProcess, consume_until, produce, run, worker_env
from tests.outputs import assert_same_outcome, outcome_of
from tests.scenario import ARRESTS, SEIZURES, differences, oracle, outcome

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

FIELDCOURT = Path(sys.executable).parent / "fieldcourt"
OUTPUTS = [*map(case_topic, SECTIONS), ALERTS_TOPIC, DEADLETTER_TOPIC]
Records = list[ConsumerRecord[bytes, bytes]]
Published = list[tuple[str, dict[str, Any]]]


@pytest.fixture
def kafka_broker(private_broker: str) -> str:
    return private_broker


def ref_of(index: int) -> str:
    return Pseudonymiser(TEST_KEY.encode()).ref(make_person(index))


def publish(settings: Settings, records: Published) -> None:
    wire = [(t, (r.get("event_id") or r["case_id"]).encode(), orjson.dumps(r)) for t, r in records]
    run(produce(settings, wire))


def reach(settings: Settings, expected: Pipeline, dead_letters: int) -> Records:
    """Every output record once they hold ``expected`` and its dead letters (and 3 s more)."""
    want = outcome(expected.case_events, expected.alerts)

    def done(found: Records) -> bool:
        letters = sum(1 for r in found if r.topic == DEADLETTER_TOPIC)
        return letters >= dead_letters and not differences(want, outcome_of(found))

    return run(consume_until(settings, OUTPUTS, done, timeout_s=120, settle_s=3))


def audit_records(settings: Settings, done: Callable[[list[AuditRecord]], bool]) -> Records:
    def parsed(found: Records) -> bool:
        return done([loads(AuditRecord, r.value) for r in found])

    return run(consume_until(settings, [AUDIT_TOPIC], parsed, timeout_s=60, settle_s=2))


def erased(records: list[AuditRecord]) -> list[AuditRecord]:
    return [r for r in records if r.action == "erase"]


def lookup(
    settings: Settings, purpose: str, *, stdin: str = "", identity_file: Path | None = None
) -> str:
    """``fieldcourt subject lookup`` run as a real process; its standard output."""
    argv = [str(FIELDCOURT), "subject", "lookup", "--purpose", purpose]
    if identity_file is not None:
        argv += ["--identity-file", str(identity_file)]
    env = worker_env(settings, FIELDCOURT_PSEUDONYM_KEY=TEST_KEY)
    done = subprocess.run(
        argv, input=stdin, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


@dataclass(frozen=True)
class Story:
    """Person 0 arrested twice in flagrance (a P12 case), persons 1 and 2 on a seizure with a
    weapon (F3 cases); then the court: person 0 acquitted, person 1's case convicted, an
    outcome for a case that does not exist and a broken one; then person 0's third arrest."""

    run_id: str
    start: dt.datetime

    def arrest(self, n: int, day: int) -> tuple[str, dict[str, Any]]:
        when = self.start + dt.timedelta(days=day)
        return ARRESTS, raw_arrest(
            event_id=f"{self.run_id}-arrest-{n}",
            person=raw_person(0),
            occurred_at=when,
            reported_at=when + dt.timedelta(hours=1),
        )

    @property
    def before(self) -> Published:
        when = self.start + dt.timedelta(days=1, hours=3)
        seizure = raw_seizure(
            event_id=f"{self.run_id}-seizure",
            occurred_at=when,
            reported_at=when,
            weapons=1,
            persons=[raw_person(1), raw_person(2)],
        )
        return [self.arrest(1, 0), self.arrest(2, 1), (SEIZURES, seizure)]

    @property
    def decided(self) -> str:
        return (self.start + dt.timedelta(days=15)).isoformat()

    @property
    def acquittal(self) -> dict[str, Any]:
        return raw_outcome(
            acquitted_case,
            outcome_id=f"{self.run_id}-acquittal",
            outcome="acquitted",
            subject_ref=acquitted,
            decided_at=self.decided,
        )

    @property
    def court(self) -> Published:
        """The valid outcomes (the last one for an unknown case), then a broken one."""
        conviction = raw_outcome(convicted_case, outcome="convicted", decided_at=self.decided)
        unknown = raw_outcome(case_id_for("subject", "S-AAAAAAAAAAAAAAAA"), decided_at=self.decided)
        broken = {**raw_outcome(convicted_case, decided_at=self.decided), "outcome": "pardoned"}
        return [(OUTCOMES_TOPIC, o) for o in (self.acquittal, conviction, unknown, broken)]

    @property
    def after(self) -> Published:
        """A third arrest within 30 days: without the erasure, a p20.recurrence."""
        return [self.arrest(3, 2)]


acquitted, convicted = ref_of(0), ref_of(1)
acquitted_case = case_id_for("subject", acquitted)
convicted_case = case_id_for("subject", convicted)


def story(settings: Settings) -> Story:
    start = dt.datetime.now(dt.UTC).replace(microsecond=0) - dt.timedelta(days=20)
    return Story(settings.app_id, start)


def test_outcomes_close_cases_erase_the_acquitted_and_dead_letter_the_unknown(
    app_settings: Settings, worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    told = story(app_settings)
    run_id, before, court, after = told.run_id, told.before, told.court, told.after
    acquittal, unknown, broken = court[0][1], court[2][1], court[3][1]

    proc = worker()
    publish(app_settings, before)
    reach(app_settings, oracle(before, TEST_KEY.encode()), dead_letters=0)

    publish(app_settings, court)
    expected = oracle([*before, *court[:3]], TEST_KEY.encode())
    assert [(c.outcome.case_id, r.reason) for c, r in expected.refused] == [
        (unknown["case_id"], "unknown_case")
    ]
    reach(app_settings, expected, dead_letters=2)
    # the erasure is on every stage's partitions before its record: what follows starts clean
    audit_records(app_settings, lambda found: len(erased(found)) == 1)

    publish(app_settings, after)
    everything = [*before, *court[:3], *after]
    expected = oracle(everything, TEST_KEY.encode())
    out = reach(app_settings, expected, dead_letters=2)
    assert_same_outcome(out, outcome(expected.case_events, expected.alerts), dead_letters=2)
    assert proc.proc is not None
    assert proc.proc.poll() is None  # no worker died of any of it

    cases = [loads(CaseEvent, r.value) for r in out if r.topic.startswith("court.")]
    assert all("p20.recurrence" not in e.rule_ids for e in cases)
    history = sorted((e.version, e.event_type) for e in cases if e.case_id == acquitted_case)
    assert history == [
        (1, "case_opened"),
        (2, "case_updated"),
        (3, "case_closed"),  # the acquittal left it without subjects
        (4, "case_opened"),  # reopened by the new arrest alone
    ]
    reopened = max((e for e in cases if e.case_id == acquitted_case), key=lambda e: e.version)
    assert reopened.evidence == [f"{run_id}-arrest-3"]
    closed = [e for e in cases if e.case_id == convicted_case and e.event_type == "case_closed"]
    assert len(closed) == 1
    assert [s.ref for s in closed[0].subjects] == [convicted]

    letters = {dict(r.headers)["error.reason"]: r for r in out if r.topic == DEADLETTER_TOPIC}
    assert sorted(letters) == [b"schema_violation", b"unknown_case"]
    for reason, raw in ((b"unknown_case", unknown), (b"schema_violation", broken)):
        letter = letters[reason]
        assert letter.value == orjson.dumps(raw)  # unchanged bytes
        assert letter.key == raw["case_id"].encode()
        assert dict(letter.headers)["source.topic"] == OUTCOMES_TOPIC.encode()

    # rights of access: the officer's lookups list the right cases, each one audited
    person = {**raw_person(0), "aliases": ["not used"]}
    identity = tmp_path / "identity.json"
    identity.write_bytes(orjson.dumps(person))
    shown = lookup(app_settings, f"{run_id}/DPO-1", identity_file=identity)
    assert f"{acquitted}: 1 case(s) hold this subject" in shown
    assert f"{acquitted_case}  P12  open    v4  subject case  roles seller" in shown
    second = raw_person(1)
    typed = f"\n{second['last_name']}\n{second['first_name']}\n{second['birth_date']}\n"
    shown = lookup(app_settings, f"{run_id}/DPO-2", stdin=typed)
    assert f"{convicted_case}  F3   closed  v2  subject case  roles seized_with" in shown
    assert acquitted_case not in shown
    shown = lookup(app_settings, f"{run_id}/DPO-3", stdin=f"{run_id}-nobody\n")
    assert "no case holds this subject" in shown

    audit = audit_records(app_settings, lambda found: len(erased(found)) == 1)
    records = [loads(AuditRecord, r.value) for r in audit]
    consulted = sorted((r.purpose, r.subjects) for r in records if r.action == "consult")
    nobody = Pseudonymiser(TEST_KEY.encode()).ref_of_key(f"{run_id}-nobody")
    assert consulted == [
        (f"{run_id}/DPO-1", [acquitted]),
        (f"{run_id}/DPO-2", [convicted]),
        (f"{run_id}/DPO-3", [nobody]),
    ]
    (erasure,) = erased(records)
    assert (erasure.case_id, erasure.subjects) == (acquitted_case, [acquitted])
    assert acquittal["outcome_id"] in (erasure.purpose or "")
    disclosed = sorted(
        (r.case_id, r.detail) for r in records if r.action == "disclose" and r.case_id
    )
    published = sorted(
        (e.case_id, f"{e.event_type} version {e.version} on {case_topic(e.section)}") for e in cases
    )
    assert disclosed == published
    people = [make_person(index) for index in (0, 1, 2)]
    names = {p.last_name.encode() for p in people} | {p.first_name.encode() for p in people}
    names |= {p.birth_date.isoformat().encode() for p in people if p.birth_date is not None}
    assert not [name for name in names for r in audit if name in r.value]


@pytest.mark.timeout(300)
def test_an_outcome_processed_again_after_a_crash_forks_nothing(
    app_settings: Settings, worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    """The worker dies once the acquittal's erasures, records and events are handed on, its
    offset not committed; its successor (empty store) applies the outcome again: the same
    bytes, one version each, and what follows still starts from nothing."""
    told = story(app_settings)
    crashing = worker(FIELDCOURT_CRASH_AT="after-outcome")
    publish(app_settings, told.before)
    reach(app_settings, oracle(told.before, TEST_KEY.encode()), dead_letters=0)
    acquittal = [(OUTCOMES_TOPIC, told.acquittal)]
    publish(app_settings, acquittal)
    assert crashing.proc is not None
    assert crashing.proc.wait(timeout=120) == CRASH_EXIT
    worker(FIELDCOURT_DATA_DIR=str(tmp_path / "successor"))
    audit_records(app_settings, lambda found: len(erased(found)) >= 1)
    publish(app_settings, told.after)
    expected = oracle([*told.before, *acquittal, *told.after], TEST_KEY.encode())
    out = reach(app_settings, expected, dead_letters=0)
    assert_same_outcome(out, outcome(expected.case_events, expected.alerts))
    cases = [loads(CaseEvent, r.value) for r in out if r.topic.startswith("court.")]
    assert all("p20.recurrence" not in e.rule_ids for e in cases)
    records = audit_records(app_settings, lambda found: len(erased(found)) >= 1)
    erasures = {r.value for r in records if loads(AuditRecord, r.value).action == "erase"}
    assert len(erasures) == 1  # written once, or again byte for byte
