from hypothesis import given
from hypothesis import strategies as st

from streams.partitioning import routing_key
from streams.state import keyspace as ks

names = st.text(st.characters(blacklist_characters="|", blacklist_categories=("Cs",)), min_size=1)


@given(scope=names, part=names)
def test_scoped_keys_parse_back_and_route_by_their_scope(scope: str, part: str) -> None:
    for family in (ks.EVENT_WEEK, ks.SECTOR_HOUR, ks.ARRIVALS, *ks.ALERT_SLOTS.values()):
        key = family.key(scope, part)
        assert family.parse(key) == (scope, [part])
        assert routing_key(key) == scope
        assert family.owns(key) or ks.is_reserved(key)


def test_families_of_one_store_tell_their_keys_apart() -> None:
    head, week = ks.EVENT_HEAD.key("S-1"), ks.EVENT_WEEK.key("S-1", 2900)
    assert (ks.EVENT_HEAD.owns(head), ks.EVENT_HEAD.owns(week)) == (True, False)
    assert (ks.EVENT_WEEK.owns(head), ks.EVENT_WEEK.owns(week)) == (False, True)
    slot = ks.ALERT_SLOTS["trade_migration"].key("les-halles", "curial", "2026-01-01T00:00:00Z")
    arrivals = ks.ARRIVALS.key("les-halles", "curial")
    assert ks.is_slot(slot)
    assert not ks.is_slot(arrivals)
    assert ks.ARRIVALS.owns(arrivals)
    assert not ks.ARRIVALS.owns(slot)
    assert ks.OUTBOX.owns(ks.OUTCOME_OUTBOX.key("O-1"))
    assert not ks.CASE.owns(ks.OUTBOX.key("M"))
    assert ks.is_reserved(ks.FEED.key("field.arrests.v1:0"))


@given(event_id=st.text(min_size=1))
def test_no_event_id_takes_a_reserved_key(event_id: str) -> None:
    key = ks.ENTRY.key(event_id)
    assert not ks.is_reserved(key)
    assert ks.ENTRY.parse(key) == event_id
