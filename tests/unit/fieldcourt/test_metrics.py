"""The metrics container: names, types and labels as Prometheus expects, and what recording does."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest
import yaml
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.utils import floatToGoString

from fieldcourt.metrics import Metrics
from fieldcourt.settings import PROJECT_ROOT
from schemas.cases import Anchor, CaseEvent, CaseSubject

#: name (as exposed) -> (type, label names)
EXPECTED: dict[str, tuple[str, tuple[str, ...]]] = {
    "fieldcourt_events_consumed_total": ("counter", ("topic",)),
    "fieldcourt_events_accepted_total": ("counter", ("topic", "kind")),
    "fieldcourt_deadlettered_total": ("counter", ("reason",)),
    "fieldcourt_duplicates_dropped_total": ("counter", ("topic",)),
    "fieldcourt_sector_last_event_timestamp_seconds": ("gauge", ("sector",)),
    "fieldcourt_enrichment_duration_seconds": ("histogram", ()),
    "fieldcourt_rule_evaluation_duration_seconds": ("histogram", ("stage",)),
    "fieldcourt_case_events_total": ("counter", ("event_type", "section", "rule")),
    "fieldcourt_case_escalations_total": ("counter", ("from_section", "to_section", "rule")),
    "fieldcourt_case_latency_from_append_seconds": ("histogram", ()),
    "fieldcourt_case_latency_from_occurrence_seconds": ("histogram", ()),
    "fieldcourt_alerts_total": ("counter", ("alert_type", "sector")),
    "fieldcourt_state_entries": ("gauge", ("table",)),
    "fieldcourt_state_purged_total": ("counter", ("table",)),
    "fieldcourt_late_events_total": ("counter", ("topic",)),
    "fieldcourt_stage_latency_seconds": ("histogram", ("stage",)),
    "fieldcourt_last_processed_timestamp_seconds": ("gauge", ("stage",)),
    "fieldcourt_batch_seconds_total": ("counter", ("stage", "phase")),
    "fieldcourt_consumer_lag_records": ("gauge", ("topic", "partition")),
    "fieldcourt_partitions_rewound_total": ("counter", ("topic",)),
    "fieldcourt_rebalances_total": ("counter", ()),
    "fieldcourt_gc_full_pass_seconds": ("histogram", ()),
    "fieldcourt_gc_full_pass_freed_total": ("counter", ()),
}
BASE_UNITS = ("_seconds", "_total", "_records", "_entries", "_bytes")
#: Where the fixture's wall clock starts: 2026-04-15 08:00 UTC.
NOW = 1_776_240_000.0


class FakeClock:
    """Seconds that move only when a test says so."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock(NOW)


@pytest.fixture
def timer() -> FakeClock:
    return FakeClock(100.0)


@pytest.fixture
def metrics(clock: FakeClock, timer: FakeClock) -> Metrics:
    return Metrics(CollectorRegistry(), clock=clock, timer=timer)


def families(metrics: Metrics) -> dict[str, tuple[str, tuple[str, ...]]]:
    """Exposed name -> (type, label names): families from the registry, label names from each
    metric (prometheus_client keeps them in ``_labelnames``)."""
    found = {}
    for family in metrics.registry.collect():
        if not family.name.startswith("fieldcourt_"):
            continue
        name = family.name + ("_total" if family.type == "counter" else "")
        metric = next(m for m in vars(metrics).values() if getattr(m, "_name", None) == family.name)
        found[name] = (family.type, tuple(metric._labelnames))
    return found


def samples(metrics: Metrics) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    text = metrics.exposition().decode()
    return {
        (s.name, frozenset(s.labels.items())): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def value(metrics: Metrics, name: str, **labels: str) -> float | None:
    return samples(metrics).get((name, frozenset(labels.items())))


def case_event(event_type: str = "case_opened", section: str = "P12", **extra: object) -> CaseEvent:
    at = dt.datetime(2026, 4, 14, 21, 30, tzinfo=dt.UTC)
    return CaseEvent.model_validate(
        {
            "event_type": event_type,
            "case_id": "C-0123456789abcdef",
            "section": section,
            "anchor": Anchor(kind="subject", ref="S-ABCDEFGHIJKLMNOP"),
            "rule_ids": ["p12.flagrant"],
            "reason": "Opened.",
            "subjects": [CaseSubject(ref="S-ABCDEFGHIJKLMNOP")],
            "first_event_at": at,
            "last_event_at": at,
            "version": 1,
            "emitted_at": at,
            **extra,
        }
    )


def test_every_metric_has_its_name_type_and_labels(metrics: Metrics) -> None:
    assert families(metrics) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_names_follow_prometheus_conventions(name: str) -> None:
    kind, labels = EXPECTED[name]
    assert re.fullmatch(r"fieldcourt_[a-z_]+", name)
    assert name.endswith("_total") == (kind == "counter")
    assert name.endswith(BASE_UNITS), "a unit suffix, in base units"
    assert not {"event_id", "case_id", "subject", "match_id", "id"} & set(labels)


def test_one_registry_holds_them_all_with_process_metrics(metrics: Metrics) -> None:
    names = {family.name for family in metrics.registry.collect()}
    assert "process_start_time_seconds" in names
    assert not any(name.endswith("_created") for name, _labels in samples(metrics))


def test_ingest_recording(metrics: Metrics, clock: FakeClock, timer: FakeClock) -> None:
    metrics.expect_sectors(["les-halles", "rosa-parks"])
    last_event = "fieldcourt_sector_last_event_timestamp_seconds"
    assert value(metrics, last_event, sector="rosa-parks") == NOW
    clock.advance(30)
    metrics.consumed("field.arrests.v1")
    metrics.consumed("field.arrests.v1")
    metrics.accepted("field.arrests.v1", "arrest", "les-halles")
    metrics.accepted("field.arrests.v1", "arrest", None)
    metrics.deadlettered("invalid_json")
    metrics.duplicate("field.arrests.v1")

    def enrich(a: int, b: int) -> int:
        timer.advance(0.003)
        return a + b

    assert metrics.timed_enrichment(enrich, 2, b=3) == 5

    assert value(metrics, "fieldcourt_events_consumed_total", topic="field.arrests.v1") == 2
    accepted = "fieldcourt_events_accepted_total"
    assert value(metrics, accepted, topic="field.arrests.v1", kind="arrest") == 2
    assert value(metrics, "fieldcourt_deadlettered_total", reason="invalid_json") == 1
    assert value(metrics, "fieldcourt_duplicates_dropped_total", topic="field.arrests.v1") == 1
    assert value(metrics, "fieldcourt_enrichment_duration_seconds_count") == 1
    assert value(metrics, "fieldcourt_enrichment_duration_seconds_sum") == pytest.approx(0.003)
    enrichment = "fieldcourt_enrichment_duration_seconds_bucket"
    assert value(metrics, enrichment, le="0.0025") == 0
    assert value(metrics, enrichment, le="0.005") == 1
    assert value(metrics, last_event, sector="les-halles") == NOW + 30  # accepted there
    assert value(metrics, last_event, sector="rosa-parks") == NOW  # none since the start


def test_a_call_that_raises_is_timed_too(metrics: Metrics, timer: FakeClock) -> None:
    def evaluate() -> None:
        timer.advance(0.04)
        raise RuntimeError("rule bug")

    with pytest.raises(RuntimeError, match="rule bug"):
        metrics.timed_rules("subject", evaluate)
    evaluation = "fieldcourt_rule_evaluation_duration_seconds_bucket"
    assert value(metrics, evaluation, stage="subject", le="0.025") == 0
    assert value(metrics, evaluation, stage="subject", le="0.05") == 1


def test_a_case_escalation_counts_its_sections_rule_and_latencies(metrics: Metrics) -> None:
    occurred = dt.datetime.fromtimestamp(NOW, dt.UTC) - dt.timedelta(days=40)
    escalated = case_event("case_escalated", "P20", previous_section="P12")
    metrics.case_emitted(escalated, "p20.recurrence", occurred, NOW - 0.2)
    metrics.case_emitted(case_event(), "p12.flagrant", occurred, None)

    case_events = value(
        metrics,
        "fieldcourt_case_events_total",
        event_type="case_escalated",
        section="P20",
        rule="p20.recurrence",
    )
    assert case_events == 1
    escalations = value(
        metrics,
        "fieldcourt_case_escalations_total",
        from_section="P12",
        to_section="P20",
        rule="p20.recurrence",
    )
    assert escalations == 1
    assert value(metrics, "fieldcourt_case_latency_from_append_seconds_count") == 1
    assert value(metrics, "fieldcourt_case_latency_from_append_seconds_sum") == pytest.approx(0.2)
    from_append = "fieldcourt_case_latency_from_append_seconds_bucket"
    assert value(metrics, from_append, le="0.1") == 0
    assert value(metrics, from_append, le="0.25") == 1
    age = "fieldcourt_case_latency_from_occurrence_seconds_bucket"
    assert value(metrics, age, le=floatToGoString(30 * 86400.0)) == 0  # months need buckets
    assert value(metrics, age, le=floatToGoString(60 * 86400.0)) == 2


def test_no_ids_reach_the_exposition(metrics: Metrics) -> None:
    metrics.case_emitted(case_event(), "p12.flagrant", dt.datetime.fromtimestamp(NOW, dt.UTC), NOW)
    text = metrics.exposition().decode()
    assert "C-0123456789abcdef" not in text
    assert "S-ABCDEFGHIJKLMNOP" not in text


def test_stage_recording(metrics: Metrics) -> None:
    assert metrics.timed_rules("subject", max, 1, 7) == 7
    metrics.alert("surge", "les-halles")
    metrics.purged("dedupe", 0)
    metrics.purged("dedupe", 3)
    metrics.late("field.arrests.v1")
    metrics.processed("route", NOW - 1.5)
    metrics.processed("route", None)  # no timestamp: nothing to measure

    assert value(metrics, "fieldcourt_rule_evaluation_duration_seconds_count", stage="subject") == 1
    assert value(metrics, "fieldcourt_alerts_total", alert_type="surge", sector="les-halles") == 1
    assert value(metrics, "fieldcourt_state_purged_total", table="dedupe") == 3
    assert value(metrics, "fieldcourt_late_events_total", topic="field.arrests.v1") == 1
    assert value(metrics, "fieldcourt_stage_latency_seconds_count", stage="route") == 1
    assert value(metrics, "fieldcourt_stage_latency_seconds_bucket", stage="route", le="1.0") == 0
    assert value(metrics, "fieldcourt_stage_latency_seconds_bucket", stage="route", le="2.5") == 1
    fresh = value(metrics, "fieldcourt_last_processed_timestamp_seconds", stage="route")
    assert fresh == NOW - 1.5


def test_batch_phases_add_up_per_stage(metrics: Metrics) -> None:
    metrics.batch_handled("cases", 0.25, 0.5, 0.125)
    metrics.batch_handled("cases", 0.25, 0.0, -0.001)  # a clock step back counts nothing
    metrics.batch_handled("dedupe", 1.0, 0.0, 0.0)
    seconds = "fieldcourt_batch_seconds_total"
    assert value(metrics, seconds, stage="cases", phase="records") == 0.5
    assert value(metrics, seconds, stage="cases", phase="release") == 0.5
    assert value(metrics, seconds, stage="cases", phase="flush") == 0.125
    assert value(metrics, seconds, stage="dedupe", phase="records") == 1.0


def test_consumer_lag_replaces_the_partitions_and_rebalances_count(metrics: Metrics) -> None:
    metrics.set_consumer_lag({("field.arrests.v1", 0): 5, ("field.arrests.v1", 1): 0})
    metrics.set_consumer_lag({("field.arrests.v1", 1): 7})  # partition 0 was revoked
    metrics.rebalance_started()

    lag = "fieldcourt_consumer_lag_records"
    assert value(metrics, lag, topic="field.arrests.v1", partition="0") is None
    assert value(metrics, lag, topic="field.arrests.v1", partition="1") == 7
    assert value(metrics, "fieldcourt_rebalances_total") == 1


def test_state_entries_replace_the_tables_held(metrics: Metrics) -> None:
    metrics.set_state_entries({"subject-state": 120, "dedupe": 300})
    metrics.set_state_entries({"subject-state": 90})  # dedupe's partitions were revoked

    assert value(metrics, "fieldcourt_state_entries", table="subject-state") == 90
    assert value(metrics, "fieldcourt_state_entries", table="dedupe") is None


def _used_names(text: str) -> set[str]:
    """Our metric names in PromQL text, as families (without histogram and counter suffixes)."""
    names = set(re.findall(r"\bfieldcourt_[a-z_]+", text))
    return {re.sub(r"_(bucket|sum|count)$", "", name) for name in names}


def test_alert_rules_and_dashboard_use_only_metrics_that_exist() -> None:
    rules = yaml.safe_load((PROJECT_ROOT / "deploy/prometheus/alerts.yml").read_text())
    exprs = [rule["expr"] for group in rules["groups"] for rule in group["rules"]]
    dashboard = json.loads((PROJECT_ROOT / "deploy/grafana/fieldcourt.json").read_text())
    exprs += [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    used = _used_names("\n".join(exprs))
    assert used, "the rules and the dashboard use our metrics"
    assert used <= set(EXPECTED), f"unknown: {used - set(EXPECTED)}"
    assert {
        "fieldcourt_events_consumed_total",
        "fieldcourt_deadlettered_total",
        "fieldcourt_case_events_total",
        "fieldcourt_consumer_lag_records",
    } <= used
