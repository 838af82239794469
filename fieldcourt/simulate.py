"""Synthetic field events: street-level activity across Paris and the seed's story.

Everything here is invented. People are syllable combinations drawn from a seeded
``random.Random``; streets are real Paris streets (a place must match its coordinates for the
sector geofence to mean anything) with invented house numbers; ``source.system`` always starts
with ``sim-`` so that no one mistakes a simulated event for a police record.

The output is an iterator of ``(topic, event)`` pairs in event-time order, ``event`` being the
JSON-ready dict a police system would publish on ``topic`` (docs/contract.md §4).
``write_jsonl`` stores it in the replay format of ``docs/replay-format.md``: one JSON object
per line,

    {"topic": "field.arrests.v1", "key": "<event_id>", "value": {<the event>}}

The story (``story=True``), in days from ``start`` (the full timeline; ``compress`` keeps the
same beats on about 25 days, for CI and the demo):

* Les Halles, days 1-17 (2-17 September 2025): flagrant arrests of dealers (P12); dealers
  arrested three times within 30 days (P20 recurrence); three consumers lending their
  apartments: a dealing-address report with the occupant, then two arrests there (P20 address
  case, occupants as facilitators); a 16-year-old lookout (P4);
* day 18, 06:00 (19 September): joint operation, one ``operation_ref``: seven arrests (four
  dealers, the three lenders) and a seizure of more than 50 g of crack and 5,000 EUR at the
  stash apartment (F3 seizure, F3 network of all of them);
* days 118-137 (28 December - 16 January): the last Les Halles arrests of four members;
* days 189-204 (9-24 March 2026): the same four in Rosa Parks, 65-70 days later (four
  displacement alerts, a trade-migration alert at the third);
* day 212 (1 April 2026, 07:00-22:00), after a quiet week: a surge in Rosa Parks, with a new
  apartment lent for dealing (surge alert, P20 address case).

Background events are a Poisson process (``rate`` a day, more in the evening) over street
spots of Paris: drug scenes (Stalingrad, La Chapelle, Barbès, Porte de la Chapelle, ...), each
with its regulars, and one-off events anywhere in the city. Les Halles gets no background
events (the story is its activity); Rosa Parks gets few, so that its surge stands out.

``shift_to_end_at`` moves a whole output in time so that it ends at a given instant: ingest
rejects events more than 5 minutes in the future, so a demo shifts the story to end just
before the wall-clock now.

This module is the public face: the parts live in ``fieldcourt/simulation/`` (its docstring
says which is where), the places and name syllables in ``fieldcourt/data/sim_*.yaml``.
"""

from __future__ import annotations

from fieldcourt.simulation.background import HOTSPOT_SHARE, rosa_background_per_day
from fieldcourt.simulation.config import (
    COMPRESSED,
    DAY,
    DEFAULT_RATE,
    DEFAULT_START,
    FULL,
    PARIS,
    SURGE_SPAN,
    SimulationConfig,
    Timeline,
)
from fieldcourt.simulation.events import (
    ADDRESSES,
    ARRESTS,
    HARD_DRUGS,
    SEIZURES,
    STREET_MAX_CASH_EUR,
    STREET_MAX_G,
    Event,
    SimRecord,
)
from fieldcourt.simulation.feed import Simulation, simulate
from fieldcourt.simulation.names import NameForge
from fieldcourt.simulation.output import shift_to_end_at, write_jsonl
from fieldcourt.simulation.paris import (
    CITY,
    HALLES_FLATS,
    HALLES_STREETS,
    HOTSPOTS,
    HOURLY,
    ROSA_FLAT,
    ROSA_STREETS,
    Place,
    Spot,
)
from fieldcourt.simulation.story import surge_size
from fieldcourt.simulation.storyteller import BEATS, Beat

__all__ = [
    "ADDRESSES",
    "ARRESTS",
    "BEATS",
    "CITY",
    "COMPRESSED",
    "DAY",
    "DEFAULT_RATE",
    "DEFAULT_START",
    "FULL",
    "HALLES_FLATS",
    "HALLES_STREETS",
    "HARD_DRUGS",
    "HOTSPOTS",
    "HOTSPOT_SHARE",
    "HOURLY",
    "PARIS",
    "ROSA_FLAT",
    "ROSA_STREETS",
    "SEIZURES",
    "STREET_MAX_CASH_EUR",
    "STREET_MAX_G",
    "SURGE_SPAN",
    "Beat",
    "Event",
    "NameForge",
    "Place",
    "SimRecord",
    "Simulation",
    "SimulationConfig",
    "Spot",
    "Timeline",
    "rosa_background_per_day",
    "shift_to_end_at",
    "simulate",
    "surge_size",
    "write_jsonl",
]
