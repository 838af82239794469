"""What fieldcourt writes (docs/contract.md §4.5, §7): enriched events, case events and
COJC alerts."""

from __future__ import annotations

import json
from typing import Any, get_args

import pytest
from pydantic import BaseModel, ValidationError

from schemas import codec
from schemas.cases import Alert, AlertType, AnchorKind, CaseEvent, CaseEventType, Section
from schemas.enriched import EnrichedEvent, SubjectRole

from .examples import MISSING, accepts, edited, example, rejects

OUTPUTS = [EnrichedEvent, CaseEvent, Alert]


@pytest.mark.parametrize("model", OUTPUTS, ids=lambda m: m.__name__)
def test_examples_are_valid_and_round_trip(model: type[BaseModel]) -> None:
    event = accepts(model, example(model))
    assert codec.loads(model, codec.dumps(event)) == event


TIMESTAMPS: dict[type[BaseModel], list[str]] = {
    EnrichedEvent: ["occurred_at", "reported_at"],
    CaseEvent: ["first_event_at", "last_event_at", "emitted_at"],
    Alert: ["emitted_at"],
}


@pytest.mark.parametrize("model", OUTPUTS, ids=lambda m: m.__name__)
def test_timestamps_are_emitted_in_utc_with_z(model: type[BaseModel]) -> None:
    doc = example(model)
    fields = TIMESTAMPS[model]
    for field in fields:
        doc[field] = "2025-09-01T22:15:00+02:00"
    emitted = json.loads(codec.dumps(accepts(model, doc)))
    assert [emitted[field] for field in fields] == ["2025-09-01T20:15:00Z"] * len(fields)


def test_alert_window_is_emitted_in_utc() -> None:
    doc = edited(example(Alert), ("window", "end"), "2025-10-02T11:00:00+02:00")
    emitted = json.loads(codec.dumps(accepts(Alert, doc)))
    assert emitted["window"] == {"start": "2025-09-01T20:15:00Z", "end": "2025-10-02T09:00:00Z"}


# --- case events ----------------------------------------------------------------------------


@pytest.mark.parametrize("event_type", get_args(CaseEventType))
@pytest.mark.parametrize("section", get_args(Section))
def test_case_event_types_and_sections(event_type: str, section: str) -> None:
    doc = edited(edited(example(CaseEvent), ("event_type",), event_type), ("section",), section)
    case = accepts(CaseEvent, doc)
    assert (case.event_type, case.section) == (event_type, section)


@pytest.mark.parametrize("kind", get_args(AnchorKind))
def test_case_anchor_kinds(kind: str) -> None:
    case = accepts(CaseEvent, edited(example(CaseEvent), ("anchor", "kind"), kind))
    assert case.anchor.kind == kind


def test_case_event_defaults() -> None:
    doc = example(CaseEvent)
    for field in ("subjects", "evidence"):
        del doc[field]
    case = accepts(CaseEvent, doc)
    assert case.previous_section is None
    assert case.transferred_to is None
    assert case.merged_into is None
    assert [case.subjects, case.addresses, case.evidence, case.procedure_refs] == [[]] * 4


def test_case_transfer_and_merge_pointers() -> None:
    doc = example(CaseEvent) | {
        "event_type": "case_transferred",
        "section": "P12",
        "transferred_to": "F3",
        "merged_into": "C-77aa01",
        "previous_section": None,
        "sector": None,
        "version": 4,
    }
    case = accepts(CaseEvent, doc)
    assert (case.transferred_to, case.merged_into, case.sector) == ("F3", "C-77aa01", None)


def test_case_subject_roles_default_empty() -> None:
    doc = edited(example(CaseEvent), ("subjects",), [{"ref": "S-AAAABBBBCCCCDDDD"}])
    assert accepts(CaseEvent, doc).subjects[0].roles == []


# --- alerts ---------------------------------------------------------------------------------


@pytest.mark.parametrize("alert_type", get_args(AlertType))
def test_alert_types(alert_type: str) -> None:
    alert = accepts(Alert, edited(example(Alert), ("alert_type",), alert_type))
    assert alert.alert_type == alert_type


def test_alert_from_sector_is_optional() -> None:
    doc = edited(edited(example(Alert), ("alert_type",), "surge"), ("from_sector",), MISSING)
    assert accepts(Alert, doc).from_sector is None


# --- enriched events ------------------------------------------------------------------------


@pytest.mark.parametrize("role", get_args(SubjectRole))
def test_enriched_subject_roles(role: str) -> None:
    doc = edited(example(EnrichedEvent), ("subjects", 0, "role"), role)
    assert accepts(EnrichedEvent, doc).subjects[0].role == role


# --- refused, all three ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("model", "path", "value"),
    [
        (CaseEvent, ("event_type",), "case_reopened"),
        (CaseEvent, ("section",), "P99"),
        (CaseEvent, ("section",), "p12"),
        (CaseEvent, ("previous_section",), "F4"),
        (CaseEvent, ("transferred_to",), "X"),
        (CaseEvent, ("case_id",), "C-"),
        (CaseEvent, ("case_id",), "C-ABC123"),
        (CaseEvent, ("case_id",), "c-abc123"),
        (CaseEvent, ("case_id",), "A-abc123"),
        (CaseEvent, ("case_id",), MISSING),
        (CaseEvent, ("anchor",), MISSING),
        (CaseEvent, ("anchor", "kind"), "person"),
        (CaseEvent, ("anchor", "ref"), ""),
        (CaseEvent, ("anchor", "extra"), "x"),
        (CaseEvent, ("rule_ids",), MISSING),
        (CaseEvent, ("rule_ids",), "p12.flagrant"),
        (CaseEvent, ("reason",), ""),
        (CaseEvent, ("reason",), MISSING),
        (CaseEvent, ("subjects",), [{"roles": ["seller"]}]),
        (CaseEvent, ("subjects",), [{"ref": "S-AAAABBBBCCCCDDDD", "name": "Fictif"}]),
        (CaseEvent, ("first_event_at",), "2025-09-01T20:15:00"),
        (CaseEvent, ("last_event_at",), MISSING),
        (CaseEvent, ("emitted_at",), 1756757700),
        (CaseEvent, ("version",), 0),
        (CaseEvent, ("version",), 1.5),
        (CaseEvent, ("version",), "1"),
        (CaseEvent, ("unexpected",), "x"),
        (Alert, ("alert_type",), "migration"),
        (Alert, ("alert_id",), "A-"),
        (Alert, ("alert_id",), "C-91bc07"),
        (Alert, ("sector",), MISSING),
        (Alert, ("sector",), None),
        (Alert, ("window",), MISSING),
        (Alert, ("window", "start"), "2025-09-01T20:15:00"),
        (Alert, ("window", "end"), MISSING),
        (Alert, ("window", "length"), "P30D"),
        (Alert, ("subjects",), "S-AAAABBBBCCCCDDDD"),
        (Alert, ("reason",), ""),
        (Alert, ("emitted_at",), "yesterday"),
        (Alert, ("unexpected",), "x"),
        (EnrichedEvent, ("kind",), "search"),
        (EnrichedEvent, ("subjects", 0, "ref"), "S-aaaabbbbccccdddd"),
        (EnrichedEvent, ("subjects", 0, "ref"), "S-AAAABBBBCCCCDDD1"),
        (EnrichedEvent, ("subjects", 0, "ref"), "S-AAAABBBB"),
        (EnrichedEvent, ("subjects", 0, "role"), "boss"),
        (EnrichedEvent, ("subjects", 0, "last_name"), "Fictif"),
        (EnrichedEvent, ("person",), {"last_name": "Fictif", "first_name": "Aubin"}),
        (EnrichedEvent, ("narcotics",), MISSING),
        (EnrichedEvent, ("narcotics",), 1),
        (EnrichedEvent, ("report_delay_s",), "2700"),
        (EnrichedEvent, ("lat",), 91),
        (EnrichedEvent, ("weapons",), 0.5),
        (EnrichedEvent, ("occurred_at",), "2025-09-01T20:15:00"),
    ],
    ids=lambda x: x.__name__ if isinstance(x, type) else None,
)
def test_refused(model: type[BaseModel], path: tuple[str | int, ...], value: Any) -> None:
    rejects(model, edited(example(model), path, value), path)


def test_blank_names_and_names_in_outputs_are_refused() -> None:
    """A blank name would merge people into one subject; a name must never reach an output."""
    from schemas.cases import Alert, CaseSubject
    from schemas.common import Person

    with pytest.raises(ValidationError):
        Person(last_name="   ", first_name="Alrik")
    with pytest.raises(ValidationError):
        CaseSubject(ref="Zorvanek Alrik")
    with pytest.raises(ValidationError):
        Alert.model_validate(
            {
                "alert_type": "surge",
                "alert_id": "A-1",
                "sector": "x",
                "subjects": ["Zorvanek"],
                "window": {"start": "2025-01-01T00:00:00Z", "end": "2025-01-02T00:00:00Z"},
                "reason": "r",
                "emitted_at": "2025-01-02T00:00:00Z",
            }
        )
