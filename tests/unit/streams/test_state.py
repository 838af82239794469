"""Event-time windowed state: order independence, replays, exact boundaries, JSON, rebuilds."""

from __future__ import annotations

import base64
import copy
from collections.abc import Callable, Iterator, MutableMapping
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from schemas.enriched import EnrichedEvent, SubjectRef
from streams.eventtime import SourceClock
from streams.state import (
    AddressState,
    Recorded,
    SectorState,
    StoredEvent,
    SubjectState,
    SurgeWindow,
)
from streams.state._events import Row

T0 = datetime(2026, 4, 14, 21, 30, tzinfo=UTC)
US = timedelta(microseconds=1)
MINUTE = timedelta(minutes=1)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)
SECTOR = "rosa-parks"
ADDRESS = "12 RUE CURIAL 75019 PARIS"


def subject_ref(n: int) -> str:
    """A synthetic ``S-`` reference: 16 base32 characters of ``n``."""
    return "S-" + base64.b32encode(n.to_bytes(10, "big")).decode()


REF = subject_ref(1)


def event(event_id: str, at: datetime, ref: str = REF) -> EnrichedEvent:
    return EnrichedEvent(
        event_id=event_id,
        kind="arrest",
        occurred_at=at,
        reported_at=at + HOUR,
        report_delay_s=3600.0,
        source={"system": "LRP", "unit": "DSPAP-19"},
        procedure_ref="2026/000123",
        lat=48.897,
        lon=2.372,
        sector=SECTOR,
        address_key=ADDRESS,
        narcotics=True,
        subjects=[SubjectRef(ref=ref, role="seller", minor=False)],
        offense="trafficking",
        flagrant=True,
        role="seller",
    )


class JsonStore(MutableMapping[str, Any]):
    """Like a Faust table: keeps encoded JSON, returns fresh decoded values, so an in-place
    mutation is lost. Every value written must survive ``orjson`` unchanged."""

    def __init__(self) -> None:
        self.data: dict[str, bytes] = {}

    def __getitem__(self, key: str) -> Any:
        return orjson.loads(self.data[key])

    def __setitem__(self, key: str, value: Any) -> None:
        encoded = orjson.dumps(value)
        assert orjson.loads(encoded) == value
        assert orjson.dumps(orjson.loads(encoded)) == encoded
        self.data[key] = encoded

    def __delitem__(self, key: str) -> None:
        del self.data[key]

    def __iter__(self) -> Iterator[str]:
        return iter(list(self.data))

    def __len__(self) -> int:
        return len(self.data)

    def snapshot(self) -> dict[str, Any]:
        return {key: orjson.loads(value) for key, value in self.data.items()}


StoreFactory = Callable[[], MutableMapping[str, Any]]
STORES = pytest.mark.parametrize("new_store", [dict, JsonStore], ids=["dict", "json"])


def contents(store: MutableMapping[str, Any]) -> dict[str, Any]:
    return {key: store[key] for key in store}


# -- strategies ---------------------------------------------------------------------------------

#: Offsets from T0 that sit on or next to the day boundaries the windows are made of.
EDGES = [k * DAY + d for k in range(-9, 2) for d in (-US, timedelta(0), US)]
#: Offsets on or next to the hours of the store's buckets (T0 is half past an hour).
HOUR_EDGES = st.tuples(st.integers(-9 * 24, 24), st.sampled_from([-US, timedelta(0), US])).map(
    lambda hour_and_nudge: hour_and_nudge[0] * HOUR - HOUR / 2 + hour_and_nudge[1]
)
offsets = st.one_of(
    st.sampled_from(EDGES),
    st.integers(-9 * 24, 24).map(lambda h: h * HOUR),
    HOUR_EDGES,
    st.integers(-9 * 86_400_000_000, 86_400_000_000).map(lambda us: us * US),
)

wide = st.one_of(offsets, st.integers(-110, 10).map(lambda d: d * DAY))


@st.composite
def histories(draw: st.DrawFn, spread: st.SearchStrategy[timedelta] = offsets) -> Any:
    """Distinct events, and two recording orders of them: a permutation, and another
    permutation with replays of some events mixed in."""
    times = draw(st.lists(spread, max_size=25))
    events = [event(f"e{i}", T0 + offset) for i, offset in enumerate(times)]
    first = draw(st.permutations(events))
    replays = draw(st.lists(st.sampled_from(events), max_size=10)) if events else []
    second = draw(st.permutations(events + replays))
    return events, first, second


def window(events: list[EnrichedEvent], start: datetime, end: datetime) -> list[StoredEvent]:
    """Brute force: closed ``[start, end]``, sorted by (occurred_at, event_id), as records."""
    chosen = [e for e in events if start <= e.occurred_at <= end]
    return [StoredEvent.of(e) for e in sorted(chosen, key=lambda e: (e.occurred_at, e.event_id))]


def brute_count(events: list[EnrichedEvent], start: datetime, end: datetime) -> int:
    """Half-open ``[start, end)``."""
    return sum(1 for e in events if start <= e.occurred_at < end)


def brute_trailing(events: list[EnrichedEvent], t: datetime) -> tuple[int, list[int]]:
    """``(t - 24h, t]`` and the seven days before, oldest first, counted one by one."""

    def within(low: datetime, high: datetime) -> int:
        return sum(1 for e in events if low < e.occurred_at <= high)

    days = [within(t - (k + 1) * DAY, t - k * DAY) for k in range(7, 0, -1)]
    return within(t - DAY, t), days


# -- subjects and addresses ---------------------------------------------------------------------


@STORES
@settings(max_examples=150)
@given(
    history=histories(st.integers(-200, 10).map(lambda d: d * DAY / 2)),
    windows=st.lists(st.tuples(offsets, wide), min_size=1, max_size=5),
)
def test_subject_answers_do_not_depend_on_order_or_replays(
    new_store: StoreFactory, history: Any, windows: list[tuple[timedelta, timedelta]]
) -> None:
    events, first, second = history
    one, two = new_store(), new_store()
    subjects_one, subjects_two = SubjectState(one), SubjectState(two)
    for e in first:
        assert subjects_one.record(REF, e).new is True
    seen: set[str] = set()
    for e in second:
        result = subjects_two.record(REF, e)
        if e.event_id in seen:
            assert result == Recorded(new=False)
        seen.add(e.event_id)
    assert contents(one) == contents(two)
    for a, b in windows:
        start, end = T0 + min(a, b), T0 + max(a, b)
        expected = window(events, start, end)
        assert subjects_one.events(REF, start, end) == expected
        assert subjects_two.events(REF, start, end) == expected


@STORES
def test_events_window_is_closed_on_both_ends(new_store: StoreFactory) -> None:
    subjects = SubjectState(new_store())
    at = [T0 - US, T0, T0 + US, T0 + DAY - US, T0 + DAY, T0 + DAY + US]
    for i, moment in enumerate(at):
        subjects.record(REF, event(f"e{i}", moment))
    assert [e.event_id for e in subjects.events(REF, T0, T0 + DAY)] == ["e1", "e2", "e3", "e4"]
    assert subjects.events(REF, T0 + DAY, T0) == []
    assert subjects.events(subject_ref(2), T0, T0 + DAY) == []


def test_events_sorted_by_time_then_event_id() -> None:
    subjects = SubjectState({})
    for event_id, moment in [("b", T0), ("c", T0 - HOUR), ("a", T0)]:
        subjects.record(REF, event(event_id, moment))
    assert [e.event_id for e in subjects.events(REF, T0 - DAY, T0)] == ["c", "a", "b"]


@STORES
def test_around_is_closed_and_address_state_keeps_its_own_keys(new_store: StoreFactory) -> None:
    addresses = AddressState(new_store())
    at = [T0 - 30 * DAY - US, T0 - 30 * DAY, T0, T0 + 30 * DAY, T0 + 30 * DAY + US]
    for i, moment in enumerate(at):
        assert addresses.record(ADDRESS, event(f"e{i}", moment)) == Recorded(new=True)
    assert [e.event_id for e in addresses.around(ADDRESS, T0, 30)] == ["e1", "e2", "e3"]
    assert [e.event_id for e in addresses.around(ADDRESS, T0, 0)] == ["e2"]
    assert addresses.record(ADDRESS, event("e2", T0)) == Recorded(new=False)
    assert addresses.around("1 RUE AILLEURS", T0, 30) == []


@STORES
def test_events_come_back_equal_to_what_was_recorded(new_store: StoreFactory) -> None:
    subjects = SubjectState(new_store())
    original = event("e1", datetime(2026, 4, 14, 23, 30, 0, 123456, tzinfo=UTC))
    subjects.record(REF, original)
    (back,) = subjects.events(REF, T0 - DAY, T0 + DAY)
    assert back == StoredEvent.of(original)
    assert back.event() == original
    assert back.event().model_dump(mode="json") == original.model_dump(mode="json")


@STORES
def test_nothing_is_dropped_as_events_arrive_whatever_their_order(
    new_store: StoreFactory,
) -> None:
    """An event on time at its source may arrive after far newer ones (a burst, a catch-up):
    it must still find, and be found by, its history. Only ``sweep`` forgets."""
    oldest, newest = event("old", T0), event("new", T0 + 200 * DAY)
    forward, backward = SubjectState(new_store()), SubjectState(new_store())
    for e in (oldest, newest):
        assert forward.record(REF, e).new is True
    for e in (newest, oldest):
        assert backward.record(REF, e).new is True
    everything = (T0 - 365 * DAY, T0 + 365 * DAY)
    assert [e.event_id for e in backward.events(REF, *everything)] == ["old", "new"]
    assert forward.events(REF, *everything) == backward.events(REF, *everything)


def test_retention_is_what_sweeps_may_cut_behind_a_low_watermark() -> None:
    subjects = SubjectState({}, retention=timedelta(days=10))
    assert subjects.retention == timedelta(days=10)
    for event_id, moment in [("old", T0), ("new", T0 + 10 * DAY), ("newer", T0 + 30 * DAY)]:
        subjects.record(REF, event(event_id, moment))
    assert len(subjects.events(REF, T0, T0 + 30 * DAY)) == 3
    assert subjects.sweep(T0 + 20 * DAY - subjects.retention) == 1  # strictly before T0 + 10 d
    assert [e.event_id for e in subjects.events(REF, T0, T0 + 31 * DAY)] == ["new", "newer"]


@STORES
def test_purge_drops_strictly_older_events_and_deletes_emptied_keys(
    new_store: StoreFactory,
) -> None:
    store = new_store()
    subjects = SubjectState(store)
    for i, moment in enumerate([T0 - DAY, T0 - US, T0, T0 + DAY]):
        subjects.record(REF, event(f"e{i}", moment))
    assert subjects.purge(REF, T0) == 2
    assert [e.event_id for e in subjects.events(REF, T0 - DAY, T0 + DAY)] == ["e2", "e3"]
    assert subjects.purge(REF, T0) == 0
    assert subjects.purge(REF, T0 + DAY + US) == 2
    assert REF not in store
    assert subjects.purge(subject_ref(9), T0) == 0


@STORES
def test_sweep_counts_every_key_and_leaves_reserved_keys_alone(new_store: StoreFactory) -> None:
    store = new_store()
    subjects = SubjectState(store)
    store["__feed__:0:field.arrests.v1:0"] = 0
    for n in range(1, 4):
        for day in range(n):
            subjects.record(subject_ref(n), event(f"e{n}-{day}", T0 + day * DAY))
    assert subjects.sweep(T0 + DAY) == 3  # each subject's first event
    assert subject_ref(1) not in store
    assert subjects.sweep(T0 + DAY) == 0
    assert subjects.sweep(T0 + 10 * DAY) == 3
    assert list(store) == ["__feed__:0:field.arrests.v1:0"]


# -- sectors ------------------------------------------------------------------------------------


@STORES
@settings(max_examples=200)
@given(history=histories(), t=offsets, spans=st.lists(st.tuples(offsets, offsets), max_size=4))
def test_sector_counts_agree_with_brute_force_in_any_order(
    new_store: StoreFactory, history: Any, t: timedelta, spans: list[tuple[timedelta, timedelta]]
) -> None:
    events, first, second = history
    one, two = new_store(), new_store()
    sectors_one, sectors_two = SectorState(one), SectorState(two)
    for e in first:
        assert sectors_one.record(SECTOR, e).new is True
    seen: set[str] = set()
    for e in second:
        assert sectors_two.record(SECTOR, e).new is (e.event_id not in seen)
        seen.add(e.event_id)
    assert contents(one) == contents(two)
    expected = brute_trailing(events, T0 + t)
    assert sectors_one.trailing(SECTOR, T0 + t) == expected
    assert sectors_two.trailing(SECTOR, T0 + t) == expected
    ends = [T0 + t, *(T0 + a for a, _ in spans), *(e.occurred_at for e in events[:3])]
    assert sectors_one.surge_windows(SECTOR, ends) == [
        SurgeWindow(count, sum(days)) for count, days in map(partial(brute_trailing, events), ends)
    ]
    # (t - 24h, t] is the half-open [t - 24h + 1 µs, t + 1 µs) of count
    assert sectors_one.count(SECTOR, T0 + t - DAY + US, T0 + t + US) == expected[0]
    for a, b in spans:
        assert sectors_one.count(SECTOR, T0 + a, T0 + b) == brute_count(events, T0 + a, T0 + b)


@STORES
def test_sector_boundaries_are_exact(new_store: StoreFactory) -> None:
    sectors = SectorState(new_store())
    t = T0  # 21:30, not on an hour
    at = [t + US, t, t - DAY + US, t - DAY, t - 2 * DAY, t - 8 * DAY + US, t - 8 * DAY]
    for i, moment in enumerate(at):
        sectors.record(SECTOR, event(f"e{i}", moment))
    assert sectors.trailing(SECTOR, t) == (2, [1, 0, 0, 0, 0, 1, 1])
    assert sectors.count(SECTOR, t - DAY, t) == 2  # [t - 24h, t): t - 24h in, t out
    assert sectors.count(SECTOR, t, t) == 0
    assert sectors.count(SECTOR, t + US, t) == 0
    assert sectors.trailing("les-halles", t) == (0, [0] * 7)


def test_sector_keys_are_sector_and_hour_start_epoch_seconds() -> None:
    store: dict[str, Any] = {}
    sectors = SectorState(store)
    sectors.record(SECTOR, event("e1", T0))
    sectors.record(SECTOR, event("e2", T0 + 10 * US))
    sectors.record(SECTOR, event("e1", T0))
    hour = int(T0.replace(minute=0).timestamp())
    assert store == {f"{SECTOR}|{hour}": {"e1": 1_800_000_000, "e2": 1_800_000_010}}


@pytest.mark.parametrize(
    ("t", "hours"),
    [(T0, 193), (T0.replace(minute=0), 193), (T0.replace(minute=0) - US, 192)],
)
def test_trailing_reads_at_most_193_hours(t: datetime, hours: int) -> None:
    reads: list[str] = []

    class Counting(dict[str, Any]):
        def get(self, key: str, default: Any = None) -> Any:
            reads.append(key)
            return super().get(key, default)

    SectorState(Counting()).trailing(SECTOR, t)
    assert len(reads) == len(set(reads)) == hours


@STORES
def test_sector_sweep_drops_older_events_and_emptied_hours(new_store: StoreFactory) -> None:
    store = new_store()
    sectors = SectorState(store)
    store["__feed__:0:field.arrests.v1:0"] = 0
    at = [T0 - 2 * DAY, T0 - DAY, T0 - US, T0, T0 + US, T0 + HOUR]
    for i, moment in enumerate(at):
        sectors.record(SECTOR, event(f"e{i}", moment))
    sectors.record("les-halles", event("x", T0 - DAY))
    assert sectors.sweep(T0) == 4
    assert sectors.count(SECTOR, T0 - 9 * DAY, T0 + DAY) == 3
    assert sectors.sweep(T0) == 0
    assert sectors.sweep(T0 + DAY) == 3
    assert list(store) == ["__feed__:0:field.arrests.v1:0"]


# -- restarts and data hygiene -----------------------------------------------------------------


@settings(max_examples=50)
@given(history=histories(), t=offsets)
def test_state_rebuilt_from_a_copy_of_the_store_answers_the_same(
    history: Any, t: timedelta
) -> None:
    events, first, _ = history
    store, sector_store = JsonStore(), JsonStore()
    subjects, sectors = SubjectState(store), SectorState(sector_store)
    for e in first:
        subjects.record(REF, e)
        sectors.record(SECTOR, e)
    # what a restart finds after replaying the changelogs
    copied = orjson.loads(orjson.dumps(store.snapshot()))
    copied_sectors = orjson.loads(orjson.dumps(sector_store.snapshot()))
    restored_subjects, restored_sectors = SubjectState(copied), SectorState(copied_sectors)
    start, end = T0 + t - 30 * DAY, T0 + t
    assert restored_subjects.events(REF, start, end) == subjects.events(REF, start, end)
    assert restored_sectors.trailing(SECTOR, T0 + t) == sectors.trailing(SECTOR, T0 + t)
    before = copy.deepcopy((copied, copied_sectors))
    for e in events:  # the input replayed after the restart
        assert restored_subjects.record(REF, e).new is False
        assert restored_sectors.record(SECTOR, e).new is False
    assert (copied, copied_sectors) == before


@pytest.mark.parametrize(
    "call",
    [
        lambda: SubjectState({}).events(REF, T0.replace(tzinfo=None), T0),
        lambda: SectorState({}).trailing(SECTOR, T0.replace(tzinfo=None)),
        lambda: SourceClock({}).judge("f", T0.replace(tzinfo=None)),
    ],
)
def test_naive_datetimes_are_refused(call: Callable[[], object]) -> None:
    with pytest.raises(ValueError, match="naive"):
        call()


def test_a_busy_key_is_kept_in_week_buckets_so_no_value_grows_with_its_history() -> None:
    """3,000 events in 30 days at one address: each write touches one week, never the lot
    (a single value would outgrow a 1 MB changelog record)."""
    store: dict[str, Any] = {}
    addresses = AddressState(store, retention=timedelta(days=37))
    for i in range(3000):
        addresses.record(ADDRESS, event(f"e{i}", T0 + i * 14 * MINUTE))
    weeks = [key for key in store if key.startswith(f"{ADDRESS}|")]
    assert 5 <= len(weeks) <= 6
    assert sorted(store) == sorted([ADDRESS, *weeks])
    assert max(len(store[week]) for week in weeks) <= 7 * 24 * 60 // 14 + 1
    assert len(addresses.around(ADDRESS, T0 + 15 * DAY, 30)) == 3000


class Writes(dict[str, Any]):
    """A store that counts assignments (each a changelog record in a Faust table)."""

    def __init__(self) -> None:
        super().__init__()
        self.written: list[str] = []

    def __setitem__(self, key: str, value: Any) -> None:
        self.written.append(key)
        super().__setitem__(key, value)


def test_an_event_in_a_week_the_key_has_writes_that_week_alone() -> None:
    store = Writes()
    subjects = SubjectState(store)
    subjects.record(REF, event("e0", T0))  # a new key: its week and its head
    assert len(store.written) == 2
    for i in range(1, 20):  # later, earlier, within the same week
        store.written.clear()
        subjects.record(REF, event(f"e{i}", T0 + (-1) ** i * i * 5 * MINUTE))
        assert len(store.written) == 1
    store.written.clear()
    subjects.record(REF, event("next-week", T0 + 8 * DAY))
    assert len(store.written) == 2
    assert len(subjects.events(REF, T0 - DAY, T0 + 9 * DAY)) == 21


def test_a_head_written_before_bounded_by_the_newest_event_still_finds_later_ones() -> None:
    """Heads written before 2026-12 hold the newest event's time, not the week's end."""
    store: dict[str, Any] = {}
    subjects = SubjectState(store)
    subjects.record(REF, event("e0", T0))
    _, weeks = store[REF]
    store[REF] = [int(T0.timestamp() * 1_000_000), weeks]  # as an older head held it
    subjects.record(REF, event("e1", T0 + HOUR))  # same week, after that bound
    assert [e.event_id for e in subjects.events(REF, T0, T0 + DAY)] == ["e0", "e1"]
    assert subjects.purge(REF, T0 + 2 * HOUR) == 2
    assert store == {}


def test_a_record_parsed_from_its_stored_row_equals_the_one_made_from_the_event() -> None:
    """Window reads decode records from rows (``parse``) or keep those made at recording
    (``of``): both must be the same, whatever fields the event leaves empty."""
    loose = event("e2", T0).model_copy(
        update={"sector": None, "address_key": None, "procedure_ref": None, "subjects": []}
    )
    for original in (event("e1", T0 + US), loose):
        row = Row.of(original)
        assert StoredEvent.parse(row.at, row.event) == StoredEvent.of(original)
