"""Event construction shared by the story and the background: ids, times, places, amounts."""

from __future__ import annotations

import datetime as dt
import itertools
import math
import random
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from fieldcourt.simulation.config import PARIS
from fieldcourt.simulation.paris import Spot

ARRESTS, SEIZURES, ADDRESSES = "field.arrests.v1", "field.seizures.v1", "field.dealing-addresses.v1"

#: Street seizures stay below the f3.seizure thresholds (50 g of crack, cocaine or heroin;
#: 5,000 EUR): only the story's operation and the background's wholesale finds and armed
#: seizures are meant to open F3 cases (``tests/unit/fieldcourt/test_simulate.py`` checks it).
STREET_MAX_G = 45.0
STREET_MAX_CASH_EUR = 4500.0
#: Substances whose quantity alone can make a seizure an F3 case.
HARD_DRUGS = frozenset({"crack", "cocaine", "heroin"})

Event = dict[str, Any]
SimRecord = tuple[str, Event]
#: An event with the instant it happened (UTC) and its topic: what the story and the
#: background produce, merged in event time.
Timed = tuple[dt.datetime, str, Event]

_T = TypeVar("_T")


def stream_rng(seed: int, stream: str) -> random.Random:
    """One generator per stream, so that the story does not change with the background rate.

    A string seed is hashed with SHA-512 by ``random``: the same on every run and platform.
    """
    return random.Random(f"fieldcourt-sim:{seed}:{stream}")  # noqa: S311 (simulation, not crypto)


def weighted(rng: random.Random, weights: Mapping[_T, float]) -> _T:
    """One of the keys, drawn in proportion to its weight: each option reads next to its odds."""
    return rng.choices(tuple(weights), weights=tuple(weights.values()))[0]


def parse_time(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def wire_time(moment: dt.datetime) -> str:
    """RFC 3339 in Paris local time, the way a French police system writes it."""
    return moment.astimezone(PARIS).isoformat(timespec="seconds")


def spelled_address(spot: Spot, number: str, rng: random.Random) -> str:
    """One of the spellings officers use; they all give one address key."""
    street, postcode = spot.street, spot.postcode
    return rng.choice(
        (
            f"{number} {street}, {postcode} Paris",
            f"{number}, {street[0].upper() + street[1:]} {postcode} PARIS",
            f"{number} {street} {postcode} Paris",
        )
    )


def location_of(lat: float, lon: float, street_address: str | None) -> Event:
    where: Event = {"lat": round(lat, 6), "lon": round(lon, 6)}
    if street_address is not None:
        where["address"] = street_address
    return where


def crack_grams(rng: random.Random, median: float) -> float:
    """Street quantities: a lognormal around ``median`` grams (rocks of 0.1-0.3 g)."""
    return round(min(rng.lognormvariate(math.log(median), 0.8), STREET_MAX_G), 1)


def street_cash(rng: random.Random, median: float) -> float:
    """Street cash: a lognormal around ``median`` euros, in fives, capped below F3's 5,000."""
    return min(float(round(rng.lognormvariate(math.log(median), 0.8) / 5) * 5), STREET_MAX_CASH_EUR)


@dataclass
class Emitter:
    """Builds events with unique ids and procedure numbers from its own range."""

    prefix: str
    rng: random.Random
    procedure_base: int
    ids: Iterator[int] = field(default_factory=lambda: itertools.count(1))

    def procedure(self, at: dt.datetime, kind: str = "") -> str:
        """A new procedure number: the story's and the background's ranges never meet."""
        self.procedure_base += self.rng.randrange(1, 40)
        return f"{kind}{at.astimezone(PARIS).year}/{self.procedure_base:06d}"

    def base(
        self, at: dt.datetime, delay_min: tuple[float, float], unit: str, system: str
    ) -> Event:
        reported = at + dt.timedelta(minutes=self.rng.uniform(*delay_min))
        return {
            "event_id": f"{self.prefix}-{next(self.ids):07d}",
            "occurred_at": wire_time(at),
            "reported_at": wire_time(reported),
            "source": {"system": system, "unit": unit},
        }
