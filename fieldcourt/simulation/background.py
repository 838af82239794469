"""Street-level activity around the story: a Poisson process over the spots of Paris.

Drug scenes get most of it, each with its regulars; the rest are one-off events anywhere in
the city. Les Halles gets none (the story is its activity), Rosa Parks few, so that its surge
stands out. Its generator is its own, so the story does not change with the rate.
"""

from __future__ import annotations

import datetime as dt
import itertools
import math
from collections.abc import Iterator

from fieldcourt.simulation.config import PARIS, SimulationConfig
from fieldcourt.simulation.events import (
    ADDRESSES,
    ARRESTS,
    HARD_DRUGS,
    SEIZURES,
    STREET_MAX_G,
    Emitter,
    Event,
    Timed,
    location_of,
    parse_time,
    spelled_address,
    stream_rng,
    street_cash,
    weighted,
)
from fieldcourt.simulation.names import NameForge
from fieldcourt.simulation.paris import CITY, HOTSPOTS, HOURLY, Place, Spot

#: Share of background events at the drug scenes (the rest is spread over ``CITY``).
HOTSPOT_SHARE = 0.65


def rosa_background_per_day(rate: float) -> float:
    """Expected background events a day inside Rosa Parks (its one hotspot)."""
    total = sum(p.weight for p in HOTSPOTS)
    rosa = sum(p.weight for p in HOTSPOTS if p.name == "Rosa Parks")
    return rate * HOTSPOT_SHARE * rosa / total


class Background:
    """Street-level activity: a Poisson process of ``rate`` events a day, more in the evening."""

    def __init__(self, config: SimulationConfig, forge: NameForge) -> None:
        self.config = config
        self.rng = stream_rng(config.seed, "background")
        self.emit = Emitter(f"{config.prefix}-b", self.rng, 100000)
        self.forge = forge
        self.regulars: dict[str, list[Event]] = {p.name: [] for p in HOTSPOTS}
        self.hotspot_weights = list(itertools.accumulate(p.weight for p in HOTSPOTS))

    def events(self) -> Iterator[Timed]:
        """Every background event in event-time order, as far as ``config.end``."""
        config, rng = self.config, self.rng
        if config.rate <= 0:
            return
        peak_rate = config.rate / (sum(HOURLY) / len(HOURLY))  # per day, before thinning
        t, end = config.start.astimezone(dt.UTC), config.end
        while True:
            t += dt.timedelta(days=rng.expovariate(peak_rate))
            if t >= end:
                return
            if rng.random() < HOURLY[t.astimezone(PARIS).hour]:
                item = self.event(t.replace(microsecond=0))
                # Not yet reported when the feed ends: not in it (a police system publishes
                # on report). So the latest report is close to the end, as in a live feed.
                if parse_time(item[2]["reported_at"]) <= end:
                    yield item

    def event(self, at: dt.datetime) -> Timed:
        rng = self.rng
        hotspot = rng.random() < HOTSPOT_SHARE
        if hotspot:
            place = rng.choices(HOTSPOTS, cum_weights=self.hotspot_weights)[0]
        else:
            place = rng.choice(CITY)
        kind = rng.random()
        if kind < 0.70:
            return at, ARRESTS, self.arrest(at, place, hotspot)
        if kind < 0.95:
            return at, SEIZURES, self.seizure(at, place, hotspot)
        return at, ADDRESSES, self.report(at, place)

    def location(self, place: Place, addressed: float) -> Event:
        rng = self.rng
        lat = place.lat + rng.uniform(-place.jitter, place.jitter)
        lon = place.lon + rng.uniform(-place.jitter, place.jitter)
        address = None
        if rng.random() < addressed:
            spot = Spot(rng.choice(place.streets), place.postcode, lat, lon)
            address = spelled_address(spot, str(rng.randrange(*place.numbers)), rng)
        return location_of(lat, lon, address)

    def person(self, at: dt.datetime, place: Place, hotspot: bool) -> Event:
        """A scene's regular (half the time, once it has some) or someone new."""
        regulars = self.regulars.get(place.name) if hotspot else None
        if regulars and self.rng.random() < 0.5:
            return self.rng.choice(regulars)
        age = (15.0, 17.9) if self.rng.random() < 0.03 else (18.0, 58.0)
        person = self.forge.person(at.astimezone(PARIS).date(), age, alias=0.15)
        if regulars is not None:
            regulars.append(person)
        return person

    def common(self, at: dt.datetime, place: Place, delay_min: tuple[float, float]) -> Event:
        rng = self.rng
        if rng.random() < 0.03:  # a late report: days, not hours
            delay_min = (2 * 24 * 60, 5 * 24 * 60)
        event = self.emit.base(at, delay_min, place.unit, rng.choice(("sim-lrppn", "sim-pulsar")))
        if rng.random() < 0.9:
            event["procedure_ref"] = self.emit.procedure(at)
        return event

    def arrest(self, at: dt.datetime, place: Place, hotspot: bool) -> Event:
        rng = self.rng
        offense = weighted(
            rng,
            {
                "use": 35,
                "possession": 28,
                "trafficking": 25,
                "facilitation": 2,
                "violence": 6,
                "other": 4,
            },
        )
        role = {
            "use": "buyer",
            "possession": rng.choice(("buyer", "buyer", "seller")),
            "trafficking": rng.choice(("seller", "seller", "seller", "lookout", "runner")),
            "facilitation": "facilitator",
        }.get(offense, "unknown")
        event = self.common(at, place, (30, 240))
        event |= {
            "location": self.location(place, 0.35),
            "person": self.person(at, place, hotspot),
            "offense": offense,
            "flagrant": rng.random() < 0.8,
            "role": role,
        }
        return event

    def seizure(self, at: dt.datetime, place: Place, hotspot: bool) -> Event:
        rng = self.rng
        substance = weighted(
            rng,
            {"crack": 45, "cannabis": 33, "cocaine": 11, "heroin": 4, "synthetic": 5, "other": 2},
        )
        median = {"crack": 3.0, "cannabis": 18.0, "cocaine": 6.0}.get(substance, 4.0)
        grams = rng.lognormvariate(math.log(median), 0.9)
        if substance in HARD_DRUGS:  # a street quantity (capped, so the RNG stream is unchanged)
            grams = min(grams, STREET_MAX_G)
        if rng.random() < 0.02:  # the occasional wholesale find: F3 when a hard drug
            grams = rng.uniform(50, 400)
        count = weighted(rng, {0: 10, 1: 78, 2: 12})
        persons: list[Event] = []
        for _ in range(count):
            person = self.person(at, place, hotspot)
            if person not in persons:
                persons.append(person)
        event = self.common(at, place, (30, 300))
        event |= {
            "location": self.location(place, 0.35),
            "substance": substance,
            "quantity_g": round(grams, 1),
            "cash_eur": street_cash(rng, 350) if rng.random() < 0.6 else 0.0,
            "weapons": 1 if rng.random() < 0.01 else 0,
            "persons": persons,
        }
        return event

    def report(self, at: dt.datetime, place: Place) -> Event:
        rng = self.rng
        event = self.common(at, place, (6 * 60, 48 * 60))
        event |= {
            "location": self.location(place, 1.0),
            "usage": weighted(rng, {"dealing_point": 50, "consumption_site": 35, "stash": 15}),
            "evidence": weighted(
                rng, {"complaint": 40, "surveillance": 35, "informant": 15, "search": 10}
            ),
        }
        if rng.random() < 0.5:
            event["occupant"] = self.forge.person(at.astimezone(PARIS).date(), (25.0, 70.0))
        return event
