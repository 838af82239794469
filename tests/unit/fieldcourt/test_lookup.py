"""``fieldcourt subject lookup``: the reference ingest would give, and the cases holding it."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import orjson
import pytest

from fieldcourt.cli import build_parser
from fieldcourt.lookup import (
    IdentityError,
    attributes_from_file,
    attributes_from_prompt,
    describe,
    holdings,
    prompt_on,
    subject_ref_of,
)
from schemas.cases import CaseEvent
from streams.enrich import Enricher
from streams.geofence import load_sectors
from streams.pseudonym import Pseudonymiser
from tests.conftest import TEST_KEY
from tests.factories import make_arrest, raw_person
from tests.unit.schemas.examples import example

KEY = Pseudonymiser(TEST_KEY.encode())


def ingest_ref(person: dict[str, Any]) -> str:
    """The reference ingest gives the person of an arrest."""
    enriched = Enricher(KEY, load_sectors(None)).enrich(make_arrest(person=person))
    return enriched.subjects[0].ref


def test_the_reference_is_the_one_ingest_gives_from_names_or_person_id() -> None:
    person = raw_person(2)
    assert subject_ref_of(person, KEY) == ingest_ref(person)
    typed = {
        "last_name": f"  {person['last_name'].upper()} ",
        "first_name": person["first_name"].lower(),
        "birth_date": person["birth_date"],
    }
    assert subject_ref_of(typed, KEY) == ingest_ref(person)  # normalised like ingest
    known = raw_person(3, person_id="FAED-0042")
    assert subject_ref_of({"person_id": "FAED-0042"}, KEY) == ingest_ref(known)
    assert subject_ref_of({**person, "birth_date": ""}, KEY) != ingest_ref(person)


@pytest.mark.parametrize(
    ("attributes", "field"),
    [
        ({"last_name": "Quillardet"}, "first_name"),
        ({"last_name": "Quillardet", "first_name": "Oréos", "birth_date": "1/2/99"}, "birth_date"),
        ({"person_id": 42}, "person_id"),
    ],
)
def test_incomplete_attributes_are_refused_naming_the_field_not_the_value(
    attributes: dict[str, Any], field: str
) -> None:
    with pytest.raises(IdentityError) as refused:
        subject_ref_of(attributes, KEY)
    assert field in str(refused.value)
    assert "Quillardet" not in str(refused.value)
    assert refused.value.exit_status == 2


def test_attributes_come_from_a_json_file(tmp_path: Path) -> None:
    path = tmp_path / "identity.json"
    path.write_bytes(orjson.dumps(raw_person(1)))
    assert subject_ref_of(attributes_from_file(path), KEY) == ingest_ref(raw_person(1))
    path.write_bytes(b"[1, 2]")
    with pytest.raises(IdentityError, match="JSON object"):
        attributes_from_file(path)
    with pytest.raises(IdentityError, match="cannot read"):
        attributes_from_file(tmp_path / "missing.json")


def test_attributes_come_from_the_prompt_and_are_not_echoed() -> None:
    person = raw_person(4)
    typed = io.StringIO(
        f"\n{person['last_name']}\n{person['first_name']}\n{person['birth_date']}\n"
    )
    prompts = io.StringIO()
    attributes = attributes_from_prompt(prompt_on(typed, prompts))
    assert subject_ref_of(attributes, KEY) == ingest_ref(person)
    assert "last name: " in prompts.getvalue()
    assert person["last_name"] not in prompts.getvalue()


def test_names_are_never_taken_from_the_command_line() -> None:
    parser = build_parser()
    args = parser.parse_args(["subject", "lookup", "--purpose", "DPO-2026-7"])
    assert (args.purpose, args.identity_file) == ("DPO-2026-7", None)
    for argv in (
        ["subject", "lookup", "--purpose", "x", "--last-name", "Quillardet"],
        ["subject", "lookup", "--purpose", " "],
        ["subject", "lookup"],
    ):
        with pytest.raises(SystemExit):
            parser.parse_args(argv)


def case(
    case_id: str, version: int, refs: list[str], event_type: str = "case_updated"
) -> CaseEvent:
    return CaseEvent.model_validate(
        {
            **example(CaseEvent),
            "case_id": case_id,
            "version": version,
            "event_type": event_type,
            "subjects": [{"ref": ref, "roles": ["seller"]} for ref in refs],
        }
    )


def test_holdings_list_the_cases_holding_the_subject_and_those_that_no_longer_do() -> None:
    me, other = "S-AAAAAAAAAAAAAAAA", "S-BBBBBBBBBBBBBBBB"
    events = [
        case("C-1", 1, [me, other], "case_opened"),
        case("C-2", 1, [me], "case_opened"),
        case("C-3", 1, [other], "case_opened"),
        case("C-1", 2, [other]),  # removed by an acquittal
        case("C-2", 2, [me], "case_closed"),
    ]
    found = holdings(me, reversed(events))  # the order read does not matter
    assert [(h.case_id, h.status, h.version, h.roles) for h in found] == [
        ("C-1", "open", 2, ()),
        ("C-2", "closed", 2, ("seller",)),
    ]
    lines = describe(me, found)
    assert lines[0] == f"{me}: 1 case(s) hold this subject"
    assert "removed from it since" in lines[1]
    assert "closed" in lines[2]
    assert describe(me, holdings(me, events[2:3])) == [f"{me}: no case holds this subject"]
