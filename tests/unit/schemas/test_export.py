"""The committed JSON Schema files match the models, and exporting them is deterministic."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

import schemas
from schemas.export import EVENT_TYPES, check_schemas, export_schemas

COMMITTED = Path(schemas.__file__).parent / "json"
FILE_NAMES = sorted(f"{event_type}.json" for event_type in EVENT_TYPES)


def test_committed_schemas_match_the_models() -> None:
    drifted = check_schemas(COMMITTED)
    assert drifted == [], f"re-export: fieldcourt schemas export schemas/json ({drifted})"


def test_one_file_per_event_type() -> None:
    assert sorted(EVENT_TYPES) == [
        "alert",
        "arrest",
        "audit_record",
        "case_event",
        "dealing_address",
        "enriched_event",
        "outcome",
        "seizure",
    ]


def test_export_is_deterministic(tmp_path: Path) -> None:
    first = export_schemas(tmp_path / "a")
    second = export_schemas(tmp_path / "b")
    assert sorted(path.name for path in first) == FILE_NAMES
    assert [path.read_bytes() for path in first] == [path.read_bytes() for path in second]
    assert check_schemas(tmp_path / "a") == []


@pytest.mark.parametrize("name", FILE_NAMES)
def test_files_are_pretty_sorted_and_identified(name: str) -> None:
    text = (COMMITTED / name).read_text(encoding="utf-8")
    schema = json.loads(text)
    assert text == json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    assert schema["$schema"] == "https://json-schema.org/draft/2020-12/schema"
    assert schema["$id"] == f"urn:fieldcourt:schema:{name.removesuffix('.json')}:v1"
    assert schema["title"]
    assert schema["description"]
    assert schema["additionalProperties"] is False


def test_ids_are_unique() -> None:
    ids = [json.loads((COMMITTED / name).read_text())["$id"] for name in FILE_NAMES]
    assert len(set(ids)) == len(ids)


def test_dealing_address_requires_an_address() -> None:
    schema = json.loads((COMMITTED / "dealing_address.json").read_text())
    location = schema["$defs"][schema["properties"]["location"]["$ref"].rsplit("/", 1)[1]]
    assert "address" in location["required"]


def test_check_names_missing_different_and_extra_files(tmp_path: Path) -> None:
    export_schemas(tmp_path)
    (tmp_path / "arrest.json").unlink()
    with (tmp_path / "alert.json").open("a") as changed:
        changed.write(" ")
    (tmp_path / "stray.json").write_text("{}\n")
    (tmp_path / "README.md").write_text("not a schema\n")
    assert check_schemas(tmp_path) == ["alert.json", "arrest.json", "stray.json"]


def test_check_of_a_missing_directory_names_every_file(tmp_path: Path) -> None:
    assert check_schemas(tmp_path / "absent") == FILE_NAMES


def test_export_leaves_other_files_alone(tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("kept\n")
    export_schemas(tmp_path)
    assert (tmp_path / "notes.txt").read_text() == "kept\n"
