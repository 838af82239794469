"""`fieldcourt kafka up/status/down` and `topics apply` as a user runs them, on a real broker."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.admin.config_resource import ConfigResource, ConfigResourceType
from aiokafka.errors import KafkaConnectionError

from fieldcourt.acl import derive_acls
from fieldcourt.kafka_auth import ADMIN, REPLAY, client_options
from fieldcourt.kafka_local import free_ports
from fieldcourt.settings import Settings, load_settings
from fieldcourt.topics import DAY_MS, DEADLETTER_TOPIC, FIELD_TOPICS, catalogue
from tests.kafka import consume_until, produce, run

pytestmark = [pytest.mark.kafka, pytest.mark.slow]

#: The console script of this virtualenv, as a user types it.
FIELDCOURT = Path(sys.executable).parent / "fieldcourt"


def fieldcourt(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(FIELDCOURT), *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def broker_processes(data_dir: Path) -> list[str]:
    out = subprocess.run(
        ["ps", "-ww", "-eo", "pid,args"], capture_output=True, text=True, check=True
    )
    return [
        line for line in out.stdout.splitlines() if "kafka.Kafka" in line and str(data_dir) in line
    ]


def cluster_id(data_dir: Path) -> str:
    """The KRaft cluster id written when the storage was formatted."""
    meta = (data_dir / "kafka" / "logs" / "meta.properties").read_text()
    return next(
        line.split("=", 1)[1] for line in meta.splitlines() if line.startswith("cluster.id=")
    )


def actions(result: subprocess.CompletedProcess[str]) -> dict[str, list[str]]:
    """``topics apply`` output as {topic: [action and detail, ...]}."""
    assert result.returncode == 0, result.stderr
    found: dict[str, list[str]] = {}
    for line in result.stdout.strip().splitlines():
        action, topic, *detail = line.split(maxsplit=2)
        found.setdefault(topic, []).append(" ".join([action, *detail]))
    assert found
    return found


def unchanged(found: dict[str, list[str]]) -> bool:
    return all(entries == ["unchanged"] for entries in found.values())


@contextlib.asynccontextmanager
async def admin_client(settings: Settings) -> AsyncIterator[AIOKafkaAdminClient]:
    """A plain admin client as the administrator, as an operator's tool would use (not
    through fieldcourt's topic code)."""
    admin = AIOKafkaAdminClient(**client_options(settings, ADMIN))
    await admin.start()
    try:
        yield admin
    finally:
        await admin.close()


async def as_operator(
    settings: Settings, request: Callable[[AIOKafkaAdminClient], Awaitable[object]]
) -> object:
    async with admin_client(settings) as admin:
        return await request(admin)


async def describe(settings: Settings, names: list[str]) -> dict[str, tuple[int, dict[str, str]]]:
    """Each topic's partition count and configs, as the broker reports them."""
    async with admin_client(settings) as admin:
        partitions = {t["topic"]: len(t["partitions"]) for t in await admin.describe_topics(names)}
        responses = await admin.describe_configs(
            [ConfigResource(ConfigResourceType.TOPIC, name) for name in names]
        )
    configs = {
        resource[3]: {entry[0]: entry[1] for entry in resource[4]}
        for response in responses
        for resource in response.resources
    }
    return {name: (partitions[name], configs[name]) for name in names}


async def topic_names(settings: Settings) -> list[str]:
    async with admin_client(settings) as admin:
        return list(await admin.list_topics())


@pytest.fixture
def broker_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Our environment with only this test's FIELDCOURT_* settings, shared by the commands we
    run and by ``load_settings`` here."""
    for name in [name for name in os.environ if name.upper().startswith("FIELDCOURT_")]:
        monkeypatch.delenv(name)
    port, controller = free_ports(2)
    for name, value in {
        "FIELDCOURT_DATA_DIR": str(tmp_path),
        "FIELDCOURT_KAFKA_PORT": str(port),
        "FIELDCOURT_KAFKA_CONTROLLER_PORT": str(controller),
        "FIELDCOURT_BROKER": f"127.0.0.1:{port}",
    }.items():
        monkeypatch.setenv(name, value)
    return dict(os.environ)


def assert_broker_matches_catalogue(settings: Settings, timeout_s: float = 30.0) -> None:
    """Every topic of the catalogue has its partitions and configs on the broker. Metadata
    reaches the broker's cache shortly after the controller applied a change: ask again until
    it matches or ``timeout_s`` passed."""
    specs = catalogue(settings)
    want = {
        spec.name: (spec.partitions or settings.topic_partitions, spec.configs()) for spec in specs
    }
    deadline = time.monotonic() + timeout_s
    while True:
        described = run(describe(settings, list(want)))
        have = {
            name: (partitions, {key: configs.get(key) for key in want[name][1]})
            for name, (partitions, configs) in described.items()
        }
        if have == want or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert have == want


def test_up_status_apply_twice_down_up_again_keeps_data(
    tmp_path: Path, broker_env: dict[str, str]
) -> None:
    env = broker_env
    settings = load_settings()
    try:
        status = fieldcourt(env, "kafka", "status")
        assert status.returncode == 3
        assert "not running" in status.stdout

        up = fieldcourt(env, "kafka", "up")
        assert up.returncode == 0, up.stderr
        assert settings.broker in up.stdout
        assert fieldcourt(env, "kafka", "status").returncode == 0
        assert len(broker_processes(tmp_path)) == 1
        formatted_as = cluster_id(tmp_path)
        # development secrets readable by their owner only
        for secret in ("credentials.json", "server.properties", "admin.properties"):
            assert (tmp_path / "kafka" / secret).stat().st_mode & 0o777 == 0o600, secret
        assert (tmp_path / "kafka" / "tls" / "ca.key").stat().st_mode & 0o777 == 0o600

        again = fieldcourt(env, "kafka", "up")  # idempotent: no second broker
        assert again.returncode == 0
        assert len(broker_processes(tmp_path)) == 1

        # a topic someone created by hand, with too few partitions and the broker's defaults
        # (its max.message.bytes, 16 MiB, is already the catalogue's)
        by_hand = NewTopic("field.seizures.v1", 2, 1)
        run(as_operator(settings, lambda admin: admin.create_topics([by_hand])))
        first = actions(fieldcourt(env, "topics", "apply"))
        assert first.pop("field.seizures.v1") == [
            "partitions 2->4",
            "configs message.timestamp.type, retention.ms",
        ]
        assert set(first) == {spec.name for spec in catalogue(settings)} - {"field.seizures.v1"}
        assert all(entries == ["created"] for entries in first.values())
        assert_broker_matches_catalogue(settings)
        assert unchanged(actions(fieldcourt(env, "topics", "apply")))

        # the ACLs of the catalogue: created once, then found there
        derived = [acl.describe() for acl in derive_acls(settings)]
        granted = fieldcourt(env, "acl", "apply")
        assert granted.returncode == 0, granted.stderr
        assert granted.stdout.splitlines() == [f"{'created':10} {acl}" for acl in derived]
        again = fieldcourt(env, "acl", "apply").stdout.splitlines()
        assert again == [f"{'unchanged':10} {acl}" for acl in derived]

        # a police system added after the storage was formatted: its credential on the next up
        more = env | {"FIELDCOURT_POLICE_SYSTEMS": "replay,simulator,dspap"}
        added = fieldcourt(more, "kafka", "up")
        assert "kafka: SCRAM credentials created for police-dspap" in added.stdout, added.stderr
        granted = fieldcourt(more, "acl", "apply").stdout.splitlines()
        assert [line.split()[1:3] for line in granted if line.startswith("created")] == [
            ["police-dspap", "WRITE"]
        ] * len(FIELD_TOPICS)
        arrest = (FIELD_TOPICS[0], b"lifecycle-dspap", b"{}")
        assert run(produce(settings, [arrest], principal="police-dspap"))

        # rotation: new passwords on the running broker, the old ones refused
        credentials = tmp_path / "kafka" / "credentials.json"
        old = json.loads(credentials.read_text())
        rotated = fieldcourt(env, "kafka", "rotate")
        assert rotated.returncode == 0, rotated.stderr
        new = json.loads(credentials.read_text())
        assert new["broker"] == old["broker"]  # in the broker's own configuration
        assert all(new[name] != old[name] for name in old if name != "broker")
        assert run(produce(settings, [arrest], principal=REPLAY))
        stale = tmp_path / "stale.password"
        stale.write_text(old[REPLAY])
        stale_settings = settings.model_copy(update={"kafka_password_file": stale})
        with pytest.raises(KafkaConnectionError):
            run(produce(stale_settings, [arrest], principal=REPLAY))

        # an operator shortens the dead-letter retention behind the catalogue's back
        deadletter = next(spec for spec in catalogue(settings) if spec.name == DEADLETTER_TOPIC)
        shortened = {**deadletter.configs(), "retention.ms": str(DAY_MS)}
        resource = ConfigResource(ConfigResourceType.TOPIC, DEADLETTER_TOPIC, shortened)
        run(as_operator(settings, lambda admin: admin.alter_configs([resource])))
        _, configs = run(describe(settings, [DEADLETTER_TOPIC]))[DEADLETTER_TOPIC]
        assert configs["retention.ms"] == str(DAY_MS)
        corrected = actions(fieldcourt(env, "topics", "apply"))
        assert corrected.pop(DEADLETTER_TOPIC) == ["configs retention.ms"]
        assert unchanged(corrected)
        assert_broker_matches_catalogue(settings)
        assert unchanged(actions(fieldcourt(env, "topics", "apply")))

        kept_key, kept_value = b"lifecycle-kept", b'{"synthetic": true}'
        run(produce(settings, [(DEADLETTER_TOPIC, kept_key, kept_value)]))

        down = fieldcourt(env, "kafka", "down")
        assert down.returncode == 0
        assert "stopped" in down.stdout
        assert broker_processes(tmp_path) == []
        assert fieldcourt(env, "kafka", "status").returncode == 3

        assert fieldcourt(env, "kafka", "up").returncode == 0
        assert cluster_id(tmp_path) == formatted_as  # the storage was not formatted again
        found = run(
            consume_until(
                settings, [DEADLETTER_TOPIC], lambda rs: any(r.key == kept_key for r in rs)
            )
        )
        assert [r.value for r in found if r.key == kept_key] == [kept_value]
        assert unchanged(actions(fieldcourt(env, "topics", "apply")))
        assert_broker_matches_catalogue(settings)

        # a creation the broker refuses is an error, not "created"
        unplaceable = env | {"FIELDCOURT_TOPIC_REPLICATION": "3", "FIELDCOURT_APP_ID": "fc-refused"}
        refused = fieldcourt(unplaceable, "topics", "apply")
        assert refused.returncode == 1
        assert "created" not in refused.stdout
        assert "Traceback" not in refused.stderr
        assert "cannot create fc-refused-by-subject: InvalidReplicationFactorError" in (
            refused.stderr
        )
        assert not [name for name in run(topic_names(settings)) if name.startswith("fc-refused")]
    finally:
        fieldcourt(env, "kafka", "down")
    assert broker_processes(tmp_path) == []
    assert fieldcourt(env, "kafka", "down").stdout.strip() == "kafka: was not running"
