"""The enriched events a worker decodes once: what ingest encoded is handed to each of its
stage records as it is, then forgotten; anything else is decoded exactly as before."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from agents.decoded import DecodedEvents
from schemas.codec import dumps, loads
from schemas.enriched import EnrichedEvent
from tests.unit.streams.rules.builders import arrest, at


def _event(n: int) -> EnrichedEvent:
    return arrest(n, at(n), event_id=f"E-{n:04d}")


def test_each_stage_record_takes_what_ingest_encoded_then_it_is_forgotten() -> None:
    decoded, event = DecodedEvents(), _event(1)
    value = dumps(event)
    decoded.remember(value, event, uses=2)
    assert decoded.event(value) is event
    assert decoded.event(value) is event
    assert len(decoded) == 0
    again = decoded.event(value)  # a record read again after a crash: decoded
    assert again == event
    assert again is not event
    assert (decoded.hits, decoded.misses) == (2, 1)


def test_bytes_ingest_did_not_encode_here_are_decoded() -> None:
    decoded, event = DecodedEvents(), _event(2)
    value = dumps(event)
    assert decoded.event(value) == loads(EnrichedEvent, value) == event
    assert (decoded.hits, decoded.misses, len(decoded)) == (0, 1, 0)


def test_an_event_sent_to_no_stage_is_not_kept() -> None:
    decoded, event = DecodedEvents(), _event(3)
    decoded.remember(dumps(event), event, uses=0)
    assert len(decoded) == 0


def test_a_bad_value_raises_as_the_plain_decoding_does() -> None:
    bad = dumps(_event(4)).replace(b'"arrest"', b'"parade"')
    with pytest.raises(ValidationError):
        DecodedEvents().event(bad)


def test_beyond_its_capacity_the_oldest_entries_go_first() -> None:
    decoded = DecodedEvents(capacity=16)
    values = []
    for n in range(40):
        event = _event(n)
        values.append(dumps(event))
        decoded.remember(values[-1], event, uses=1)
    assert len(decoded) <= 16
    assert decoded.event(values[-1]) == _event(39)
    assert decoded.hits == 1  # the newest is still there
    assert decoded.event(values[0]) == _event(0)
    assert decoded.misses == 1  # the oldest went, and is decoded again
