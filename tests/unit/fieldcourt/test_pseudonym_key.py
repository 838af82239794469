"""The pseudonym key from a file (a mounted secret), read once at start."""

from __future__ import annotations

from pathlib import Path

import pytest

from fieldcourt.settings import SettingsError, load_settings

KEY = "k" * 40


def test_the_key_is_read_from_its_file(tmp_path: Path) -> None:
    secret = tmp_path / "pseudonym.key"
    secret.write_text(KEY + "\n")
    password = tmp_path / "kafka.password"
    password.write_text("kafka-secret\n")
    settings = load_settings(
        pseudonym_key_file=secret, kafka_password_file=password, environment="production"
    )
    assert settings.pseudonym_key_bytes() == KEY.encode()
    assert KEY not in repr(settings)  # a secret, never printed


def test_the_file_and_the_variable_together_are_refused(tmp_path: Path) -> None:
    secret = tmp_path / "pseudonym.key"
    secret.write_text(KEY)
    with pytest.raises(SettingsError, match="not both"):
        load_settings(pseudonym_key_file=secret, pseudonym_key=KEY)


def test_an_unreadable_or_short_key_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="cannot read"):
        load_settings(pseudonym_key_file=tmp_path / "missing.key")
    short = tmp_path / "short.key"
    short.write_text("too short")
    with pytest.raises(SettingsError, match="at least 32 bytes"):
        load_settings(pseudonym_key_file=short)


def test_production_needs_one_or_the_other() -> None:
    with pytest.raises(SettingsError, match="PSEUDONYM_KEY_FILE is required in production"):
        load_settings(environment="production")


def test_the_file_is_read_from_the_environment_too(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "pseudonym.key"
    secret.write_text(KEY)
    monkeypatch.setenv("FIELDCOURT_PSEUDONYM_KEY_FILE", str(secret))
    assert load_settings().pseudonym_key_bytes() == KEY.encode()
