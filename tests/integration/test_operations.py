"""Operations on the real broker: the worker's endpoint, a real Prometheus scraping it,
readiness following the broker, and the shipped Prometheus configuration under promtool."""

from __future__ import annotations

import json
import re
import shutil
import signal
import subprocess
import time
import urllib.parse
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import orjson
import pytest
import yaml

from fieldcourt.acl import prepare_broker
from fieldcourt.kafka_local import LocalBroker, free_port, free_ports
from fieldcourt.settings import PROJECT_ROOT, Settings, load_settings
from tests.conftest import TEST_KEY
from tests.factories import raw_arrest, raw_person
from tests.kafka import WorkerProcess, produce, run, worker_env

pytestmark = pytest.mark.kafka

DEPLOY = PROJECT_ROOT / "deploy"
ARRESTS = "field.arrests.v1"
#: The consumer's metadata refreshed every few seconds: the tests see new topics sooner.
FAST_METADATA = {"CONSUMER_METADATA_MAX_AGE_MS": "3000"}
#: How long the worker is held (SIGSTOP) while field records are appended; within the
#: session timeout, so the group does not move its partitions.
HELD_S = 3.0
#: What Faust serves when left to itself, and a few more guesses: all must be 404.
FAUST_PATHS = (
    "/",
    "/router/",
    "/router/topics",
    "/table/",
    "/table/dedupe/",
    "/table/dedupe/x/",
    "/stats/",
    "/assignment/",
    "/graph/",
    "/signal/",
    "/performance/",
    "/metrics/",
    "/readyz/",
)


def tool(name: str) -> str:
    path = shutil.which(name) or f"/usr/bin/{name}"
    if not Path(path).exists():
        pytest.skip(f"{name} is not installed (make prometheus-tools)")
    return path


def check(*args: str, stdin: bytes | None = None) -> str:
    result = subprocess.run(args, input=stdin, capture_output=True, timeout=60, check=False)
    output = (result.stdout + result.stderr).decode()
    assert result.returncode == 0, f"{' '.join(args)}:\n{output}"
    return output


def eventually(read: Callable[[], Any], expected: Any, timeout_s: float = 30.0) -> Any:
    """Poll ``read()`` until it returns ``expected``; the last value either way."""
    deadline = time.monotonic() + timeout_s
    while True:
        got = read()
        if got == expected or time.monotonic() > deadline:
            return got
        time.sleep(0.5)


def get_json(url: str) -> Any:
    with urllib.request.urlopen(url, timeout=5) as response:
        return json.loads(response.read())


@contextmanager
def prometheus(tmp_path: Path, target: str) -> Iterator[Callable[[str], float | None]]:
    """A real Prometheus on a free loopback port scraping ``target`` every second; yields an
    instant-query function (the first sample's value, ``None`` for an empty result)."""
    port = free_port()
    tmp_path.mkdir(parents=True, exist_ok=True)
    config = tmp_path / "prometheus.yml"
    every_second = {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"}
    scrape = {"job_name": "fieldcourt", "static_configs": [{"targets": [target]}]}
    config.write_text(yaml.safe_dump({"global": every_second, "scrape_configs": [scrape]}))
    base = f"http://127.0.0.1:{port}"
    with (tmp_path / "prometheus.log").open("wb") as log:
        proc = subprocess.Popen(
            [
                tool("prometheus"),
                f"--config.file={config}",
                "--log.level=warn",
                f"--web.listen-address=127.0.0.1:{port}",
                f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            ],
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def query(promql: str) -> float | None:
        url = f"{base}/api/v1/query?" + urllib.parse.urlencode({"query": promql})
        result = get_json(url)["data"]["result"]
        return float(result[0]["value"][1]) if result else None

    try:
        ready = eventually(lambda: _status(f"{base}/-/ready"), 200)
        assert ready == 200, (tmp_path / "prometheus.log").read_text()
        yield query
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)


def _status(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return int(response.status)
    except OSError:
        return 0


def test_shipped_prometheus_config_rules_and_dashboard_pass_promtool(tmp_path: Path) -> None:
    promtool = tool("promtool")
    check(promtool, "check", "config", str(DEPLOY / "prometheus" / "prometheus.yml"))
    check(promtool, "check", "rules", str(DEPLOY / "prometheus" / "alerts.yml"))
    assert "SUCCESS" in check(
        promtool, "test", "rules", str(DEPLOY / "prometheus" / "alerts_test.yml")
    )
    # The dashboard's queries parse too: as recording rules, Grafana's variables filled in.
    dashboard = json.loads((DEPLOY / "grafana" / "fieldcourt.json").read_text())
    exprs = [t["expr"] for panel in dashboard["panels"] for t in panel.get("targets", [])]
    filled = [
        re.sub(r"\$__(rate_interval|range)", "5m", e)
        .replace("$job", "fieldcourt")
        .replace("$instance", ".*")
        for e in exprs
    ]
    recorded = [{"record": f"dashboard:panel{i}", "expr": e} for i, e in enumerate(filled)]
    rules = {"groups": [{"name": "dashboard", "rules": recorded}]}
    (tmp_path / "dashboard_rules.yml").write_text(yaml.safe_dump(rules))
    check(promtool, "check", "rules", str(tmp_path / "dashboard_rules.yml"))


def test_worker_serves_only_its_endpoint_and_prometheus_counts_what_flowed(
    app_settings: Settings, worker: Callable[..., WorkerProcess], tmp_path: Path
) -> None:
    proc = worker(
        **FAST_METADATA,
        FIELDCOURT_STATE_METRICS_INTERVAL_S="1",
        FIELDCOURT_GC_FULL_INTERVAL_S="1",
    )
    for path in FAUST_PATHS:
        assert proc.http_get(path)[0] == 404, path
    assert proc.http_get("/healthz") == (200, '{"alive": true}')
    assert proc.http_get("/readyz") == (200, '{"ready": true, "reason": "ready"}')

    run_id = app_settings.app_id
    people = [raw_person(i, person_id=f"{run_id}-{i}") for i in range(5)]
    good = [raw_arrest(event_id=f"{run_id}-a{i}", person=p) for i, p in enumerate(people)]
    bad = {"notjson1": b"{not json", "notjson2": b"\x00{", "array": b"[1, 2]"}
    records: list[tuple[str, bytes | None, bytes | None]] = [
        (ARRESTS, event["event_id"].encode(), orjson.dumps(event)) for event in good
    ]
    records += [(ARRESTS, f"{run_id}-{key}".encode(), value) for key, value in bad.items()]
    increments = {
        f'sum(fieldcourt_events_consumed_total{{topic="{ARRESTS}"}})': 8,
        f'sum(fieldcourt_events_accepted_total{{topic="{ARRESTS}",kind="arrest"}})': 5,
        'sum(fieldcourt_deadlettered_total{reason="invalid_json"})': 2,
        'sum(fieldcourt_deadlettered_total{reason="not_an_object"})': 1,
        "sum(fieldcourt_deadlettered_total)": 3,
        'sum(fieldcourt_case_events_total{event_type="case_opened",section="P12",'
        'rule="p12.flagrant"})': 5,
        "sum(fieldcourt_case_latency_from_append_seconds_count)": 5,
        # The worker is held while the field records are appended (below): every case's
        # latency counts from its field record's append, not from the internal topics' hops.
        f'sum(fieldcourt_case_latency_from_append_seconds_bucket{{le="{HELD_S - 0.5}"}})': 0,
    }

    target = proc.url("").removeprefix("http://")
    with prometheus(tmp_path / "prometheus", target) as query:
        assert eventually(lambda: query('up{job="fieldcourt"}'), 1.0) == 1.0
        partitions = f'count(fieldcourt_consumer_lag_records{{topic="{ARRESTS}"}})'
        assert eventually(lambda: query(partitions), 4.0) == 4.0
        # The inbound topics are shared by the session's tests: the worker reads what earlier
        # tests published first. Once nothing is left, the counters stand still.
        assert eventually(lambda: query("sum(fieldcourt_consumer_lag_records)"), 0.0, 60) == 0.0
        before = {q: query(q) or 0.0 for q in increments}

        proc.send_signal(signal.SIGSTOP)
        try:
            run(produce(app_settings, records))
            time.sleep(HELD_S)
        finally:
            proc.send_signal(signal.SIGCONT)
        expected = {q: before[q] + n for q, n in increments.items()}
        expected["fieldcourt_rebalances_total >= bool 1"] = 1.0
        # the worker runs the collector's full passes itself, on its timer
        expected["fieldcourt_gc_full_pass_seconds_count >= bool 1"] = 1.0
        # every table is counted; the dedupe table holds at least the five events just sent
        expected['count(fieldcourt_state_entries{table="subject-state"})'] = 1.0
        expected['sum(fieldcourt_state_entries{table="dedupe"}) >= bool 5'] = 1.0
        got = {q: eventually(lambda q=q: query(q), value) for q, value in expected.items()}
        assert got == expected
        assert eventually(lambda: query("sum(fieldcourt_consumer_lag_records)"), 0.0) == 0.0

    status, body = proc.http_get("/metrics")
    assert status == 200
    check(tool("promtool"), "check", "metrics", stdin=body.encode())
    assert not [e["event_id"] for e in good if e["event_id"] in body], "no event ids in labels"


def test_readiness_follows_the_broker(tmp_path: Path) -> None:
    port, controller = free_ports(2)
    broker_settings = load_settings(
        data_dir=tmp_path / "broker", kafka_port=port, kafka_controller_port=controller
    )
    broker = LocalBroker(broker_settings)
    broker.up()
    proc: WorkerProcess | None = None
    try:
        settings = load_settings(
            **broker.access(),
            app_id=f"fc-ready-{uuid.uuid4().hex[:8]}",
            data_dir=tmp_path / "data",
            pseudonym_key=TEST_KEY,
        )
        run(prepare_broker(settings))
        env = worker_env(
            settings,
            FIELDCOURT_PSEUDONYM_KEY=TEST_KEY,
            FIELDCOURT_SESSION_TIMEOUT_S="8",
            **FAST_METADATA,
        )
        proc = running = WorkerProcess(env, tmp_path / "worker").start()
        running.wait_ready()

        broker.down()
        assert eventually(lambda: running.http_get("/readyz")[0], 503, 20) == 503
        status, body = running.http_get("/readyz")
        assert status == 503
        assert json.loads(body)["reason"].startswith("broker unreachable"), body
        assert running.http_get("/healthz")[0] == 200, "alive without its broker"

        broker.up()
        running.wait_ready(60)
    finally:
        if proc is not None:
            proc.stop()
        broker.down()
