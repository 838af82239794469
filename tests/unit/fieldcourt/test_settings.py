import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from fieldcourt.kafka_local import free_port
from fieldcourt.settings import (
    NOT_SETTINGS,
    PROJECT_ROOT,
    Environment,
    Settings,
    SettingsError,
    load_settings,
)

#: The console script of this virtualenv, as a user types it.
FIELDCOURT = Path(sys.executable).parent / "fieldcourt"


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

    settings = load_settings(data_dir=tmp_path, store="memory", kafka_security="plaintext")
    app = create_app(settings)
    specs = {spec.name: spec for spec in catalogue(settings)}
    for table in app.tables.values():
        spec = specs[table.changelog_topic.get_topic_name()]
        assert spec.cleanup == "compact"
        assert (spec.partitions or settings.topic_partitions) == table.partitions


def test_an_unknown_variable_is_refused_with_the_settings_it_resembles(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FIELDCOURT_BROKR", "10.0.0.1:9092")
    monkeypatch.setenv("FIELDCOURT_PURGE_INTERVALS", "60")
    with pytest.raises(SettingsError) as caught:
        load_settings()
    message = str(caught.value)
    assert "FIELDCOURT_BROKR: not a fieldcourt setting (did you mean FIELDCOURT_BROKER?)" in (
        message
    )
    assert "FIELDCOURT_PURGE_INTERVALS: not a fieldcourt setting (did you mean " in message
    assert "FIELDCOURT_PURGE_INTERVAL_S" in message


def test_an_unknown_variable_unlike_any_setting_points_to_the_list(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("FIELDCOURT_XYZZY", "1")
    with pytest.raises(SettingsError, match=r"FIELDCOURT_XYZZY: not a fieldcourt setting \(see"):
        load_settings()


def test_known_variables_in_any_case_and_the_test_bootstrap_are_accepted(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """pydantic-settings reads names regardless of case; the check agrees with it."""
    monkeypatch.setenv("fieldcourt_broker", "10.0.0.1:9092")
    monkeypatch.setenv("FIELDCOURT_TEST_BOOTSTRAP", "127.0.0.1:9092")  # the suite's own
    assert load_settings().broker == "10.0.0.1:9092"


@pytest.mark.parametrize("field", ["rules_file", "sectors_file"])
def test_rules_and_sectors_files_must_exist_at_start(tmp_path: Path, field: str) -> None:
    variable = f"FIELDCOURT_{field.upper()}"
    with pytest.raises(SettingsError, match=f"{variable}: no such file: {tmp_path / 'absent'}"):
        load_settings(**{field: tmp_path / "absent"})
    with pytest.raises(SettingsError, match=f"{variable}: no such file"):
        load_settings(**{field: tmp_path})  # a folder
    present = tmp_path / "present"
    present.write_text("")  # its content is the loader's business
    assert getattr(load_settings(**{field: present}), field) == present


def test_every_setting_is_documented_in_the_readme() -> None:
    readme = (PROJECT_ROOT / "README.md").read_text()
    section = readme.split("## Configuration", 1)[1].split("\n## ", 1)[0]
    documented = set(re.findall(r"`(FIELDCOURT_[A-Z_]+)`", section))
    settings = {f"FIELDCOURT_{name.upper()}" for name in Settings.model_fields}
    assert documented == settings | NOT_SETTINGS


def _cli(tmp_path: Path, *args: str, **settings: str) -> subprocess.CompletedProcess[str]:
    """The ``fieldcourt`` console script with only ``settings`` among FIELDCOURT_* variables."""
    env = {k: v for k, v in os.environ.items() if not k.upper().startswith("FIELDCOURT_")}
    env.update(FIELDCOURT_DATA_DIR=str(tmp_path / "data"), **settings)
    return subprocess.run(
        [str(FIELDCOURT), *args],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _closed_port() -> str:
    return f"127.0.0.1:{free_port()}"  # bound then released: nothing listens there


@pytest.fixture
def bad_rules(tmp_path: Path) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text("rules:\n  p20.recurrence:\n    window_days: 0\n")
    return path


@pytest.fixture
def bad_sectors(tmp_path: Path) -> Path:
    path = tmp_path / "sectors.geojson"
    path.write_text('{"type": "Feature"}')
    return path


@pytest.mark.parametrize(
    ("args", "settings", "status", "line"),
    [
        pytest.param(
            ["topics", "apply"],
            {"FIELDCOURT_BROKR": "x"},
            2,
            "fieldcourt: invalid configuration: FIELDCOURT_BROKR: not a fieldcourt setting "
            "(did you mean FIELDCOURT_BROKER?)",
            id="unknown-variable",
        ),
        pytest.param(
            ["worker"],
            {"FIELDCOURT_WEB_PORT": "70000"},
            2,
            "fieldcourt: invalid configuration: FIELDCOURT_WEB_PORT: Input should be less "
            "than or equal to 65535",
            id="bad-value",
        ),
        pytest.param(
            ["worker"],
            {"FIELDCOURT_RULES_FILE": "{bad_rules}"},
            2,
            "fieldcourt worker: rules: {bad_rules}: rules.p20.recurrence.window_days: must be > 0",
            id="bad-rules-before-the-broker",
        ),
        pytest.param(
            ["worker"],
            {"FIELDCOURT_SECTORS_FILE": "{bad_sectors}"},
            2,
            "fieldcourt worker: sectors: {bad_sectors}: sectors must be a GeoJSON "
            "FeatureCollection",
            id="bad-sectors-before-the-broker",
        ),
        pytest.param(
            ["topics", "apply"],
            {"FIELDCOURT_KAFKA_SECURITY": "plaintext"},
            1,
            "fieldcourt topics: Kafka: cannot reach the broker at {broker} (FIELDCOURT_BROKER)",
            id="topics-broker-unreachable",
        ),
        pytest.param(
            ["worker"],
            {"FIELDCOURT_KAFKA_SECURITY": "plaintext"},
            1,
            "fieldcourt worker: Kafka: cannot reach the broker at {broker} (FIELDCOURT_BROKER)",
            id="worker-broker-unreachable",
        ),
        pytest.param(
            ["replay", "{bad_rules}"],
            {},
            2,
            "fieldcourt replay: no Kafka credentials: {data}/kafka/credentials.json does not "
            "exist (start the local broker with `fieldcourt kafka up`, or set "
            "FIELDCOURT_KAFKA_PASSWORD_FILE)",
            id="no-credentials-before-the-broker",
        ),
        pytest.param(
            ["acl", "apply"],
            {"FIELDCOURT_KAFKA_PASSWORD_FILE": "{bad_rules}"},
            2,
            "fieldcourt acl: no CA to verify the broker: {data}/kafka/tls/ca.pem does not "
            "exist (start the local broker with `fieldcourt kafka up`, or set "
            "FIELDCOURT_KAFKA_CA_FILE)",
            id="no-ca-before-the-broker",
        ),
    ],
)
def test_the_command_reports_a_bad_configuration_or_broker_in_one_line(
    tmp_path: Path,
    bad_rules: Path,
    bad_sectors: Path,
    args: list[str],
    settings: dict[str, str],
    status: int,
    line: str,
) -> None:
    """Exit 2 for the configuration, checked before any broker call (the broker here is a
    closed port), 1 for a broker that cannot be reached; one line on stderr, no traceback."""
    values = {
        "bad_rules": str(bad_rules),
        "bad_sectors": str(bad_sectors),
        "broker": _closed_port(),
        "data": str(tmp_path / "data"),
    }
    given = {name: value.format(**values) for name, value in settings.items()}
    result = _cli(tmp_path, *args, FIELDCOURT_BROKER=values["broker"], **given)
    assert (result.returncode, result.stderr) == (status, line.format(**values) + "\n")
