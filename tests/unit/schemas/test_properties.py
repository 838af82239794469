"""Property tests: valid events survive the codec unchanged; no input escapes as anything but a
pydantic ValidationError, since ingest dead-letters on exactly that and must never crash."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel, ValidationError

from schemas import codec
from schemas.field import Arrest, DealingAddress, FieldEventBase, Seizure

from .examples import DocPath, edited, encode
from .strategies import field_events, json_values, rfc3339_strings

models = st.sampled_from([Arrest, Seizure, DealingAddress])

fast = settings(max_examples=200)


def outcome(model: type[BaseModel], data: bytes) -> BaseModel | ValidationError:
    """The parsed model or its ValidationError; any other exception fails the test."""
    try:
        return codec.loads(model, data)
    except ValidationError as error:
        return error


def paths(doc: Any, prefix: DocPath = ()) -> Iterator[DocPath]:
    """Every place in a JSON document where a value sits."""
    if isinstance(doc, dict):
        children = list(doc.items())
    elif isinstance(doc, list):
        children = list(enumerate(doc))
    else:
        return
    for key, value in children:
        yield (*prefix, key)
        yield from paths(value, (*prefix, key))


@fast
@given(field_events)
def test_valid_events_round_trip(event: FieldEventBase) -> None:
    data = codec.dumps(event)
    again = codec.loads(type(event), data)
    assert again == event
    assert codec.dumps(again) == data


@fast
@given(model=models, data=st.binary())
def test_garbage_bytes_are_a_validation_error(model: type[BaseModel], data: bytes) -> None:
    assert isinstance(outcome(model, data), ValidationError)


@fast
@given(model=models, value=json_values)
def test_arbitrary_json_is_a_validation_error(model: type[BaseModel], value: Any) -> None:
    assert isinstance(outcome(model, encode(value)), ValidationError)


@fast
@given(event=field_events, data=st.data())
def test_a_corrupted_field_is_accepted_whole_or_refused(
    event: BaseModel, data: st.DataObject
) -> None:
    """Whatever replaces one value, the result parses and re-encodes, or is a ValidationError."""
    doc = json.loads(codec.dumps(event))
    path = data.draw(st.sampled_from(sorted(paths(doc), key=repr)), label="path")
    corrupted = edited(doc, path, data.draw(json_values, label="value"))
    parsed = outcome(type(event), encode(corrupted))
    if isinstance(parsed, BaseModel):
        assert codec.loads(type(event), codec.dumps(parsed)) == parsed


@fast
@given(event=field_events, wire=rfc3339_strings)
def test_any_offset_timestamp_is_the_same_instant_or_refused(
    event: FieldEventBase, wire: str
) -> None:
    try:
        instant: dt.datetime | None = dt.datetime.fromisoformat(wire).astimezone(dt.UTC)
    except OverflowError:  # e.g. 0001-01-01T00:00:00+00:01, before the first UTC instant
        instant = None
    doc = json.loads(codec.dumps(event)) | {"occurred_at": wire}
    parsed = outcome(type(event), encode(doc))
    if instant is None:
        assert isinstance(parsed, ValidationError)
    else:
        assert isinstance(parsed, FieldEventBase)
        assert parsed.occurred_at == instant
        assert parsed.occurred_at.tzinfo == dt.UTC


@fast
@given(
    instant=st.datetimes(
        min_value=dt.datetime(1970, 1, 2),  # noqa: DTZ001 (hypothesis takes naive bounds)
        max_value=dt.datetime(2200, 1, 1),  # noqa: DTZ001
        timezones=st.just(dt.UTC),
    ),
    minutes=st.integers(-14 * 60, 14 * 60),
)
def test_a_timestamp_is_written_in_utc_whatever_its_zone_and_whether_remembered(
    instant: dt.datetime, minutes: int
) -> None:
    """``format_utc`` remembers what it wrote: the same instant in another zone, met before or
    after, is the same key and gets the same form, the one computed afresh."""
    from schemas.common import format_utc

    elsewhere = instant.astimezone(dt.timezone(dt.timedelta(minutes=minutes)))
    afresh = instant.isoformat().replace("+00:00", "Z")
    assert afresh.endswith("Z")
    assert format_utc(elsewhere) == format_utc(instant) == afresh
    assert format_utc.__wrapped__(elsewhere) == afresh
