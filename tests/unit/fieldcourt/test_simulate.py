"""The simulator: deterministic, valid events, Paris-like spread and quantities, the story."""

from __future__ import annotations

import datetime as dt
import itertools
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import orjson
import pytest
from shapely.geometry import box

from fieldcourt.cli import main
from fieldcourt.replay import read_records
from fieldcourt.simulate import (
    ADDRESSES,
    ARRESTS,
    BEATS,
    CITY,
    HOTSPOTS,
    SEIZURES,
    STREET_MAX_G,
    SimRecord,
    Simulation,
    SimulationConfig,
    shift_to_end_at,
    simulate,
    write_jsonl,
)
from schemas.codec import dumps_obj, loads
from schemas.field import FIELD_MODELS, NARCOTICS_OFFENSES
from streams.address import address_key
from streams.enrich import Enricher, is_minor
from streams.geofence import load_sectors
from streams.pipeline import Pipeline
from streams.pseudonym import Pseudonymiser
from streams.rules.config import load_rules
from streams.rules.seizure import evaluate_seizure

SECTORS = load_sectors(None)
COMPRESSED = SimulationConfig(compress=True)
OFFSET = re.compile(r"T\d{2}:\d{2}:\d{2}[+-]\d{2}:\d{2}$")


@pytest.fixture(scope="module")
def compressed() -> list[SimRecord]:
    return list(simulate(COMPRESSED))


@pytest.fixture(scope="module")
def full() -> list[SimRecord]:
    return list(simulate(SimulationConfig()))


def at(event: dict[str, Any]) -> dt.datetime:
    return dt.datetime.fromisoformat(event["occurred_at"])


def sector(event: dict[str, Any]) -> str | None:
    return SECTORS.sector_of(event["location"]["lat"], event["location"]["lon"])


def identity(person: dict[str, Any]) -> tuple[str, str, str]:
    return person["last_name"], person["first_name"], person.get("birth_date", "")


def narcotics(topic: str, event: dict[str, Any]) -> bool:
    return topic != ARRESTS or event["offense"] in NARCOTICS_OFFENSES


def story(records: Iterable[SimRecord]) -> list[SimRecord]:
    return [(t, e) for t, e in records if e["event_id"].startswith("sim-s-")]


# ---------------------------------------------------------------------------- determinism


def test_same_seed_same_output_another_seed_another() -> None:
    config = SimulationConfig(compress=True, rate=15)
    simulation = Simulation(config)
    first = list(simulation.records())
    assert list(simulation.records()) == first  # re-iterable
    assert list(simulate(config)) == first
    other = list(simulate(SimulationConfig(compress=True, rate=15, seed=7)))
    assert other != first
    assert {e["event_id"] for _, e in other} & {e["event_id"] for _, e in first}  # same ids...
    assert [e for _, e in other][:50] != [e for _, e in first][:50]  # ...other events


# ---------------------------------------------------------------------------- validity


@pytest.mark.parametrize("feed", ["compressed", "full", "background"])
def test_every_event_validates_against_its_schema(
    feed: str, request: pytest.FixtureRequest
) -> None:
    if feed == "background":
        records = list(simulate(SimulationConfig(story=False, rate=200, days=3, seed=3)))
    else:
        records = request.getfixturevalue(feed)
    assert records
    for topic, event in records:
        model = loads(FIELD_MODELS[topic], orjson.dumps(event))
        assert model.event_id == event["event_id"]


def test_events_are_in_event_time_order_with_unique_ids(full: list[SimRecord]) -> None:
    times = [at(e) for _, e in full]
    assert times == sorted(times)
    assert len({e["event_id"] for _, e in full}) == len(full)
    for _, event in full:
        assert OFFSET.search(event["occurred_at"])
        assert OFFSET.search(event["reported_at"])
        delay = dt.datetime.fromisoformat(event["reported_at"]) - at(event)
        assert dt.timedelta(0) < delay <= dt.timedelta(days=5)
        assert event["source"]["system"].startswith("sim-")  # never mistaken for a record
    with_procedure = sum("procedure_ref" in e for _, e in full)
    assert with_procedure / len(full) > 0.85


def test_the_feed_ends_reported_before_the_end(full: list[SimRecord]) -> None:
    end = SimulationConfig().end
    reported = [dt.datetime.fromisoformat(e["reported_at"]) for _, e in full]
    assert max(reported) <= end
    assert end - max(reported) < dt.timedelta(hours=12)


def test_people_are_invented_and_consistent(full: list[SimRecord]) -> None:
    people: dict[tuple[str, str, str], dict[str, Any]] = {}
    for _, event in full:
        persons = [event[k] for k in ("person", "occupant") if k in event]
        for person in persons + event.get("persons", []):
            assert re.fullmatch(r"[A-ZÉ][a-zéè]+(-[A-ZÉ][a-zéè]+)?", person["last_name"])
            known = people.setdefault(identity(person), person)
            assert known == person  # the same human is always written the same way
    assert len(people) > 1000


# ---------------------------------------------------------------------------- Paris


def test_places_lie_wholly_inside_or_outside_the_sectors() -> None:
    """Jitter never carries a spot across a boundary: sectors only get what they should."""
    inside: dict[str, str] = {}
    for place in HOTSPOTS + CITY:
        area = box(
            place.lon - place.jitter,
            place.lat - place.jitter,
            place.lon + place.jitter,
            place.lat + place.jitter,
        )
        for sector in SECTORS.sectors:
            if sector.geometry.intersects(area):
                assert sector.geometry.contains(area), (place.name, sector.name)
                inside[place.name] = sector.name
    assert inside == {"Stalingrad": "stalingrad", "Rosa Parks": "rosa-parks"}


def test_background_is_spread_over_paris_mostly_outside_the_sectors() -> None:
    records = list(simulate(SimulationConfig(story=False, days=30, rate=40)))
    assert 30 * 40 * 0.85 < len(records) < 30 * 40 * 1.15
    sectors = Counter(sector(e) for _, e in records)
    assert sectors[None] / len(records) > 0.75
    assert sectors["les-halles"] == 0  # Les Halles' activity is the story's
    lats = [e["location"]["lat"] for _, e in records]
    lons = [e["location"]["lon"] for _, e in records]
    assert max(lats) - min(lats) > 0.06
    assert max(lons) - min(lons) > 0.14
    kinds = Counter(t for t, _ in records)
    assert kinds[ARRESTS] > kinds[SEIZURES] > kinds[ADDRESSES] > 0
    hours = Counter(at(e).hour for _, e in records)
    assert hours[19] > 2 * hours[4]  # the evening, not the small hours


def test_quantities_look_like_paris_crack_cases(full: list[SimRecord]) -> None:
    seizures = [e for t, e in full if t == SEIZURES]
    crack = [e["quantity_g"] for e in seizures if e["substance"] == "crack"]
    assert 1 <= statistics.median(crack) <= 10  # a few grams
    street = [g for g in crack if g < 50]
    assert statistics.quantiles(street, n=20)[-1] >= 10  # up to a few tens of grams
    large = sum(g > 50 for g in crack) / len(crack)
    assert 0.005 < large < 0.05  # occasional
    cash = [e["cash_eur"] for e in seizures if e["cash_eur"] > 0]
    assert 100 <= statistics.median(cash) <= 1000
    assert max(cash) >= 2000


@pytest.mark.parametrize("feed", ["compressed", "full"])
def test_only_the_planned_seizures_cross_the_f3_thresholds(
    feed: str, request: pytest.FixtureRequest
) -> None:
    """f3.seizure itself, on every seizure. Intended: in the story, the joint operation's
    seizure alone; in the background, the wholesale finds (>= 50 g of crack, cocaine or heroin:
    street quantities stop at STREET_MAX_G, so nothing else gets there) and the armed seizures
    (1 in 100). Street cash never reaches the cash threshold."""
    records: list[SimRecord] = request.getfixturevalue(feed)
    rules = load_rules()
    params = rules.rules.seizure
    enricher = Enricher(Pseudonymiser(b"k" * 32), SECTORS)
    seizures = [e for t, e in records if t == SEIZURES]
    f3 = [
        e
        for e in seizures
        if evaluate_seizure(enricher.enrich(loads(FIELD_MODELS[SEIZURES], dumps_obj(e))), rules)
    ]
    operation = [e["event_id"] for t, e in story(records) if t == SEIZURES and "operation_ref" in e]
    assert len(operation) == 1
    assert [e["event_id"] for _, e in story((SEIZURES, e) for e in f3)] == operation

    hard = [e for e in seizures if e["substance"] in params.substances]
    assert not [e for e in hard if STREET_MAX_G < e["quantity_g"] < params.min_quantity_g]
    wholesale = [e for e in hard if e["quantity_g"] >= params.min_quantity_g]
    for event in f3:
        if event["event_id"] not in operation:
            assert event in wholesale or event["weapons"] >= params.min_weapons, event
    street = [e for e in seizures if e["event_id"] not in operation]
    assert max(e["cash_eur"] for e in street) < params.min_cash_eur
    if feed == "full":  # the background keeps its occasional wholesale finds
        finds = [e for e in wholesale if e["event_id"] not in operation]
        assert 0 < len(finds) < 0.05 * len(seizures)


# ---------------------------------------------------------------------------- the story


def _within(times: list[dt.datetime], days: float) -> int:
    """The most events of ``times`` in any window of ``days``."""
    ordered = sorted(times)
    span = dt.timedelta(days=days)
    return max((sum(t <= u < t + span for u in ordered) for t in ordered), default=0)


@pytest.mark.parametrize("feed", ["compressed", "full"])
def test_story_beats_are_all_there(feed: str, request: pytest.FixtureRequest) -> None:
    records: list[SimRecord] = request.getfixturevalue(feed)
    compress = feed == "compressed"
    told = story(records)
    halles = [(t, e) for t, e in told if sector(e) == "les-halles"]
    rosa = [(t, e) for t, e in told if sector(e) == "rosa-parks"]

    # Flagrant arrests of dealers in Les Halles; one of a minor.
    flagrant = [e for t, e in halles if t == ARRESTS and e["flagrant"] and e["role"] == "seller"]
    assert len(flagrant) >= 8
    minors = [
        e
        for t, e in halles
        if t == ARRESTS
        and e["flagrant"]
        and is_minor(dt.date.fromisoformat(e["person"]["birth_date"]), at(e))
    ]
    assert len({identity(e["person"]) for e in minors}) == 1
    assert {e["role"] for e in minors} == {"lookout"}

    # Repeat offenders: 3 or more narcotics arrests within 30 days.
    arrests: dict[tuple[str, str, str], list[dt.datetime]] = defaultdict(list)
    for t, e in halles:
        if t == ARRESTS and narcotics(t, e):
            arrests[identity(e["person"])].append(at(e))
    assert sum(_within(times, 30) >= 3 for times in arrests.values()) >= 2

    # Apartments lent by consumers: a report naming the occupant, 2+ arrests there in 30 days.
    reports = [e for t, e in halles if t == ADDRESSES and "occupant" in e]
    assert len(reports) == 3
    for report in reports:
        key = address_key(report["location"]["address"])
        there = [
            at(e)
            for t, e in halles
            if t == ARRESTS
            and address_key(e["location"].get("address")) == key
            and abs(at(e) - at(report)) <= dt.timedelta(days=30)
        ]
        assert len(there) >= 2

    # The joint operation: one operation_ref, 4+ people on a large seizure.
    operations = Counter(e["operation_ref"] for _, e in told if "operation_ref" in e)
    assert len(operations) == 1
    assert operations.most_common(1)[0][1] == 8
    (big,) = [e for t, e in told if t == SEIZURES and "operation_ref" in e]
    assert big["quantity_g"] >= 50
    assert big["cash_eur"] >= 5000
    assert len(big["persons"]) >= 4

    # The same people in Rosa Parks within 90 days of their last Les Halles event.
    last_halles: dict[tuple[str, str, str], dt.datetime] = {}
    for t, e in halles:
        for person in [e.get("person"), *e.get("persons", [])]:
            if person and narcotics(t, e):
                last_halles[identity(person)] = at(e)
    arrivals: dict[tuple[str, str, str], dt.datetime] = {}
    for t, e in rosa:
        who = identity(e["person"]) if t == ARRESTS else None
        if who in last_halles and who not in arrivals:
            arrivals[who] = at(e)
            assert at(e) - last_halles[who] <= dt.timedelta(days=90)
    assert len(arrivals) >= 4
    assert _within(list(arrivals.values()), 30) >= 3

    # The surge: 10+ narcotics events in 24 h in Rosa Parks after a quiet week.
    near = [(t, e) for t, e in records if e["location"]["lat"] > 48.89]  # fewer lookups
    events = [(t, e) for t, e in near if sector(e) == "rosa-parks" and narcotics(t, e)]
    times = [at(e) for _, e in events]
    peak = _within(times, 1)
    assert peak >= 10
    start = min(at(e) for _, e in told if e["event_id"] in _beat(compress, "rosa.surge"))
    week = sum(start - dt.timedelta(days=7) <= t < start for t in times)
    assert week / 7 * 3 <= peak


def _beat(compress: bool, name: str) -> set[str]:
    beats = {b.name: b for b in Simulation(SimulationConfig(compress=compress)).beats}
    return set(beats[name].event_ids)


def test_compressed_story_has_the_same_beats_in_under_a_month() -> None:
    full = Simulation(SimulationConfig())
    short = Simulation(COMPRESSED)
    assert [b.name for b in short.beats] == [b.name for b in full.beats] == list(BEATS)
    assert SimulationConfig().duration.days > 200
    assert COMPRESSED.duration.days <= 25
    story_full = sum(len(b.event_ids) for b in full.beats)
    story_short = sum(len(b.event_ids) for b in short.beats)
    assert story_short < story_full
    days = {b.name: b.day for b in full.beats}
    assert days["halles.operation"] == 18.25  # 19 September 2025, 06:00 in Paris
    assert 210 < days["rosa.surge"] < 215  # early April 2026


@pytest.mark.parametrize("feed", ["compressed", "demo"])
def test_pipeline_finds_the_story_outcomes(feed: str, compressed: list[SimRecord]) -> None:
    """The in-memory pipeline (the worker's oracle) on the compressed story: at 40 events a
    day, and as a demo would play it (10 a day, shifted by whole days to end "now")."""
    if feed == "demo":
        now = dt.datetime(2026, 11, 25, 22, 0, tzinfo=dt.UTC)
        records = shift_to_end_at(
            simulate(SimulationConfig(compress=True, rate=10)), now, whole_days=True
        )
    else:
        records = compressed
    enricher = Enricher(Pseudonymiser(b"k" * 32), SECTORS)
    pipeline = Pipeline().feed(
        enricher.enrich(loads(FIELD_MODELS[t], dumps_obj(e))) for t, e in records
    )
    cases = pipeline.case_events
    escalated = {
        e.case_id
        for e in cases
        if e.event_type == "case_escalated"
        and e.anchor.kind == "subject"
        and e.previous_section == "P12"
        and e.section == "P20"
        and e.sector == "les-halles"
    }
    assert escalated  # a flagrant dealer's P12 case escalating to P20
    address_cases = {
        e.case_id
        for e in cases
        if e.anchor.kind == "address"
        and e.section == "P20"
        and e.sector == "les-halles"
        and any("facilitator" in s.roles for s in e.subjects)
    }
    assert len(address_cases) == 3  # the three lent apartments
    # The apartment lent in Rosa Parks during the surge.
    assert any(
        e.anchor.kind == "address"
        and e.section == "P20"
        and e.sector == "rosa-parks"
        and any("facilitator" in s.roles for s in e.subjects)
        for e in cases
    )
    assert any(e.anchor.kind == "network" and e.section == "F3" for e in cases)
    assert any(e.section == "P4" and e.sector == "les-halles" for e in cases)
    assert any("f3.seizure" in e.rule_ids and e.sector == "les-halles" for e in cases)
    alerts = Counter((a.alert_type, a.sector, a.from_sector) for a in pipeline.alerts)
    assert alerts == {
        ("displacement", "rosa-parks", "les-halles"): 4,
        ("trade_migration", "rosa-parks", "les-halles"): 1,
        ("surge", "rosa-parks", None): 1,
    }


# ---------------------------------------------------------------------------- output


def test_shift_to_end_at_keeps_intervals_and_ages(compressed: list[SimRecord]) -> None:
    end = dt.datetime(2026, 11, 25, 22, 0, 30, 500000, tzinfo=dt.UTC)
    shifted = shift_to_end_at(compressed, end)
    assert [e["event_id"] for _, e in shifted] == [e["event_id"] for _, e in compressed]
    latest = max(max(at(e), dt.datetime.fromisoformat(e["reported_at"])) for _, e in shifted)
    assert end - dt.timedelta(seconds=1) < latest <= end
    gaps = {at(b) - at(a) for (_, a), (_, b) in itertools.pairwise(shifted)}
    assert gaps == {at(b) - at(a) for (_, a), (_, b) in itertools.pairwise(compressed)}
    for (_, before), (_, after) in zip(compressed, shifted, strict=True):
        if "person" in before and "birth_date" in before["person"]:
            born = [dt.date.fromisoformat(p["person"]["birth_date"]) for p in (before, after)]
            assert is_minor(born[0], at(before)) == is_minor(born[1], at(after))
    assert compressed[0][1]["occurred_at"] != shifted[0][1]["occurred_at"]  # input untouched


def test_shift_by_whole_days_keeps_the_time_of_day(compressed: list[SimRecord]) -> None:
    end = dt.datetime(2026, 11, 25, 22, 0, tzinfo=dt.UTC)
    shifted = shift_to_end_at(compressed, end, whole_days=True)
    for (_, a), (_, b) in zip(compressed, shifted, strict=True):
        delta = at(b) - at(a)
        assert delta.seconds == 0
        assert delta.microseconds == 0
    latest = max(dt.datetime.fromisoformat(e["reported_at"]) for _, e in shifted)
    assert end - dt.timedelta(days=1) < latest <= end
    with pytest.raises(ValueError, match="time zone"):
        shift_to_end_at(compressed, dt.datetime(2026, 1, 1))  # noqa: DTZ001
    assert shift_to_end_at([], end) == []


def test_write_jsonl_is_the_replay_format(tmp_path: Path, compressed: list[SimRecord]) -> None:
    path = tmp_path / "story.jsonl"
    assert write_jsonl(path, compressed[:40]) == 40
    lines = path.read_bytes().splitlines()
    assert len(lines) == 40
    for line, (topic, event) in zip(lines, compressed, strict=False):
        doc = orjson.loads(line)
        assert doc == {"topic": topic, "key": event["event_id"], "value": event}
    records, bad = read_records(path)
    assert len(records) == 40
    assert not bad


def test_config_is_checked() -> None:
    with pytest.raises(ValueError, match="time zone"):
        SimulationConfig(start=dt.datetime(2025, 9, 1))  # noqa: DTZ001
    with pytest.raises(ValueError, match=r"story needs \d+ days"):
        SimulationConfig(days=30)
    with pytest.raises(ValueError, match="rate"):
        SimulationConfig(rate=-1)
    with pytest.raises(ValueError, match="events"):
        SimulationConfig(events=0)
    assert SimulationConfig(days=2, story=False).duration == dt.timedelta(days=2)
    assert SimulationConfig(story=False).duration == dt.timedelta(days=7)


def test_cli_writes_a_file_and_tells_the_beats(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "ci.jsonl"
    argv = ["simulate", "--compress", "--rate", "5", "--out", str(out), "--prefix", "ci"]
    assert main([*argv, "--end-at", "2026-11-25T12:00:00Z", "--keep-time-of-day"]) == 0
    printed = capsys.readouterr().out
    assert f"events written to {out}" in printed
    for name in BEATS:
        assert name in printed
    records, bad = read_records(out)
    assert not bad
    assert all(r.key and r.key.startswith(b"ci-") for r in records)
    assert max(r.occurred_at for r in records if r.occurred_at) <= dt.datetime(
        2026, 11, 25, 12, tzinfo=dt.UTC
    )
    assert main(["simulate", "--out", str(out), "--days", "3"]) == 2
    assert "story needs" in capsys.readouterr().err


def test_cli_events_stops_after_the_first_n_in_event_time(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    whole = list(simulate(SimulationConfig(compress=True, rate=5)))
    argv = ["simulate", "--compress", "--rate", "5", "--events", "30", "--out"]
    first, again = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    assert main([*argv, str(first)]) == 0
    printed = capsys.readouterr().out
    assert f"30 events written to {first}" in printed
    lines = [orjson.loads(line) for line in first.read_bytes().splitlines()]
    assert [doc["value"] for doc in lines] == [event for _, event in whole[:30]]
    assert main([*argv, str(again)]) == 0
    assert again.read_bytes() == first.read_bytes()  # deterministic
    # The beats told are those of the 30 events only: the story's start, not the surge.
    kept = {doc["key"] for doc in lines}
    cut = Simulation(SimulationConfig(compress=True, rate=5, events=30)).beats
    assert cut
    assert all(set(beat.event_ids) <= kept for beat in cut)
    assert "halles.flagrant" in printed
    assert "rosa.surge" not in printed
    with pytest.raises(SystemExit):
        main(["simulate", "--events", "0", "--out", str(first)])
