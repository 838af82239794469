"""A local single-node Apache Kafka (KRaft, broker+controller) for development, tests and the demo.

The jars come from Maven Central through ``deploy/kafka/fetch.sh``; this module formats the
storage once, runs ``kafka.Kafka`` on Java 17 bound to 127.0.0.1 and stops it by its pid.

By default (``FIELDCOURT_KAFKA_SECURITY=sasl_ssl``) clients authenticate with SCRAM-SHA-512
over TLS and the StandardAuthorizer denies what no ACL allows: a development CA and broker
certificate are made in ``<data dir>/kafka/tls``, every principal of ``kafka_auth.principals``
gets a generated password in ``<data dir>/kafka/credentials.json`` (mode 0600) and a SCRAM
credential at storage format. The controller listener takes the broker's own certificate
(mutual TLS). ``fieldcourt acl apply`` grants the principals their rights.
"""

from __future__ import annotations

import asyncio
import contextlib
import gc
import os
import re
import shutil
import signal
import socket
import subprocess
import time
import uuid
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fieldcourt.devpki import TlsFiles, ensure_dev_tls
from fieldcourt.kafka_auth import (
    ADMIN,
    BROKER,
    SCRAM_MECHANISM,
    client_options,
    credentials_file,
    ensure_credentials,
    load_credentials,
    principals,
    write_private,
)
from fieldcourt.scram import add_principals, rotate
from fieldcourt.settings import PROJECT_ROOT, KafkaSecurity, Settings
from streams.errors import FieldcourtError

FETCH_SCRIPT = PROJECT_ROOT / "deploy" / "kafka" / "fetch.sh"
LOG4J_CONFIG = PROJECT_ROOT / "deploy" / "kafka" / "log4j2.yaml"
MIN_JAVA = 17

SERVER_PROPERTIES = """\
# Written by fieldcourt; a single combined broker+controller on loopback.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:{controller_port}
log.dirs={log_dir}
num.partitions=1
default.replication.factor=1
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=false
message.max.bytes=16777216
replica.fetch.max.bytes=16777216
log.retention.check.interval.ms=60000
"""

LISTENERS = """\
listeners={name}://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}
advertised.listeners={name}://127.0.0.1:{port}
controller.listener.names=CONTROLLER
inter.broker.listener.name={name}
listener.security.protocol.map={name}:{name},CONTROLLER:{controller}
"""
#: What clients authenticating (the default) adds to the listeners: SCRAM, TLS, the authorizer.
SASL_SSL = """\
sasl.enabled.mechanisms={mechanism}
sasl.mechanism.inter.broker.protocol={mechanism}
listener.name.sasl_ssl.{mechanism_lower}.sasl.jaas.config={jaas}
listener.name.controller.ssl.client.auth=required
ssl.principal.mapping.rules=RULE:^CN=([a-zA-Z0-9._-]+),.*$/$1/,DEFAULT
ssl.keystore.type=PEM
ssl.keystore.location={keystore}
ssl.truststore.type=PEM
ssl.truststore.location={ca}
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:{broker};User:{admin}
"""
#: A client configuration for Kafka's own command-line tools, as the admin principal.
ADMIN_CLIENT_PROPERTIES = """\
# Written by fieldcourt: Kafka's own tools as {admin} (--command-config this file).
security.protocol=SASL_SSL
sasl.mechanism={mechanism}
sasl.jaas.config={jaas}
ssl.truststore.type=PEM
ssl.truststore.location={ca}
"""


def scram_jaas(principal: str, password: str) -> str:
    return (
        "org.apache.kafka.common.security.scram.ScramLoginModule required "
        f'username="{principal}" password="{password}";'
    )


def write_admin_properties(path: Path, password: str, tls: TlsFiles) -> None:
    jaas = scram_jaas(ADMIN, password)
    text = ADMIN_CLIENT_PROPERTIES.format(
        admin=ADMIN, mechanism=SCRAM_MECHANISM, jaas=jaas, ca=tls.ca
    )
    write_private(path, text)


def new_cluster_id() -> str:
    return uuid.uuid4().hex[:22]


def write_format_arguments(
    path: Path, config: Path, cluster_id: str, passwords: dict[str, str], *extra: str
) -> None:
    """A Java argument file (mode 0600) that formats the KRaft storage with a SCRAM credential
    per principal: ``java -cp <libs> @path``. The passwords never reach a command line."""
    arguments = ["kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(config), *extra]
    for name, secret in passwords.items():
        arguments += ["--add-scram", f"{SCRAM_MECHANISM}=[name={name},password={secret}]"]
    write_private(path, "\n".join(arguments) + "\n")


def server_properties(
    settings: Settings, log_dir: Path, tls: TlsFiles | None, passwords: dict[str, str]
) -> str:
    """The broker's configuration: plaintext, or SASL_SSL with the StandardAuthorizer."""
    ports = {"port": settings.kafka_port, "controller_port": settings.kafka_controller_port}
    text = SERVER_PROPERTIES.format(log_dir=log_dir, **ports)
    if tls is None:
        return text + LISTENERS.format(name="PLAINTEXT", controller="PLAINTEXT", **ports)
    listeners = LISTENERS.format(name="SASL_SSL", controller="SSL", **ports)
    return (
        text
        + listeners
        + SASL_SSL.format(
            mechanism=SCRAM_MECHANISM,
            mechanism_lower=SCRAM_MECHANISM.lower(),
            jaas=scram_jaas(BROKER, passwords[BROKER]),
            keystore=tls.keystore,
            ca=tls.ca,
            broker=BROKER,
            admin=ADMIN,
        )
    )


class BrokerError(FieldcourtError):
    """The local broker could not be fetched, started or stopped; the message says why."""


@dataclass(frozen=True)
class BrokerStatus:
    running: bool
    pid: int | None
    bootstrap: str
    data_dir: Path
    log_file: Path

    def describe(self) -> str:
        if self.running:
            return f"kafka: running (pid {self.pid}) on {self.bootstrap}, data in {self.data_dir}"
        return f"kafka: not running (data in {self.data_dir})"


class LocalBroker:
    """Lifecycle of the local broker described by a ``Settings``."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.root = settings.data_dir / "kafka"
        self.log_dir = self.root / "logs"
        self.config_file = self.root / "server.properties"
        #: Kafka's own tools as the admin principal: ``--command-config`` this file.
        self.admin_properties = self.root / "admin.properties"
        self.credentials = credentials_file(settings)
        self.tls = TlsFiles(self.root / "tls")
        self.pid_file = self.root / "broker.pid"
        self.log_file = self.root / "broker.log"
        self.libs = settings.kafka_home / "libs"
        self.bootstrap = f"127.0.0.1:{settings.kafka_port}"
        self._proc: subprocess.Popen[bytes] | None = None  # set when this object started it
        #: Principals whose SCRAM credentials the last ``up`` created on a formatted broker.
        self.added: list[str] = []

    # -- fetching and formatting -------------------------------------------------------------
    def fetch(self) -> None:
        env = {**os.environ, "FIELDCOURT_KAFKA_HOME": str(self.settings.kafka_home)}
        result = subprocess.run(["bash", str(FETCH_SCRIPT)], env=env, check=False)  # noqa: S603,S607
        if result.returncode != 0:
            raise BrokerError("fetching the Kafka jars failed (see the Maven output above)")

    def java(self) -> str:
        java_home = os.environ.get("JAVA_HOME")
        java = str(Path(java_home) / "bin" / "java") if java_home else shutil.which("java")
        if not java or not Path(java).exists():
            raise BrokerError(f"Java {MIN_JAVA}+ is needed to run Kafka; none found")
        out = subprocess.run(  # noqa: S603
            [java, "-version"], capture_output=True, text=True, check=False
        ).stderr
        match = re.search(r'version "(\d+)', out)
        if not match or int(match.group(1)) < MIN_JAVA:
            raise BrokerError(f"Kafka 4 needs Java {MIN_JAVA}+, found: {out.splitlines()[:1]}")
        return java

    def _classpath(self) -> str:
        if not self.libs.is_dir() or not any(self.libs.glob("kafka_2.13-*.jar")):
            self.fetch()
        return f"{self.libs}/*"

    @property
    def secure(self) -> bool:
        return self.settings.kafka_security is KafkaSecurity.SASL_SSL

    def _formatted(self) -> bool:
        return (self.log_dir / "meta.properties").exists()

    def _passwords(self) -> dict[str, str]:
        """Every principal's password, generated at the first start. Storage formatted
        without them (plaintext, or an older fieldcourt) has no SCRAM credentials to check."""
        path = self.credentials
        if self._formatted() and not path.exists():
            raise BrokerError(
                f"the broker's storage in {self.log_dir} was formatted without SCRAM users "
                f"(no {path}): stop the broker and delete {self.root} to start afresh "
                "(development data), or set FIELDCOURT_KAFKA_SECURITY=plaintext"
            )
        if self._formatted():  # principals added since: ``add_principals`` once it answers
            return load_credentials(path)
        return ensure_credentials(path, principals(self.settings))

    def _write_config(self) -> dict[str, str]:
        """Write ``server.properties`` (and the admin client's properties); the passwords."""
        self.root.mkdir(parents=True, exist_ok=True)
        tls, passwords = None, {}
        if self.secure:
            passwords = self._passwords()
            tls = ensure_dev_tls(self.tls.directory)
            write_admin_properties(self.admin_properties, passwords[ADMIN], tls)
        # the broker's own password is in it: readable by its owner only
        write_private(
            self.config_file, server_properties(self.settings, self.log_dir, tls, passwords)
        )
        return passwords

    def _format_once(self, java: str, classpath: str, passwords: dict[str, str]) -> None:
        if self._formatted():
            return
        argfile = self.root / "format.args"
        write_format_arguments(argfile, self.config_file, new_cluster_id(), passwords)
        command = [java, *self._log_opts(), "-cp", classpath, f"@{argfile}"]
        try:
            result = subprocess.run(command, capture_output=True, text=True, check=False)  # noqa: S603
        finally:
            argfile.unlink()
        if result.returncode != 0:
            raise BrokerError(f"formatting KRaft storage failed:\n{result.stdout}{result.stderr}")

    def _log_opts(self) -> list[str]:
        return [f"-Dlog4j2.configurationFile={LOG4J_CONFIG}", f"-Dkafka.logs.dir={self.root}"]

    # -- lifecycle ---------------------------------------------------------------------------
    def _pid(self) -> int | None:
        try:
            pid = int(self.pid_file.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        except PermissionError:
            return pid
        cmdline = Path(f"/proc/{pid}/cmdline")
        if cmdline.exists() and b"kafka.Kafka" not in cmdline.read_bytes():
            return None  # a recycled pid, not our broker
        return pid

    def status(self) -> BrokerStatus:
        pid = self._pid()
        return BrokerStatus(
            running=pid is not None and _port_open(self.settings.kafka_port),
            pid=pid,
            bootstrap=self.bootstrap,
            data_dir=self.root,
            log_file=self.log_file,
        )

    def up(self, timeout_s: float = 90.0) -> BrokerStatus:
        """Start the broker unless it runs already; return once it answers Kafka requests."""
        if self._pid() is not None:
            self.wait_ready(timeout_s)
            self.added = self._add_principals()
            return self.status()
        for port in (self.settings.kafka_port, self.settings.kafka_controller_port):
            if _port_open(port):
                raise BrokerError(f"port {port} on 127.0.0.1 is taken by another process")
        java = self.java()
        classpath = self._classpath()
        passwords = self._write_config()
        self._format_once(java, classpath, passwords)
        heap = self.settings.kafka_heap
        jvm = [f"-Xmx{heap}", f"-Xms{heap}", "-XX:+UseG1GC", "-XX:TieredStopAtLevel=1"]
        jvm += ["-Djava.awt.headless=true", *self._log_opts()]
        command = [java, *jvm, "-cp", classpath, "kafka.Kafka", str(self.config_file)]
        with self.log_file.open("ab") as log:
            proc = subprocess.Popen(  # noqa: S603
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
            )
        self._proc = proc
        try:
            self.pid_file.write_text(str(proc.pid))
            self.wait_ready(timeout_s, proc)
            self.added = self._add_principals()
        except BaseException:
            # A failure, Ctrl-C or SIGTERM (as an exception): the broker runs in its own
            # session, so no signal reaches it and nobody else would stop it.
            if not self.down() and proc.poll() is None:  # no pid file yet
                _signal_group(proc.pid, signal.SIGKILL)
                proc.wait()
            raise
        return self.status()

    def wait_ready(self, timeout_s: float, proc: subprocess.Popen[bytes] | None = None) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if proc is not None and proc.poll() is not None:
                raise BrokerError(
                    f"the broker exited with code {proc.returncode}; last lines of "
                    f"{self.log_file}:\n{_tail(self.log_file)}"
                )
            if _port_open(self.settings.kafka_port) and _probe(self._client()):
                return
            time.sleep(0.2)
        raise BrokerError(f"the broker did not answer within {timeout_s:.0f}s; see {self.log_file}")

    def _add_principals(self) -> list[str]:
        """Principals of the settings the broker was formatted without (a new police system):
        their SCRAM credentials set as the administrator, their passwords saved."""
        if not self.secure:
            return []
        return add_principals(self.credentials, principals(self.settings), self._client())

    def rotate(self) -> list[str]:
        """New passwords for every principal but the broker's, on the running broker."""
        self.wait_ready(10.0)
        return rotate(self.credentials, self._client())

    def access(self) -> dict[str, Any]:
        """The settings by which a client reaches this broker (its address, and when clients
        authenticate its credentials file and development CA)."""
        found: dict[str, Any] = {
            "broker": self.bootstrap,
            "kafka_security": self.settings.kafka_security,
        }
        if self.secure:
            found["kafka_password_file"] = self.credentials
            found["kafka_ca_file"] = self.tls.ca
        return found

    def _client(self) -> dict[str, Any]:
        """The readiness probe's client options: the admin principal on this broker."""
        local = self.settings.model_copy(update={**self.access(), "kafka_user": None})
        return client_options(local, ADMIN)

    def down(self, timeout_s: float = 30.0) -> bool:
        """Stop the broker cleanly (SIGTERM), then forcibly; True if one was running."""
        pid = self._pid()
        if pid is None:
            self.pid_file.unlink(missing_ok=True)
            return False
        _signal_group(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline and _alive(pid):
            time.sleep(0.1)
        if _alive(pid):
            _signal_group(pid, signal.SIGKILL)
            while _alive(pid):
                time.sleep(0.05)
        self.pid_file.unlink(missing_ok=True)
        if self._proc is not None and self._proc.pid == pid:
            self._proc.wait()
            self._proc = None
        return True


def _probe(options: dict[str, Any]) -> bool:
    """``_answers`` in an event loop of its own. A TLS handshake that the starting broker
    leaves unanswered is cancelled by the client's timeout, and asyncio then leaves its socket
    to the garbage collector: collected here, without the ResourceWarning of each attempt."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        answered = asyncio.run(_answers(options))
        gc.collect()
    return answered


async def _answers(options: dict[str, Any]) -> bool:
    """True once the broker serves metadata (not merely accepts TCP connections)."""
    from aiokafka import AIOKafkaClient

    client = AIOKafkaClient(**options, request_timeout_ms=3000)
    try:
        await asyncio.wait_for(client.bootstrap(), timeout=5)
        return bool(client.cluster.brokers())
    except Exception:  # any failure means "not yet"
        return False
    finally:
        await client.close()


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.5)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _alive(pid: int) -> bool:
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # reap it if it is our child
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    stat = Path(f"/proc/{pid}/stat")
    return not (stat.exists() and ") Z " in stat.read_text())


def _signal_group(pid: int, sig: signal.Signals) -> None:
    try:
        os.killpg(pid, sig)
    except (ProcessLookupError, PermissionError):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


def _tail(path: Path, lines: int = 20) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except FileNotFoundError:
        return "(no log)"


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(count: int) -> list[int]:
    """``count`` distinct free ports: each held bound until all are chosen (one at a time, the
    system may hand the port it just released out again: a broker and its controller were
    once given the same one)."""
    with contextlib.ExitStack() as held:
        ports = []
        for _ in range(count):
            sock = held.enter_context(socket.socket(socket.AF_INET, socket.SOCK_STREAM))
            sock.bind(("127.0.0.1", 0))
            ports.append(int(sock.getsockname()[1]))
        return ports
