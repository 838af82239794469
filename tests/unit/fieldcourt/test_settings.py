from pathlib import Path

import pytest

from fieldcourt.settings import Environment, SettingsError, load_settings


def test_defaults_work_on_a_fresh_machine(tmp_path: Path) -> None:
    settings = load_settings(data_dir=tmp_path)
    assert settings.broker == "127.0.0.1:9092"
    assert settings.web_bind == "127.0.0.1"
    key = settings.pseudonym_key_bytes()
    assert len(key) >= 32
    assert load_settings(data_dir=tmp_path).pseudonym_key_bytes() == key  # stable across runs


def test_production_refuses_to_start_without_a_pseudonym_key(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="FIELDCOURT_PSEUDONYM_KEY"):
        load_settings(environment=Environment.PRODUCTION, data_dir=tmp_path)


def test_errors_name_the_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FIELDCOURT_WEB_PORT", "70000")
    with pytest.raises(SettingsError, match="FIELDCOURT_WEB_PORT"):
        load_settings()


def test_short_key_and_unknown_setting_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(SettingsError, match="at least 32 bytes"):
        load_settings(pseudonym_key="short")
    with pytest.raises(SettingsError, match="FIELDCOURT_NO_SUCH"):
        load_settings(no_such=1)


def test_secret_is_not_printed() -> None:
    settings = load_settings(pseudonym_key="k" * 40)
    assert "kkkk" not in repr(settings)


def test_every_table_has_its_changelog_in_the_catalogue(tmp_path: Path) -> None:
    """apply_topics creates the changelogs, with the partitions the tables expect."""
    from agents.app import create_app
    from fieldcourt.topics import catalogue

    settings = load_settings(data_dir=tmp_path, store="memory")
    app = create_app(settings)
    specs = {spec.name: spec for spec in catalogue(settings)}
    for table in app.tables.values():
        spec = specs[table.changelog_topic.get_topic_name()]
        assert spec.cleanup == "compact"
        assert (spec.partitions or settings.topic_partitions) == table.partitions
