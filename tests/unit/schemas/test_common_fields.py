"""The common fields of docs/contract.md §4.1, checked on every inbound event type: ids,
timestamps, source, location."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import pytest
from pydantic import BaseModel

from schemas import codec
from schemas.field import Arrest, DealingAddress, FieldEventBase, Seizure

from .examples import MISSING, accepts, edited, example, rejects

FIELD_EVENTS = [Arrest, Seizure, DealingAddress]

pytestmark = pytest.mark.parametrize("model", FIELD_EVENTS, ids=lambda m: m.__name__)


def test_the_example_is_valid(model: type[FieldEventBase]) -> None:
    event = accepts(model, example(model))
    assert event.event_id == "evt-0001"
    assert event.source.unit == "BAC 75N"


@pytest.mark.parametrize("event_id", ["e", "x" * 128, "PV-2025/001234 #3", "évènement"])
def test_event_id_of_1_to_128_chars(model: type[FieldEventBase], event_id: str) -> None:
    assert accepts(model, edited(example(model), ("event_id",), event_id)).event_id == event_id


@pytest.mark.parametrize("event_id", ["", "x" * 129, "evt\n1", "evt\x00", 42, None, MISSING])
def test_event_id_refused(model: type[BaseModel], event_id: Any) -> None:
    rejects(model, edited(example(model), ("event_id",), event_id), ("event_id",))


@pytest.mark.parametrize(
    ("wire", "utc"),
    [
        ("2025-09-01T22:15:00+02:00", dt.datetime(2025, 9, 1, 20, 15, tzinfo=dt.UTC)),
        ("2025-09-01T20:15:00Z", dt.datetime(2025, 9, 1, 20, 15, tzinfo=dt.UTC)),
        ("2025-09-01t20:15:00z", dt.datetime(2025, 9, 1, 20, 15, tzinfo=dt.UTC)),
        ("2025-09-01T15:45:00.5-04:30", dt.datetime(2025, 9, 1, 20, 15, 0, 500000, tzinfo=dt.UTC)),
    ],
)
def test_occurred_at_with_an_offset_is_held_in_utc(
    model: type[FieldEventBase], wire: str, utc: dt.datetime
) -> None:
    event = accepts(model, edited(example(model), ("occurred_at",), wire))
    assert event.occurred_at == utc
    assert event.occurred_at.tzinfo == dt.UTC


@pytest.mark.parametrize(
    "wire",
    [
        pytest.param("2025-09-01T20:15:00", id="naive"),
        pytest.param("2025-09-01", id="date-only"),
        pytest.param("1756757700", id="unix-time-string"),
        pytest.param(1756757700, id="unix-time-number"),
        pytest.param("2025-09-01T20:15:00+0200", id="offset-without-colon"),
        pytest.param("2025-09-01T20:15Z", id="no-seconds"),
        pytest.param("01/09/2025 20:15", id="french-format"),
        pytest.param("2025-09-31T20:15:00Z", id="no-such-day"),
        pytest.param("2025-09-01T24:00:00Z", id="hour-24"),
        pytest.param("2025-09-01T20:15:00+24:00", id="offset-of-a-day"),
        pytest.param("0001-01-01T00:00:00+01:00", id="before-year-1-in-utc"),
        pytest.param("9999-12-31T23:30:00-01:00", id="after-year-9999-in-utc"),
        pytest.param("", id="empty"),
        pytest.param(None, id="null"),
        pytest.param(MISSING, id="missing"),
    ],
)
def test_occurred_at_refused(model: type[BaseModel], wire: Any) -> None:
    rejects(model, edited(example(model), ("occurred_at",), wire), ("occurred_at",))


def test_reported_at_defaults_to_occurred_at(model: type[FieldEventBase]) -> None:
    event = accepts(model, example(model))
    assert event.reported_at is None
    assert event.reported == event.occurred_at


def test_reported_at_when_given(model: type[FieldEventBase]) -> None:
    event = accepts(model, edited(example(model), ("reported_at",), "2025-09-02T08:00:00+02:00"))
    assert event.reported == dt.datetime(2025, 9, 2, 6, tzinfo=dt.UTC)


def test_reported_at_must_carry_an_offset(model: type[BaseModel]) -> None:
    doc = edited(example(model), ("reported_at",), "2025-09-02T08:00:00")
    rejects(model, doc, ("reported_at",))


def test_timestamps_are_emitted_in_utc_with_z(model: type[BaseModel]) -> None:
    doc = edited(example(model), ("reported_at",), "2025-09-02T08:00:00.250+02:00")
    emitted = json.loads(codec.dumps(accepts(model, doc)))
    assert emitted["occurred_at"] == "2025-09-01T20:15:00Z"
    assert emitted["reported_at"] == "2025-09-02T06:00:00.250000Z"


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("source",), MISSING),
        (("source",), "synthetic-lrp"),
        (("source", "system"), MISSING),
        (("source", "unit"), MISSING),
        (("source", "unit"), ""),
        (("source", "unit"), 75),
    ],
)
def test_source_is_required_and_complete(
    model: type[BaseModel], path: tuple[str, ...], value: Any
) -> None:
    rejects(model, edited(example(model), path, value), path)


@pytest.mark.parametrize("field", ["procedure_ref", "operation_ref"])
def test_references_are_optional(model: type[BaseModel], field: str) -> None:
    assert getattr(accepts(model, example(model)), field) is None
    doc = edited(example(model), (field,), "PV-2025-000123")
    assert getattr(accepts(model, doc), field) == "PV-2025-000123"
    rejects(model, edited(example(model), (field,), ""), (field,))
    rejects(model, edited(example(model), (field,), 123), (field,))


@pytest.mark.parametrize(
    ("lat", "lon"), [(-90, -180), (90, 180), (0, 0), (48.8620, 2.3470), (-0.0, 179.999)]
)
def test_location_in_range(model: type[FieldEventBase], lat: float, lon: float) -> None:
    doc = edited(example(model), ("location", "lat"), lat)
    event = accepts(model, edited(doc, ("location", "lon"), lon))
    assert (event.location.lat, event.location.lon) == (lat, lon)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("lat", 90.0001),
        ("lat", -90.5),
        ("lon", 180.5),
        ("lon", -181),
        ("lat", "48.8620"),
        ("lon", True),
        ("lat", None),
        ("lon", MISSING),
    ],
)
def test_location_out_of_range_or_mistyped(model: type[BaseModel], field: str, value: Any) -> None:
    rejects(model, edited(example(model), ("location", field), value), ("location", field))


def test_location_non_finite_number_refused(model: type[BaseModel]) -> None:
    # json.dumps writes NaN/Infinity, which some producers do too; it is not JSON.
    for value in (float("nan"), float("inf")):
        rejects(model, edited(example(model), ("location", "lat"), value))


@pytest.mark.parametrize(
    "path",
    [("unexpected",), ("source", "unexpected"), ("location", "unexpected")],
    ids=lambda p: ".".join(p),
)
def test_unknown_fields_refused(model: type[BaseModel], path: tuple[str, ...]) -> None:
    rejects(model, edited(example(model), path, "x"), path)


def test_not_an_object_refused(model: type[BaseModel]) -> None:
    for doc in ([example(model)], "event", 1, None):
        rejects(model, doc)
