"""docs/asyncapi.yaml is what the topic catalogue and the JSON Schemas give today, describes
every topic, and is a valid AsyncAPI 3.0.0 document by the official JSON Schema.

The official schema comes from the npm package ``@asyncapi/specs`` (publisher: the AsyncAPI
Initiative), which ``make test`` installs into ``.cache/npm/`` at the version the Makefile
pins. Outside ``make test`` it may be missing: the test then skips, except under CI, where it
fails.
"""

from __future__ import annotations

import copy
import json
import os
import re
from pathlib import Path
from typing import Any

import jsonschema
import pytest
import yaml

from fieldcourt.asyncapi import (
    JSON_SCHEMA_FORMAT,
    UnknownTopic,
    build_document,
    current_document,
    message_kind,
    render,
    write_document,
)
from fieldcourt.settings import Settings
from fieldcourt.topics import ALERTS_TOPIC, DEADLETTER_TOPIC, FIELD_TOPICS, catalogue
from streams.errors import Reason

ROOT = Path(__file__).resolve().parents[3]
DOC = ROOT / "docs" / "asyncapi.yaml"
SPECS = ROOT / ".cache" / "npm" / "node_modules" / "@asyncapi" / "specs"
OFFICIAL = SPECS / "schemas" / "3.0.0.json"
SETTINGS = Settings(app_id="fieldcourt")
REGENERATE = "regenerate: fieldcourt schemas asyncapi docs/asyncapi.yaml"


def committed() -> dict[str, Any]:
    document: dict[str, Any] = yaml.safe_load(DOC.read_text(encoding="utf-8"))
    return document


def pinned_version() -> str:
    found = re.search(
        r"^ASYNCAPI_SPECS_VERSION\s*:?=\s*(\S+)", (ROOT / "Makefile").read_text(), re.M
    )
    assert found, "the Makefile pins ASYNCAPI_SPECS_VERSION"
    return found.group(1)


@pytest.fixture(scope="module")
def official_schema() -> dict[str, Any]:
    if not OFFICIAL.is_file():
        reason = (
            f"the official AsyncAPI schema is not installed ({OFFICIAL.relative_to(ROOT)}): "
            "`make test` installs it (npm @asyncapi/specs)"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    package = json.loads((SPECS / "package.json").read_text())
    assert package["name"] == "@asyncapi/specs"
    assert package["version"] == pinned_version(), "make test reinstalls the pinned version"
    schema: dict[str, Any] = json.loads(OFFICIAL.read_text())
    return schema


def errors_of(schema: dict[str, Any], document: dict[str, Any]) -> list[str]:
    validator_class = jsonschema.validators.validator_for(schema)
    assert validator_class is jsonschema.Draft7Validator  # what the AsyncAPI schema declares
    validator_class.check_schema(schema)
    return [
        f"{'/'.join(map(str, error.absolute_path))}: {error.message[:300]}"
        for error in validator_class(schema).iter_errors(document)
    ]


def test_committed_document_is_what_the_code_gives() -> None:
    assert DOC.read_text(encoding="utf-8") == render(current_document(SETTINGS)), REGENERATE


def test_written_elsewhere_the_schema_refs_still_resolve(tmp_path: Path) -> None:
    written = write_document(tmp_path / "out" / "asyncapi.yaml", SETTINGS)
    refs = external_refs(yaml.safe_load(written.read_text(encoding="utf-8")))
    assert refs
    for ref in refs:
        assert (written.parent / ref).resolve().is_file(), ref


def test_valid_against_the_official_asyncapi_3_schema(official_schema: dict[str, Any]) -> None:
    assert errors_of(official_schema, committed()) == []


def test_the_official_schema_rejects_a_broken_document(official_schema: dict[str, Any]) -> None:
    """The validation above is not vacuous: what AsyncAPI 3 forbids is reported."""
    broken = copy.deepcopy(committed())
    operation = next(iter(broken["operations"].values()))
    operation["action"] = "publish"  # AsyncAPI 2 wording
    channel = next(iter(broken["channels"].values()))
    channel["bindings"]["kafka"]["partitions"] = 0
    errors = errors_of(official_schema, broken)
    assert any(e.startswith("operations/") for e in errors), errors
    assert any(e.startswith("channels/") for e in errors), errors


def test_every_catalogue_topic_is_a_channel() -> None:
    addresses = [channel["address"] for channel in committed()["channels"].values()]
    assert sorted(addresses) == sorted(spec.name for spec in catalogue(SETTINGS))


def test_operations_are_fieldcourts_reads_and_writes() -> None:
    document = committed()
    by_address = {c["address"]: cid for cid, c in document["channels"].items()}
    actions = {
        (op["channel"]["$ref"].removeprefix("#/channels/"), op["action"])
        for op in document["operations"].values()
    }
    for spec in catalogue(SETTINGS):
        channel = by_address[spec.name]
        reads = any(r.startswith("fieldcourt") for r in spec.readers)
        writes = any(w.startswith("fieldcourt") for w in spec.writers)
        assert ((channel, "receive") in actions) is reads, spec.name
        assert ((channel, "send") in actions) is writes, spec.name
    assert (by_address[FIELD_TOPICS[0]], "send") not in actions  # police systems write those


def payload_ref(channel: dict[str, Any]) -> str | None:
    (message,) = channel["messages"].values()
    payload = message["payload"]
    if "schema" not in payload:
        return None
    assert payload["schemaFormat"] == JSON_SCHEMA_FORMAT
    ref: str = payload["schema"]["$ref"]
    return ref.removeprefix("../schemas/json/").removesuffix(".json")


def test_each_topic_carries_its_schema() -> None:
    schema_of = {c["address"]: payload_ref(c) for c in committed()["channels"].values()}
    assert schema_of["field.arrests.v1"] == "arrest"
    assert schema_of["field.seizures.v1"] == "seizure"
    assert schema_of["field.dealing-addresses.v1"] == "dealing_address"
    assert schema_of[DEADLETTER_TOPIC] is None
    assert schema_of[ALERTS_TOPIC] == "alert"
    for section in ("p12", "p20", "f3", "p4"):
        assert schema_of[f"court.{section}.cases.v1"] == "case_event"
    enriched = {"events-valid", "by-subject", "by-address", "by-sector", "links"}
    internal = [s.name for s in catalogue(SETTINGS) if s.name.startswith("fieldcourt-")]
    assert {"fieldcourt-by-subject", "fieldcourt-links"} <= set(internal)
    for name in internal:
        expected = "enriched_event" if name.removeprefix("fieldcourt-") in enriched else None
        assert schema_of[name] == expected, name


def test_dead_letter_headers_list_every_reason() -> None:
    (channel,) = (c for c in committed()["channels"].values() if c["address"] == DEADLETTER_TOPIC)
    (message,) = channel["messages"].values()
    headers = message["headers"]
    assert headers["required"] == [
        "error.reason",
        "error.detail",
        "source.topic",
        "source.partition",
        "source.offset",
    ]
    assert headers["properties"]["error.reason"]["enum"] == [str(r) for r in Reason]


def test_every_channel_describes_its_key() -> None:
    for channel in committed()["channels"].values():
        (message,) = channel["messages"].values()
        assert message["bindings"]["kafka"]["key"]["description"], channel["address"]


def external_refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        found = [ref for ref in found if not ref.startswith("#")]
        return found + [ref for value in node.values() for ref in external_refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in external_refs(value)]
    return []


def internal_refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        own = node.get("$ref")
        found = [own] if isinstance(own, str) and own.startswith("#/") else []
        return found + [ref for value in node.values() for ref in internal_refs(value)]
    if isinstance(node, list):
        return [ref for value in node for ref in internal_refs(value)]
    return []


def test_references_resolve() -> None:
    document = committed()
    externals = external_refs(document)
    assert externals
    for ref in externals:
        assert (DOC.parent / ref).is_file(), ref
    for ref in internal_refs(document):
        node: Any = document
        for part in ref.removeprefix("#/").split("/"):
            node = node[part.replace("~1", "/").replace("~0", "~")]


def test_a_topic_it_does_not_know_is_refused() -> None:
    with pytest.raises(UnknownTopic, match="fieldcourt-new-stream"):
        message_kind("fieldcourt-new-stream", "fieldcourt")
    with pytest.raises(UnknownTopic, match=re.escape("field.other.v1")):
        message_kind("field.other.v1", "fieldcourt")


def test_internal_topics_follow_the_app_id() -> None:
    addresses = {
        c["address"] for c in current_document(Settings(app_id="other"))["channels"].values()
    }
    assert {"other-by-subject", "other-cases-changelog"} <= addresses
    assert not any(a.startswith("fieldcourt-") for a in addresses)


def test_a_missing_schema_is_refused() -> None:
    with pytest.raises(UnknownTopic, match="arrest"):
        build_document(catalogue(SETTINGS), {}, app_id="fieldcourt", reasons=[], version="0")


def test_the_command_writes_the_document(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from fieldcourt.cli import main

    target = tmp_path / "asyncapi.yaml"
    assert main(["schemas", "asyncapi", str(target)]) == 0
    assert capsys.readouterr().out.strip() == str(target)
    assert yaml.safe_load(target.read_text(encoding="utf-8"))["asyncapi"] == "3.0.0"
