"""The rules file: shipped defaults, overrides, and errors that name the bad entry."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from streams.rules import RULE_IDS, RulesConfig, RulesConfigError, load_rules
from tests.unit.streams.rules.builders import ROSA
from tests.unit.streams.rules.memory import rules


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text)
    return path


def refusal(tmp_path: Path, text: str) -> str:
    with pytest.raises(RulesConfigError) as caught:
        load_rules(write(tmp_path, text))
    return str(caught.value)


def test_shipped_file_holds_every_rule_with_the_spec_numbers() -> None:
    shipped = load_rules(None)
    assert shipped == RulesConfig()
    assert shipped.lateness == timedelta(days=7)
    assert set(shipped.rules.model_dump(by_alias=True)) == set(RULE_IDS)
    assert len(RULE_IDS) == 8
    r = shipped.rules
    assert (r.recurrence.min_arrests, r.recurrence.window_days) == (3, 30)
    assert (r.seizure.min_quantity_g, r.seizure.min_cash_eur, r.seizure.min_weapons) == (
        50,
        5000,
        1,
    )
    assert (r.surge.min_count, r.surge.factor, r.surge.once_per_hours) == (10, 3, 24)
    assert (r.network.min_subjects, r.network.window_days) == (4, 60)


def test_a_file_sets_only_what_it_names(tmp_path: Path) -> None:
    config = load_rules(write(tmp_path, "rules:\n  p20.recurrence:\n    min_arrests: 4\n"))
    assert config.rules.recurrence.min_arrests == 4
    assert config.rules.recurrence.window_days == 30
    assert config.rules.surge == RulesConfig().rules.surge
    assert load_rules(write(tmp_path, "")) == RulesConfig()


def test_sector_override_replaces_only_its_own_keys() -> None:
    surge = rules(
        cojc_surge={"min_count": 12, "factor": 4, "sectors": {ROSA: {"min_count": 6}}}
    ).rules.surge
    assert (surge.for_sector(ROSA).min_count, surge.for_sector(ROSA).factor) == (6, 4)
    assert surge.for_sector("stalingrad").min_count == 12
    assert surge.for_sector(None).min_count == 12
    assert [p.min_count for p in surge.variants()] == [12, 6]


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        (
            "rules:\n  p20.recurrence:\n    window_days: 0\n",
            "rules.p20.recurrence.window_days: must be > 0",
        ),
        (
            "rules:\n  cojc.displacement:\n    window_days: -3\n",
            "rules.cojc.displacement.window_days: must be > 0",
        ),
        ("rules:\n  cojc.surge:\n    min_count: 0\n", "rules.cojc.surge.min_count: must be > 0"),
        ("rules:\n  cojc.surge:\n    factor: 0\n", "rules.cojc.surge.factor: must be > 0"),
        ("rules:\n  cojc.surge:\n    factor: -1.5\n", "rules.cojc.surge.factor: must be > 0"),
        ("lateness_days: 0\n", "lateness_days: must be > 0"),
        (
            "rules:\n  cojc.surge:\n    sectors:\n      rosa-parks: {factor: 0}\n",
            "rules.cojc.surge.sectors.rosa-parks.factor: must be > 0",
        ),
        ("rules:\n  cojc.surge:\n    min_cout: 3\n", "rules.cojc.surge.min_cout: unknown key"),
        ("rules:\n  p99.magic: {}\n", "rules.p99.magic: unknown rule (known: p12.flagrant"),
        ("colour: blue\n", "colour: unknown key"),
        (
            "rules:\n  cojc.surge:\n    min_count: '10'\n",
            "rules.cojc.surge.min_count: Input should be a valid integer",
        ),
        (
            "rules:\n  f3.seizure:\n    substances: [crack, talc]\n",
            "rules.f3.seizure.substances.1: Input should be",
        ),
        ("rules:\n  f3.seizure:\n    substances: []\n", "rules.f3.seizure.substances:"),
        (
            "rules:\n  p12.flagrant:\n    sectors: {rosa-parks: {}}\n",
            "rules.p12.flagrant.sectors: unknown key",
        ),
        (
            "rules:\n  cojc.surge:\n    sectors: {a: {sectors: {b: {min_count: 2}}}}\n",
            "rules.cojc.surge.sectors: a sector override cannot have sectors of its own (a)",
        ),
        ("rules:\n  cojc.surge:\n    factor: .inf\n", "rules.cojc.surge.factor:"),
    ],
)
def test_bad_entries_are_refused_by_name(tmp_path: Path, yaml_text: str, expected: str) -> None:
    message = refusal(tmp_path, yaml_text)
    assert message.startswith(f"{tmp_path / 'rules.yaml'}: ")
    assert expected in message


def test_every_bad_entry_is_reported(tmp_path: Path) -> None:
    message = refusal(
        tmp_path,
        "rules:\n  p20.recurrence:\n    window_days: 0\n    min_arrests: 0\n",
    )
    assert len(message.splitlines()) == 2


@pytest.mark.parametrize(
    ("yaml_text", "expected"),
    [
        ("rules: [1, 2]\n", "rules: Input should be"),
        ("- just\n- a list\n", "expected a mapping at the top level"),
        ("rules: {p20.recurrence: {window_days: 30\n", "not valid YAML"),
        ("lateness_days: 7\nlateness_days: 8\n", "duplicate key 'lateness_days'"),
    ],
)
def test_malformed_files_are_refused(tmp_path: Path, yaml_text: str, expected: str) -> None:
    assert expected in refusal(tmp_path, yaml_text)


def test_a_missing_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(RulesConfigError, match="cannot read"):
        load_rules(tmp_path / "absent.yaml")
