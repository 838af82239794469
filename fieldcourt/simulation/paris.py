"""Paris as the simulator sees it: street spots and the hourly rhythm.

The places are data (``fieldcourt/data/sim_paris.yaml``), read once on import, so that a
place can be checked or moved without reading code. Streets are real Paris streets: a place
must match its coordinates for the sector geofence to mean anything.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fieldcourt.simulation.config import load_data


@dataclass(frozen=True)
class Place:
    """A street spot: events fall within ``jitter`` degrees of it, on one of its streets."""

    name: str
    lat: float
    lon: float
    postcode: str
    streets: tuple[str, ...]
    unit: str
    weight: float = 1.0
    jitter: float = 0.0012
    numbers: tuple[int, int] = (1, 160)


@dataclass(frozen=True)
class Spot:
    """A fixed address (an apartment) or a street corner of the story, with its position."""

    street: str
    postcode: str
    lat: float
    lon: float
    number: str | None = None  # None: a street where each event gets its own house number


def _place(entry: dict[str, Any]) -> Place:
    fields = dict(entry, streets=tuple(entry["streets"]))
    if "numbers" in fields:
        fields["numbers"] = tuple(fields["numbers"])
    return Place(**fields)


_DATA = load_data("sim_paris.yaml")
_STORY = _DATA["story"]

#: Relative intensity per hour of the day in Paris: street dealing peaks in the evening.
HOURLY: tuple[float, ...] = tuple(_DATA["hourly"])
#: Drug scenes with regulars (people arrested there again and again). Stalingrad and Rosa
#: Parks lie inside their sectors, every other one outside all three sectors.
HOTSPOTS: tuple[Place, ...] = tuple(_place(entry) for entry in _DATA["hotspots"])
#: One-off events anywhere in Paris, a few hundred metres around these points.
CITY: tuple[Place, ...] = tuple(_place(entry) for entry in _DATA["city"])

#: The story's street corners in the Les Halles sector.
HALLES_STREETS: tuple[Spot, ...] = tuple(Spot(**entry) for entry in _STORY["halles_streets"])
#: The three apartments lent for dealing in Les Halles; the second is the network's stash.
HALLES_FLATS: tuple[Spot, ...] = tuple(Spot(**entry) for entry in _STORY["halles_flats"])
#: The story's street corners in the Rosa Parks sector (none of the background's streets).
ROSA_STREETS: tuple[Spot, ...] = tuple(Spot(**entry) for entry in _STORY["rosa_streets"])
#: The apartment lent for dealing in the Rosa Parks surge.
ROSA_FLAT = Spot(**_STORY["rosa_flat"])
