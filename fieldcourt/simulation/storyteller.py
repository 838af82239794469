"""How the story writes: its beats, and the helpers that put one story event on the timeline.

``story.Story`` tells the seed's story with these; they are apart from it so that the plot
reads on its own. Every event is tagged with the beats it serves, which ``beats`` summarises.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from fieldcourt.simulation.config import DAY, PARIS, SimulationConfig
from fieldcourt.simulation.events import (
    ADDRESSES,
    ARRESTS,
    SEIZURES,
    Emitter,
    Event,
    Timed,
    location_of,
    spelled_address,
    stream_rng,
)
from fieldcourt.simulation.names import NameForge
from fieldcourt.simulation.paris import Spot


@dataclass(frozen=True)
class Beat:
    """One step of the story, for summaries and tests: its events and when it starts."""

    name: str
    description: str
    event_ids: tuple[str, ...]
    first_at: dt.datetime
    day: float  # days from the start


BEATS: dict[str, str] = {
    "halles.flagrant": "flagrant arrests of dealers in Les Halles (p12.flagrant, P12)",
    "halles.minor": "a 16-year-old lookout arrested in flagrance (p12.flagrant, P4)",
    "halles.repeat": "dealers arrested 3 times within 30 days (p20.recurrence, P12 -> P20)",
    "halles.apartments": "apartments lent by consumers: reports with the occupant, arrests "
    "there (p20.dealing_address, P20 address cases, occupants as facilitators)",
    "halles.operation": "joint operation: 7 arrests, a seizure of >= 50 g and >= 5,000 EUR "
    "linking 4 dealers (f3.seizure, f3.network, F3)",
    "halles.pressure": "the last Les Halles arrests of the four who will move",
    "rosa.reappearance": "the same four arrested in Rosa Parks within 90 days "
    "(cojc.displacement x4, cojc.trade_migration)",
    "rosa.surge": "after a quiet week, a surge of narcotics events in 24 h in Rosa Parks "
    "(cojc.surge), with an apartment lent for dealing (p20.dealing_address)",
    "street": "other story events: buyers, small seizures, new local dealers",
}


@dataclass(frozen=True)
class Filing:
    """Who records a story event: a unit, and in a raid the operation and procedure shared."""

    unit: str
    operation: str | None = None
    procedure: str | None = None  # None: a procedure number of its own


#: The unit that records most of the Les Halles street events.
STREET_PATROL = Filing("BAC Paris Centre")


class Storyteller:
    """The story as a list of (time, topic, event), with the beats each event serves."""

    def __init__(self, config: SimulationConfig, forge: NameForge) -> None:
        self.config = config
        self.timeline = config.timeline
        self.rng = stream_rng(config.seed, "story")
        self.emit = Emitter(f"{config.prefix}-s", self.rng, 400000)
        self.start = config.start.astimezone(PARIS)
        self.events: list[Timed] = []
        self.tags: dict[str, tuple[str, ...]] = {}
        self.used_addresses: set[str] = set()
        self.forge = forge

    def at(self, day: float, hour: float | None = None) -> dt.datetime:
        """Local wall-clock time ``day`` days after the start (at ``hour`` if given), in UTC."""
        moment = self.start + dt.timedelta(days=day)  # zoneinfo: wall-clock arithmetic
        if hour is not None:
            moment = moment.replace(hour=int(hour), minute=int(hour % 1 * 60), second=0)
        moment = moment.replace(second=self.rng.randrange(60))
        return moment.astimezone(dt.UTC)

    def phase(self, span: tuple[float, float], fraction: float, hour: float) -> dt.datetime:
        return self.at(span[0] + fraction * (span[1] - span[0]), hour)

    def later(self, at: dt.datetime) -> dt.datetime:
        """A few minutes on: the seizure recorded after the arrest."""
        return at + dt.timedelta(minutes=self.rng.randrange(5, 25))

    def street(self, spots: tuple[Spot, ...]) -> Event:
        """A street corner with a house number no other story event used."""
        spot = self.rng.choice(spots)
        while True:
            number = str(self.rng.randrange(1, 140))
            address = f"{number} {spot.street} {spot.postcode}"
            if address not in self.used_addresses:
                self.used_addresses.add(address)
                break
        lat = spot.lat + self.rng.uniform(-0.0004, 0.0004)
        lon = spot.lon + self.rng.uniform(-0.0004, 0.0004)
        return location_of(lat, lon, spelled_address(spot, number, self.rng))

    def flat(self, spot: Spot) -> Event:
        assert spot.number is not None
        return location_of(spot.lat, spot.lon, spelled_address(spot, spot.number, self.rng))

    def police_record(self, at: dt.datetime, delay_min: tuple[float, float], by: Filing) -> Event:
        """The head of a story event: ids, times, its procedure and, in a raid, its operation."""
        event = self.emit.base(at, delay_min, by.unit, "sim-lrppn")
        event["procedure_ref"] = by.procedure or self.emit.procedure(at)
        if by.operation is not None:
            event["operation_ref"] = by.operation
        return event

    def add(self, at: dt.datetime, topic: str, event: Event, beats: tuple[str, ...]) -> Event:
        self.events.append((at, topic, event))
        self.tags[event["event_id"]] = beats
        return event

    def arrest(
        self,
        at: dt.datetime,
        person: Event,
        location: Event,
        beats: tuple[str, ...],
        *,
        offense: str = "trafficking",
        role: str = "seller",
        flagrant: bool = True,
        by: Filing = STREET_PATROL,
    ) -> Event:
        fields = {
            "location": location,
            "person": person,
            "offense": offense,
            "flagrant": flagrant,
            "role": role,
        }
        event = self.police_record(at, (35, 180), by)
        return self.add(at, ARRESTS, event | fields, beats)

    def seizure(
        self,
        at: dt.datetime,
        persons: list[Event],
        location: Event,
        beats: tuple[str, ...],
        *,
        grams: float,
        cash: float,
        by: Filing = STREET_PATROL,
    ) -> Event:
        fields = {
            "location": location,
            "substance": "crack",
            "quantity_g": grams,
            "cash_eur": cash,
            "weapons": 0,
            "persons": persons,
        }
        event = self.police_record(at, (30, 150), by)
        return self.add(at, SEIZURES, event | fields, beats)

    def report(
        self,
        at: dt.datetime,
        spot: Spot,
        occupant: Event,
        beats: tuple[str, ...],
        *,
        usage: str,
        evidence: str,
        unit: str,
    ) -> Event:
        event = self.police_record(at, (6 * 60, 40 * 60), Filing(unit))
        event |= {  # the location after the head: the generator's draws stay in this order
            "location": self.flat(spot),
            "usage": usage,
            "evidence": evidence,
            "occupant": occupant,
        }
        return self.add(at, ADDRESSES, event, beats)

    def buyer(self, at: dt.datetime, spots: tuple[Spot, ...], by: Filing = STREET_PATROL) -> None:
        person = self.forge.person(self.start.date(), (24.0, 55.0))
        self.arrest(
            at,
            person,
            self.street(spots),
            ("street",),
            offense="use",
            role="buyer",
            flagrant=self.rng.random() < 0.7,
            by=by,
        )

    def beats(self, kept: set[str] | None = None) -> tuple[Beat, ...]:
        """The story's beats; with ``kept``, only their events among those (a cut feed)."""
        found: dict[str, list[tuple[dt.datetime, str]]] = {name: [] for name in BEATS}
        for at, _topic, event in self.events:
            if kept is not None and event["event_id"] not in kept:
                continue
            for name in self.tags[event["event_id"]]:
                found[name].append((at, event["event_id"]))
        origin = self.config.start.astimezone(dt.UTC)
        return tuple(
            Beat(
                name,
                BEATS[name],
                tuple(event_id for _, event_id in items),
                items[0][0],
                round((items[0][0] - origin) / DAY, 2),
            )
            for name, items in found.items()
            if items
        )
