"""``fieldcourt kafka secrets``: the development secrets of the docker-compose.yml broker.

Written once into ``<data dir>/kafka`` (the ``kafka-secrets`` volume): the development CA and
broker certificate, a password per principal (``credentials.json`` and one file each under
``passwords/``), the admin client's properties for the broker's health check, and the Java
argument file with which the broker's container formats its storage with the SCRAM users.
DEVELOPMENT ONLY, like ``fieldcourt kafka up``'s: production takes its certificates and
passwords from the office's PKI and secrets store.
"""

from __future__ import annotations

from pathlib import Path

from fieldcourt.devpki import ensure_dev_tls
from fieldcourt.kafka_auth import (
    ADMIN,
    credentials_file,
    ensure_credentials,
    principals,
    write_private,
)
from fieldcourt.kafka_local import new_cluster_id, write_admin_properties, write_format_arguments
from fieldcourt.settings import Settings

#: Where the broker's container reads the storage layout it formats (the apache/kafka image's
#: data folder, docker-compose.yml's listeners); the broker's configuration is its environment.
FORMAT_PROPERTIES = """\
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@kafka:9093
controller.listener.names=CONTROLLER
listeners=SASL_SSL://:29092,BROKER://:29093,CONTROLLER://:9093,HOST://:9092
advertised.listeners=SASL_SSL://kafka:29092,BROKER://kafka:29093,HOST://127.0.0.1:9092
inter.broker.listener.name=BROKER
listener.security.protocol.map=SASL_SSL:SASL_SSL,BROKER:SSL,CONTROLLER:SSL,HOST:SASL_SSL
log.dirs=/var/lib/kafka/data
"""


def write_secrets(settings: Settings) -> list[Path]:
    """Make what is missing; the files written or kept, for the operator to see."""
    root = settings.data_dir / "kafka"
    passwords = ensure_credentials(credentials_file(settings), principals(settings))
    tls = ensure_dev_tls(root / "tls")
    files = [credentials_file(settings), tls.ca, tls.keystore]
    for name, secret in passwords.items():
        path = root / "passwords" / name
        write_private(path, secret + "\n")
        files.append(path)
    admin = root / "admin.properties"
    write_admin_properties(admin, passwords[ADMIN], tls)
    config = root / "format.properties"
    config.write_text(FORMAT_PROPERTIES)
    cluster = root / "cluster.id"
    if not cluster.exists():
        cluster.write_text(new_cluster_id())
    arguments = root / "format.args"
    write_format_arguments(
        arguments, config, cluster.read_text().strip(), passwords, "--ignore-formatted"
    )
    return [*files, admin, config, arguments]
