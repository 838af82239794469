"""parse_record: every input is either accepted or rejected with a reason; nothing raises."""

from __future__ import annotations

import datetime as dt

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from streams.errors import Reason, RejectedInput
from streams.ingest import Accepted, Limits, parse_record
from tests.factories import raw_arrest, raw_dealing_address, raw_seizure

NOW = dt.datetime(2026, 5, 1, 12, tzinfo=dt.UTC)
ARRESTS = "field.arrests.v1"


def parse(value: bytes | None, topic: str = ARRESTS, key: bytes | None = None) -> object:
    if key is None and value:
        try:
            key = str(orjson.loads(value).get("event_id", "")).encode()
        except (orjson.JSONDecodeError, AttributeError):
            key = b"k"
    return parse_record(topic, key, value, NOW)


def reason(result: object) -> Reason:
    assert isinstance(result, RejectedInput), result
    return result.reason


@pytest.mark.parametrize(
    ("topic", "factory"),
    [
        (ARRESTS, raw_arrest),
        ("field.seizures.v1", raw_seizure),
        ("field.dealing-addresses.v1", raw_dealing_address),
    ],
)
def test_valid_events_are_accepted(topic: str, factory: object) -> None:
    obj = factory()  # type: ignore[operator]
    result = parse(orjson.dumps(obj), topic)
    assert isinstance(result, Accepted)
    assert result.event.event_id == obj["event_id"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, Reason.EMPTY_VALUE),
        (b"", Reason.EMPTY_VALUE),
        (b"\xff\xfe{}", Reason.INVALID_ENCODING),
        (b"{nope", Reason.INVALID_JSON),
        (b'{"a": 1}\x00', Reason.INVALID_JSON),
        (b"[1, 2]", Reason.NOT_AN_OBJECT),
        (b'"text"', Reason.NOT_AN_OBJECT),
        (b"null", Reason.NOT_AN_OBJECT),
        (b"{}", Reason.SCHEMA_VIOLATION),
    ],
)
def test_malformed_values_are_rejected_with_their_reason(
    value: bytes | None, expected: Reason
) -> None:
    assert reason(parse(value)) is expected


def test_too_large_is_rejected_before_parsing() -> None:
    big = b'{"x": "' + b"a" * 2_000_000 + b'"}'
    assert (
        reason(parse_record(ARRESTS, b"k", big, NOW, Limits(max_bytes=1_000_000)))
        is Reason.TOO_LARGE
    )


def test_wrong_type_is_a_schema_violation_naming_the_field() -> None:
    obj = {**raw_seizure(), "quantity_g": "12"}
    result = parse(orjson.dumps(obj), "field.seizures.v1")
    assert reason(result) is Reason.SCHEMA_VIOLATION
    assert isinstance(result, RejectedInput)
    assert "quantity_g" in result.detail


def test_detail_never_quotes_values_or_unknown_keys() -> None:
    """The detail goes to headers and logs: a name sent as a value or as a key stays out."""
    obj = raw_arrest()
    obj["person"]["Zorvanek"] = "Zelinde"
    obj["person"]["birth_date"] = "Zorvanek"
    obj["Quillaberte"] = 1
    result = parse(orjson.dumps(obj))
    assert isinstance(result, RejectedInput)
    assert result.reason is Reason.SCHEMA_VIOLATION
    assert "person.birth_date:" in result.detail
    assert "person.<unknown key>: Extra inputs are not permitted" in result.detail
    assert result.detail.count("<unknown key>") == 2  # the top-level one too
    for secret in ("Zorvanek", "Zelinde", "Quillaberte"):
        assert secret not in result.detail


def test_future_event_boundary() -> None:
    ok = raw_arrest(occurred_at=(NOW + dt.timedelta(minutes=4, seconds=59)).isoformat())
    late = raw_arrest(occurred_at=(NOW + dt.timedelta(minutes=5, seconds=1)).isoformat())
    assert isinstance(parse(orjson.dumps(ok)), Accepted)
    assert reason(parse(orjson.dumps(late))) is Reason.FUTURE_EVENT


def test_key_must_be_the_event_id() -> None:
    value = orjson.dumps(raw_arrest())
    assert reason(parse_record(ARRESTS, b"other", value, NOW)) is Reason.KEY_MISMATCH
    assert reason(parse_record(ARRESTS, None, value, NOW)) is Reason.KEY_MISMATCH


def test_unknown_topic() -> None:
    assert reason(parse_record("field.other.v1", b"k", b"{}", NOW)) is Reason.UNKNOWN_TOPIC


def test_fingerprint_ignores_key_order_and_whitespace_only() -> None:
    obj = raw_arrest()
    a = parse(orjson.dumps(obj))
    b = parse(orjson.dumps(dict(reversed(list(obj.items())))).replace(b",", b", "))
    c = parse(orjson.dumps({**obj, "flagrant": not obj["flagrant"]}))
    assert isinstance(a, Accepted)
    assert isinstance(b, Accepted)
    assert isinstance(c, Accepted)
    assert a.fingerprint == b.fingerprint != c.fingerprint


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False)
    | st.text(),
    lambda children: st.lists(children) | st.dictionaries(st.text(), children),
    max_leaves=20,
)


@settings(max_examples=150)
@given(
    topic=st.sampled_from([ARRESTS, "field.seizures.v1", "field.dealing-addresses.v1"]),
    value=st.binary(max_size=300) | json_values.map(orjson.dumps),
    key=st.none() | st.binary(max_size=20),
)
def test_garbage_never_raises(topic: str, value: bytes, key: bytes | None) -> None:
    result = parse_record(topic, key, value, NOW)
    assert isinstance(result, Accepted | RejectedInput)


@settings(max_examples=200)
@given(
    field=st.sampled_from(
        ["event_id", "occurred_at", "source", "location", "person", "offense", "flagrant", "role"]
    ),
    junk=json_values,
)
def test_any_field_replaced_by_junk_is_accepted_or_rejected_cleanly(
    field: str, junk: object
) -> None:
    obj = {**raw_arrest(), field: junk}
    result = parse(orjson.dumps(obj))
    assert isinstance(result, Accepted | RejectedInput)
