"""docker-compose.yml: valid for Compose, and consistent with what fieldcourt and Kafka expect.

Two checks. ``docker-compose config`` (Debian's docker-compose 1.29, ``make compose-tool``; no
Docker engine needed) validates the file against the Compose Specification schema it ships and
resolves it (interpolation, named volumes, ``depends_on``); the tests skip when neither it nor
``docker compose`` is installed. ``compose_problems`` checks, without any tool, what no schema
knows: every ``FIELDCOURT_*`` variable is a setting that fieldcourt accepts, the broker address
is one the broker advertises, published ports are the ones the services listen on, a
``service_healthy`` dependency has a health check probing a real listener, named volumes are
declared and the worker's holds its data folder, the image runs the broker version the tests
run, and every secret file a service reads (the broker's keystore, a password file, the CA) is
one that ``kafka-secrets`` makes on the volume they share (``fieldcourt kafka secrets``, run
here for real).
"""

from __future__ import annotations

import copy
import os
import re
import shutil
import subprocess
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any
from unittest import mock

import pytest
import yaml

from fieldcourt.compose_secrets import write_secrets
from fieldcourt.settings import ENV_PREFIX, PROJECT_ROOT, Settings, SettingsError, load_settings

COMPOSE_FILE = PROJECT_ROOT / "docker-compose.yml"
#: What an operator gives for the one variable the file requires (32 bytes or more).
OPERATOR_ENV = {"FIELDCOURT_PSEUDONYM_KEY": "compose-test-key-" + "7" * 32}
DURATION = re.compile(r"^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$")  # Compose's duration format
INTERPOLATION = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[?-])([^}]*))?\}")
SERVICES = {"kafka-secrets", "kafka", "kafka-access", "worker"}
SECRETS = "kafka-secrets"  # the service that makes them, and the volume that holds them
#: A path in a command, a health check or a setting (up to a quote, a space or a separator).
PATH = re.compile(r"(/[^\s'\";]+)")
PORT_MAPPING = re.compile(r"^(?:(?P<ip>[0-9.]+):)?(?P<host>\d+):(?P<container>\d+)(?:/tcp)?$")


def load(path: Path = COMPOSE_FILE) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict)
    return document


def interpolate(value: str, variables: Mapping[str, str]) -> str:
    """Compose's ``${VAR}``, ``${VAR:-default}`` and ``${VAR:?error}``; a missing required
    variable raises ``KeyError`` with its error text."""

    def one(match: re.Match[str]) -> str:
        name, operator, argument = match.groups()
        if variables.get(name):
            return variables[name]
        if operator in (":?", "?"):
            raise KeyError(argument or name)
        return argument if operator in (":-", "-") else ""

    return INTERPOLATION.sub(one, value)


def environment(service: Mapping[str, Any]) -> dict[str, str]:
    """A service's environment as a mapping, whichever of the two forms the file uses."""
    raw = service.get("environment") or {}
    if isinstance(raw, list):
        raw = dict(item.split("=", 1) for item in raw)
    return {str(name): str(value) for name, value in raw.items()}


def dockerfile_env(path: Path) -> dict[str, str]:
    """``ENV NAME=value`` lines of a Dockerfile."""
    found = {}
    for line in path.read_text().splitlines():
        if line.startswith("ENV "):
            for pair in line.removeprefix("ENV ").split():
                name, _, value = pair.partition("=")
                found[name] = value
    return found


def listener_ports(kafka_env: Mapping[str, str]) -> dict[str, int]:
    """Listener name -> port, from ``KAFKA_LISTENERS`` (``NAME://host:port,...``)."""
    ports = {}
    for listener in kafka_env.get("KAFKA_LISTENERS", "").split(","):
        name, _, address = listener.partition("://")
        ports[name] = int(address.rpartition(":")[2])
    return ports


def settings_from(env: Mapping[str, str]) -> Settings | str:
    """The settings fieldcourt starts with when its environment is exactly ``env``, or what
    it says to refuse them. Files on the secrets volume (checked by ``secret_problems``) are
    stood in for by an existing file."""
    stand_in = str(COMPOSE_FILE)
    env = {
        k: stand_in if k.endswith("_FILE") and v.startswith("/secrets/") else v
        for k, v in env.items()
    }
    with mock.patch.dict(os.environ, env, clear=True):
        try:
            return load_settings()
        except SettingsError as exc:
            return str(exc)


def kafka_version() -> str:
    pom = (PROJECT_ROOT / "deploy" / "kafka" / "pom.xml").read_text()
    found = re.search(r"<kafka\.version>([^<]+)</kafka\.version>", pom)
    assert found
    return found.group(1)


def mounts(service: Mapping[str, Any]) -> dict[str, str]:
    """Named volume -> where the service mounts it."""
    found = {}
    for volume in service.get("volumes") or []:
        source, _, target = str(volume).partition(":")
        if not source.startswith((".", "/", "~")):
            found[source] = target.split(":")[0]
    return found


def made_secrets() -> set[str]:
    """What ``fieldcourt kafka secrets`` writes, relative to its data folder."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        return {str(path.relative_to(tmp)) for path in write_secrets(load_settings(data_dir=tmp))}


def secret_problems(services: Mapping[str, Any]) -> list[str]:
    """Every path a service reads on the secrets volume is a file ``kafka-secrets`` makes."""
    maker = services[SECRETS]
    root = environment(maker).get("FIELDCOURT_DATA_DIR")
    if root is None or mounts(maker).get(SECRETS) != root:
        return [f"{SECRETS}: its data folder is not the {SECRETS} volume"]
    made, problems = made_secrets(), []
    for name, service in services.items():
        target = mounts(service).get(SECRETS)
        if name == SECRETS or target is None:
            continue
        text = " ".join(
            [
                *environment(service).values(),
                *map(str, service.get("command") or []),
                *map(str, (service.get("healthcheck") or {}).get("test") or []),
            ]
        )
        for path in PATH.findall(text):
            relative = path.removeprefix(target + "/")
            if path.startswith(target + "/") and relative not in made:
                problems.append(f"{name}: {path} is not a file {SECRETS} makes")
    return problems


def compose_problems(doc: Mapping[str, Any], variables: Mapping[str, str]) -> list[str]:
    """What is wrong with the compose document ``doc`` for fieldcourt, one line each."""
    problems: list[str] = []
    services: dict[str, Any] = doc.get("services") or {}
    if set(services) != SERVICES:
        return [f"services: expected {sorted(SERVICES)}, found {sorted(services)}"]
    kafka, worker = services["kafka"], services["worker"]
    problems += secret_problems(services)

    image = str(kafka.get("image", ""))
    if image != f"apache/kafka:{kafka_version()}":
        problems.append(
            f"kafka image {image!r} is not the broker the tests run ({kafka_version()})"
        )
    build = worker.get("build") or {}
    dockerfile = PROJECT_ROOT / build.get("context", ".") / build.get("dockerfile", "Dockerfile")
    if not dockerfile.is_file():
        problems.append(f"worker build: no Dockerfile at {dockerfile}")
        image_env = {}
    else:
        image_env = dockerfile_env(dockerfile)

    # The worker's configuration, as fieldcourt will read it.
    try:
        worker_env = {k: interpolate(v, variables) for k, v in environment(worker).items()}
    except KeyError as exc:
        return [*problems, f"worker environment: a required variable is missing ({exc})"]
    env = {**{k: v for k, v in image_env.items() if k.startswith(ENV_PREFIX)}, **worker_env}
    settings = settings_from(env)
    if isinstance(settings, str):
        problems.append(f"worker environment refused by fieldcourt: {settings}")
        settings = None

    # The broker address: a service name and a listener that the broker advertises under it.
    kafka_env = environment(kafka)
    listeners = listener_ports(kafka_env)
    advertised = kafka_env.get("KAFKA_ADVERTISED_LISTENERS", "").split(",")
    broker = env.get("FIELDCOURT_BROKER", "")
    host, _, port = broker.rpartition(":")
    if host not in services or not any(a.endswith(f"://{broker}") for a in advertised):
        problems.append(f"FIELDCOURT_BROKER {broker!r} is not an address the broker advertises")
    elif not port.isdigit() or int(port) not in listeners.values():
        problems.append(f"FIELDCOURT_BROKER {broker!r}: the broker listens on no such port")

    # Published ports: valid, on the host's loopback, to a port the service listens on.
    listening: dict[str, set[int]] = {name: set() for name in services}
    listening["kafka"] = set(listeners.values())
    if settings is not None:
        listening["worker"] = {settings.web_port}
        if settings.web_bind in ("127.0.0.1", "localhost") and worker.get("ports"):
            problems.append("worker: web_bind is the container's loopback, ports cannot reach it")
    for name, service in services.items():
        for mapping in service.get("ports") or []:
            parsed = PORT_MAPPING.match(str(mapping))
            if parsed is None or not all(
                1 <= int(parsed[p]) <= 65535 for p in ("host", "container")
            ):
                problems.append(f"{name}: port mapping {mapping!r} is not ip:host:container")
                continue
            if parsed["ip"] != "127.0.0.1":
                problems.append(f"{name}: port {mapping!r} is not bound to the host's loopback")
            if int(parsed["container"]) not in listening[name]:
                problems.append(f"{name}: port {mapping!r} publishes a port nothing listens on")

    # Dependencies: a service to wait for, healthy by a check that probes a real listener.
    for name, service in services.items():
        depends = service.get("depends_on") or {}
        if isinstance(depends, list):
            depends = {dep: {"condition": "service_started"} for dep in depends}
        for dep, how in depends.items():
            if dep not in services:
                problems.append(f"{name} depends on {dep!r}, which is no service")
                continue
            check = services[dep].get("healthcheck") or {}
            if how.get("condition") == "service_healthy" and not check.get("test"):
                problems.append(f"{name} waits for {dep} to be healthy; it has no healthcheck")
    for name, service in services.items():
        check = service.get("healthcheck") or {}
        for key in ("interval", "timeout", "start_period"):
            if key in check and not DURATION.match(str(check[key])):
                problems.append(f"{name} healthcheck {key} {check[key]!r} is not a duration")
        probed = re.findall(r"--bootstrap-server \S+:(\d+)", " ".join(check.get("test") or []))
        if name == "kafka" and (not probed or int(probed[0]) not in listeners.values()):
            problems.append(f"kafka healthcheck probes port {probed}, not a listener")

    # Named volumes: declared, used, and the worker's holds its data folder.
    declared = set(doc.get("volumes") or {})
    mounted = {
        name: {target: source for source, target in mounts(service).items()}
        for name, service in services.items()
    }
    used = {source for targets in mounted.values() for source in targets.values()}
    problems += [f"volume {v!r} is used but not declared" for v in sorted(used - declared)]
    problems += [f"volume {v!r} is declared but not used" for v in sorted(declared - used)]
    if settings is not None and str(settings.data_dir) not in mounted.get("worker", {}):
        problems.append(f"worker: no volume holds its data folder {settings.data_dir}")
    return problems


# ---------------------------------------------------------------------------- the shipped file


def test_the_compose_file_is_consistent_with_fieldcourt_and_kafka() -> None:
    assert compose_problems(load(), OPERATOR_ENV) == []


def test_the_worker_gets_the_settings_the_file_means() -> None:
    """What the worker would run with: the broker by its service name, the key the operator
    gives, data in the image's folder, the web port open beyond the container's loopback."""
    doc = load()
    image_env = dockerfile_env(PROJECT_ROOT / "deploy" / "docker" / "Dockerfile")
    worker = environment(doc["services"]["worker"])
    settings = settings_from(
        {**image_env, **{k: interpolate(v, OPERATOR_ENV) for k, v in worker.items()}}
    )
    assert isinstance(settings, Settings), settings
    assert settings.broker == "kafka:29092"
    assert settings.pseudonym_key_bytes() == OPERATOR_ENV["FIELDCOURT_PSEUDONYM_KEY"].encode()
    assert str(settings.data_dir) == "/data"
    assert settings.web_bind == "0.0.0.0"  # inside its container: the port mapping reaches it


def test_the_pseudonym_key_must_be_given() -> None:
    assert compose_problems(load(), {}) == [
        "worker environment: a required variable is missing ('set FIELDCOURT_PSEUDONYM_KEY')"
    ]


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    def change(doc: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node = doc
        for part in parents:
            node = node[part]
        if value is None:
            del node[last]
        else:
            node[last] = value

    return change


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (
            _set("services.worker.environment.FIELDCOURT_BROKERS", "kafka:29092"),
            "FIELDCOURT_BROKERS: not a fieldcourt setting (did you mean FIELDCOURT_BROKER?)",
        ),
        (
            _set("services.worker.environment.FIELDCOURT_WEB_PORT", "http"),
            "FIELDCOURT_WEB_PORT: Input should be a valid integer",
        ),
        (
            _set("services.worker.environment.FIELDCOURT_BROKER", "kafka:9093"),
            "FIELDCOURT_BROKER 'kafka:9093' is not an address the broker advertises",
        ),
        (
            _set("services.worker.environment.FIELDCOURT_BROKER", "127.0.0.1:9092"),
            "FIELDCOURT_BROKER '127.0.0.1:9092' is not an address the broker advertises",
        ),
        (
            _set("services.worker.environment.FIELDCOURT_WEB_BIND", None),
            "worker: web_bind is the container's loopback, ports cannot reach it",
        ),
        (
            _set("services.worker.ports", ["127.0.0.1:6066:8080"]),
            "worker: port '127.0.0.1:6066:8080' publishes a port nothing listens on",
        ),
        (
            _set("services.worker.ports", ["6066:6066"]),
            "worker: port '6066:6066' is not bound to the host's loopback",
        ),
        (
            _set("services.kafka.ports", ["127.0.0.1:606600:9092"]),
            "kafka: port mapping '127.0.0.1:606600:9092' is not ip:host:container",
        ),
        (
            _set("services.kafka.healthcheck", None),
            "kafka-access waits for kafka to be healthy; it has no healthcheck",
        ),
        (
            _set("services.kafka.healthcheck.interval", "five"),
            "kafka healthcheck interval 'five' is not a duration",
        ),
        (
            _set("services.worker.depends_on", {"broker": {"condition": "service_healthy"}}),
            "worker depends on 'broker', which is no service",
        ),
        (
            _set("services.kafka.image", "apache/kafka:latest"),
            "kafka image 'apache/kafka:latest' is not the broker the tests run",
        ),
        (_set("volumes.worker-data", None), "volume 'worker-data' is used but not declared"),
        (
            _set(
                "services.worker.environment.FIELDCOURT_KAFKA_PASSWORD_FILE",
                "/secrets/kafka/passwords/nobody",
            ),
            "worker: /secrets/kafka/passwords/nobody is not a file kafka-secrets makes",
        ),
        (
            _set("services.kafka.environment.KAFKA_SSL_KEYSTORE_LOCATION", "/secrets/broker.jks"),
            "kafka: /secrets/broker.jks is not a file kafka-secrets makes",
        ),
        (
            _set("services.kafka-secrets.volumes", ["kafka-secrets:/elsewhere"]),
            "kafka-secrets: its data folder is not the kafka-secrets volume",
        ),
        (
            _set("services.worker.volumes", ["worker-data:/var/lib/fieldcourt"]),
            "worker: no volume holds its data folder /data",
        ),
        (
            _set(
                "services.kafka.environment.KAFKA_LISTENERS",
                "PLAINTEXT://:29093,CONTROLLER://:9093,HOST://:9092",
            ),
            "FIELDCOURT_BROKER 'kafka:29092': the broker listens on no such port",
        ),
        (
            _set(
                "services.kafka.environment.KAFKA_LISTENERS",
                "PLAINTEXT://:29093,CONTROLLER://:9093,HOST://:9092",
            ),
            "kafka healthcheck probes port ['29092'], not a listener",
        ),
    ],
)
def test_each_check_finds_what_it_is_for(
    change: Callable[[dict[str, Any]], None], problem: str
) -> None:
    doc = copy.deepcopy(load())
    change(doc)
    found = compose_problems(doc, OPERATOR_ENV)
    assert any(problem in line for line in found), found


def test_an_unused_volume_is_reported() -> None:
    doc = copy.deepcopy(load())
    doc["volumes"]["spare"] = None
    assert compose_problems(doc, OPERATOR_ENV) == ["volume 'spare' is declared but not used"]


# ---------------------------------------------------------------------------- docker compose config


def compose_command() -> list[str]:
    """``docker compose`` (the v2 plugin) or ``docker-compose``; skips when neither runs."""
    docker = shutil.which("docker")
    if docker:
        plugin = subprocess.run(
            [docker, "compose", "version"], capture_output=True, check=False, timeout=60
        )
        if plugin.returncode == 0:
            return [docker, "compose"]
    legacy = shutil.which("docker-compose")
    if legacy:
        return [legacy]
    pytest.skip("neither docker compose nor docker-compose is installed (make compose-tool)")


def compose_config(path: Path, variables: Mapping[str, str]) -> subprocess.CompletedProcess[str]:
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), **variables}
    return subprocess.run(
        [*compose_command(), "-f", str(path), "config"],
        capture_output=True,
        text=True,
        env=env,
        cwd=path.parent,
        check=False,
        timeout=120,
    )


def test_docker_compose_config_accepts_and_resolves_the_file() -> None:
    result = compose_config(COMPOSE_FILE, OPERATOR_ENV)
    assert result.returncode == 0, result.stderr
    resolved = yaml.safe_load(result.stdout)
    assert set(resolved["services"]) == SERVICES
    worker_env = environment(resolved["services"]["worker"])
    assert worker_env["FIELDCOURT_PSEUDONYM_KEY"] == OPERATOR_ENV["FIELDCOURT_PSEUDONYM_KEY"]
    assert resolved["services"]["worker"]["depends_on"] == {
        "kafka-access": {"condition": "service_completed_successfully"}
    }
    assert resolved["services"]["kafka-access"]["depends_on"] == {
        "kafka": {"condition": "service_healthy"}
    }
    assert set(resolved["volumes"]) == {"kafka-data", "kafka-secrets", "worker-data"}


def test_docker_compose_config_requires_the_pseudonym_key() -> None:
    result = compose_config(COMPOSE_FILE, {})
    assert result.returncode != 0
    assert "set FIELDCOURT_PSEUDONYM_KEY" in result.stderr


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        ("    image: apache/kafka", "    imagee: apache/kafka", "imagee"),
        ("\n  worker-data:", "\n  worker-datx:", "worker-data"),
        ("service_healthy", "service_ready", "service_ready"),
        ("    depends_on:\n      kafka:", "    depends_on:\n      broker:", "broker"),
        ("      retries: 30", "      retries: thirty", "thirty"),
    ],
)
def test_docker_compose_config_rejects_a_broken_file(
    tmp_path: Path, old: str, new: str, error: str
) -> None:
    """The tool is a real check: each of these breaks the file for Compose."""
    text = COMPOSE_FILE.read_text()
    assert text.count(old) == 1
    broken = tmp_path / "docker-compose.yml"
    broken.write_text(text.replace(old, new))
    result = compose_config(broken, OPERATOR_ENV)
    assert result.returncode != 0
    assert error in result.stderr + result.stdout
