"""Client credentials from the settings: files, defaults, refusals (no broker needed)."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import pytest

from fieldcourt.devpki import ensure_dev_tls
from fieldcourt.kafka_auth import (
    KafkaAuthError,
    client_env,
    client_options,
    credentials_file,
    ensure_credentials,
    password,
    principals,
)
from fieldcourt.settings import SettingsError, load_settings


def test_a_password_file_holds_the_password_alone_or_one_per_principal(tmp_path: Path) -> None:
    alone = tmp_path / "alone"
    alone.write_text("s3cret\n")
    settings = load_settings(data_dir=tmp_path, kafka_password_file=alone)
    assert password(settings, "police-x") == "s3cret"

    several = tmp_path / "several.json"
    several.write_text(json.dumps({"police-x": "px", "fieldcourt": "fc"}))
    settings = load_settings(data_dir=tmp_path, kafka_password_file=several)
    assert password(settings, "fieldcourt") == "fc"
    with pytest.raises(KafkaAuthError, match="no password for the Kafka principal 'cojc'"):
        password(settings, "cojc")


def test_development_defaults_to_the_local_brokers_files(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    with pytest.raises(KafkaAuthError, match="`fieldcourt kafka up`"):
        client_options(settings, "fieldcourt")
    known = ensure_credentials(credentials_file(settings), principals(settings))
    assert credentials_file(settings).stat().st_mode & 0o777 == 0o600
    assert ensure_credentials(credentials_file(settings), principals(settings)) == known  # kept
    ensure_dev_tls(tmp_path / "kafka" / "tls")

    options = client_options(settings, "section-p4")
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert (options["sasl_plain_username"], options["sasl_plain_password"]) == (
        "section-p4",
        known["section-p4"],
    )
    context = options["ssl_context"]
    assert isinstance(context, ssl.SSLContext)
    assert context.check_hostname
    assert context.verify_mode is ssl.CERT_REQUIRED
    # FIELDCOURT_KAFKA_USER names another principal than the tool's own
    chosen = load_settings(data_dir=tmp_path, kafka_user="cojc")
    assert client_options(chosen, "section-p4")["sasl_plain_username"] == "cojc"
    # a child process gets the files, not the passwords
    env = client_env(settings)
    assert env["FIELDCOURT_KAFKA_PASSWORD_FILE"] == str(credentials_file(settings))
    assert not any(secret in value for value in env.values() for secret in known.values())


def test_plaintext_is_explicit_and_refused_in_production(tmp_path: Path) -> None:
    plain = load_settings(data_dir=tmp_path, kafka_security="plaintext")
    assert client_options(plain, "fieldcourt") == {
        "bootstrap_servers": "127.0.0.1:9092",
        "security_protocol": "PLAINTEXT",
    }
    key = "k" * 40
    with pytest.raises(SettingsError, match="plaintext is for development"):
        load_settings(environment="production", pseudonym_key=key, kafka_security="plaintext")
    with pytest.raises(SettingsError, match="FIELDCOURT_KAFKA_PASSWORD_FILE is required"):
        load_settings(environment="production", pseudonym_key=key)
