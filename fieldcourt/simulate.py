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
"""

from __future__ import annotations

import datetime as dt
import heapq
import itertools
import math
import random
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import orjson

ARRESTS, SEIZURES, ADDRESSES = "field.arrests.v1", "field.seizures.v1", "field.dealing-addresses.v1"
PARIS = ZoneInfo("Europe/Paris")
DAY = dt.timedelta(days=1)

#: Midnight in Paris on 1 September 2025: the Les Halles cell met on the 19th.
DEFAULT_START = dt.datetime(2025, 9, 1, tzinfo=PARIS)
DEFAULT_RATE = 40.0

#: Street seizures stay below the f3.seizure thresholds (50 g of crack, cocaine or heroin;
#: 5,000 EUR): only the story's operation and the background's wholesale finds and armed
#: seizures are meant to open F3 cases (``tests/unit/fieldcourt/test_simulate.py`` checks it).
STREET_MAX_G = 45.0
STREET_MAX_CASH_EUR = 4500.0
#: Substances whose quantity alone can make a seizure an F3 case.
HARD_DRUGS = frozenset({"crack", "cocaine", "heroin"})

Event = dict[str, Any]
SimRecord = tuple[str, Event]


def _rng(seed: int, stream: str) -> random.Random:
    """One generator per stream, so that the story does not change with the background rate.

    A string seed is hashed with SHA-512 by ``random``: the same on every run and platform.
    """
    return random.Random(f"fieldcourt-sim:{seed}:{stream}")  # noqa: S311 (simulation, not crypto)


# --------------------------------------------------------------------------------------------
# Places


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


#: Drug scenes with regulars (people arrested there again and again). Stalingrad and Rosa
#: Parks lie inside their sectors, every other one outside all three sectors.
HOTSPOTS: tuple[Place, ...] = (
    Place("Stalingrad", 48.8843, 2.3686, "75019",
          ("place de la Bataille-de-Stalingrad", "boulevard de la Villette", "quai de la Seine",
           "avenue de Flandre", "rue d'Aubervilliers"), "CSP 19e", weight=5, jitter=0.0014),
    Place("Jardins d'Eole", 48.8892, 2.3626, "75018",
          ("rue Riquet", "rue du Departement", "rue d'Aubervilliers"), "CSP 18e", weight=6,
          numbers=(1, 90)),
    Place("La Chapelle", 48.8842, 2.3598, "75018",
          ("boulevard de la Chapelle", "rue Marx-Dormoy", "rue Philippe-de-Girard"),
          "CSP 18e", weight=8),
    Place("Barbes - Chateau Rouge", 48.8860, 2.3500, "75018",
          ("boulevard Barbes", "rue Myrha", "rue des Poissonniers", "rue Doudeauville",
           "rue Dejean"), "CSP 18e", weight=9),
    Place("Porte de la Chapelle", 48.8985, 2.3588, "75018",
          ("boulevard Ney", "avenue de la Porte-de-la-Chapelle", "rue de la Chapelle"),
          "CSP 18e", weight=7),
    Place("Gare du Nord", 48.8805, 2.3553, "75010",
          ("boulevard de Magenta", "rue de Maubeuge", "rue de Dunkerque"), "CSP 10e", weight=5),
    Place("Belleville", 48.8720, 2.3770, "75020",
          ("boulevard de Belleville", "rue de Belleville", "rue Ramponeau"), "CSP 20e",
          weight=4),
    Place("Pigalle", 48.8822, 2.3375, "75018",
          ("boulevard de Clichy", "rue Houdon", "rue des Martyrs"), "CSP 18e", weight=3),
    Place("Porte de Clignancourt", 48.8975, 2.3445, "75018",
          ("avenue de la Porte-de-Clignancourt", "rue Belliard"), "CSP 18e", weight=3),
    Place("Chatelet", 48.8582, 2.3472, "75001",
          ("place du Chatelet", "avenue Victoria", "quai de la Megisserie"), "CSP Paris Centre",
          weight=3, jitter=0.0008),
    Place("Gare de Lyon", 48.8447, 2.3740, "75012",
          ("boulevard Diderot", "rue de Lyon", "rue Van-Gogh"), "CSP 12e", weight=2),
    Place("Porte de la Villette", 48.8978, 2.3865, "75019",
          ("avenue Corentin-Cariou", "rue Adolphe-Mille"), "CSP 19e", weight=2, jitter=0.001),
    Place("Rosa Parks", 48.8968, 2.3722, "75019",
          ("avenue de la Porte-d'Aubervilliers", "rue Emile-Bollaert", "rue Charles-Hermite"),
          "CSP 19e", weight=1.5, jitter=0.0015, numbers=(2, 60)),
)  # fmt: skip

#: One-off events anywhere in Paris, a few hundred metres around these points.
CITY: tuple[Place, ...] = tuple(
    Place(name, lat, lon, postcode, streets, unit, jitter=0.003)
    for name, lat, lon, postcode, streets, unit in (
        ("Palais-Royal", 48.8642, 2.3358, "75001", ("rue de Richelieu", "rue de Valois"),
         "CSP Paris Centre"),
        ("Bourse", 48.8690, 2.3410, "75002", ("rue Vivienne", "rue du Quatre-Septembre"),
         "CSP Paris Centre"),
        ("Arts-et-Metiers", 48.8665, 2.3565, "75003", ("rue Reaumur", "rue de Turbigo"),
         "CSP Paris Centre"),
        ("Saint-Paul", 48.8550, 2.3610, "75004", ("rue Saint-Antoine", "rue de Rivoli"),
         "CSP Paris Centre"),
        ("Monge", 48.8430, 2.3520, "75005", ("rue Monge", "rue Mouffetard"), "CSP 5e"),
        ("Odeon", 48.8515, 2.3390, "75006", ("boulevard Saint-Germain", "rue de Buci"),
         "CSP 6e"),
        ("Ecole Militaire", 48.8550, 2.3060, "75007", ("avenue de La Motte-Picquet",
         "rue Cler"), "CSP 7e"),
        ("Saint-Lazare", 48.8755, 2.3250, "75008", ("rue d'Amsterdam", "rue de Rome"),
         "CSP 8e"),
        ("Anvers", 48.8828, 2.3440, "75009", ("boulevard de Rochechouart",
         "rue de Steinkerque"), "CSP 9e"),
        ("Republique", 48.8675, 2.3635, "75010", ("boulevard Magenta", "rue du Chateau-d'Eau"),
         "CSP 10e"),
        ("Oberkampf", 48.8650, 2.3780, "75011", ("rue Oberkampf", "rue Saint-Maur"),
         "CSP 11e"),
        ("Charonne", 48.8550, 2.3850, "75011", ("rue de Charonne", "boulevard Voltaire"),
         "CSP 11e"),
        ("Nation", 48.8485, 2.3960, "75012", ("cours de Vincennes", "boulevard Diderot"),
         "CSP 12e"),
        ("Daumesnil", 48.8395, 2.3960, "75012", ("avenue Daumesnil", "rue de Charenton"),
         "CSP 12e"),
        ("Place d'Italie", 48.8310, 2.3555, "75013", ("avenue d'Italie", "boulevard Blanqui"),
         "CSP 13e"),
        ("Olympiades", 48.8265, 2.3670, "75013", ("rue de Tolbiac", "avenue d'Ivry"),
         "CSP 13e"),
        ("Denfert-Rochereau", 48.8340, 2.3325, "75014", ("avenue du General-Leclerc",
         "rue Daguerre"), "CSP 14e"),
        ("Porte d'Orleans", 48.8235, 2.3255, "75014", ("boulevard Brune", "rue d'Alesia"),
         "CSP 14e"),
        ("Vaugirard", 48.8400, 2.2980, "75015", ("rue de Vaugirard", "rue de la Convention"),
         "CSP 15e"),
        ("Beaugrenelle", 48.8485, 2.2840, "75015", ("rue Linois", "rue Saint-Charles"),
         "CSP 15e"),
        ("Porte de Saint-Cloud", 48.8380, 2.2570, "75016", ("avenue de Versailles",
         "boulevard Murat"), "CSP 16e"),
        ("Trocadero", 48.8630, 2.2870, "75016", ("avenue Kleber", "avenue Paul-Doumer"),
         "CSP 16e"),
        ("Porte de Clichy", 48.8945, 2.3130, "75017", ("avenue de Clichy",
         "boulevard Berthier"), "CSP 17e"),
        ("Batignolles", 48.8840, 2.3180, "75017", ("rue des Dames", "rue Legendre"),
         "CSP 17e"),
        ("Marx-Dormoy", 48.8905, 2.3600, "75018", ("rue Ordener", "rue Pajol"), "CSP 18e"),
        ("Buttes-Chaumont", 48.8785, 2.3835, "75019", ("rue Botzaris", "avenue Simon-Bolivar"),
         "CSP 19e"),
        ("Crimee", 48.8890, 2.3800, "75019", ("rue de Crimee", "rue Riquet"), "CSP 19e"),
        ("Gambetta", 48.8650, 2.3985, "75020", ("avenue Gambetta", "rue des Pyrenees"),
         "CSP 20e"),
        ("Porte de Montreuil", 48.8535, 2.4100, "75020", ("boulevard Davout",
         "rue d'Avron"), "CSP 20e"),
        ("Porte des Lilas", 48.8770, 2.4065, "75020", ("rue de Belleville",
         "boulevard Serurier"), "CSP 20e"),
    )
)  # fmt: skip

#: Share of background events at the drug scenes (the rest is spread over ``CITY``).
HOTSPOT_SHARE = 0.65

#: Relative intensity per hour of the day in Paris: street dealing peaks in the evening.
HOURLY = (0.6, 0.5, 0.4, 0.3, 0.2, 0.2, 0.35, 0.4, 0.4, 0.45, 0.5, 0.55,
          0.6, 0.65, 0.7, 0.75, 0.85, 0.95, 1.0, 1.0, 0.95, 0.9, 0.8, 0.7)  # fmt: skip


@dataclass(frozen=True)
class Spot:
    """A fixed address (an apartment) or a street corner of the story, with its position."""

    street: str
    postcode: str
    lat: float
    lon: float
    number: str | None = None  # None: a street where each event gets its own house number


# Les Halles sector: [2.3410, 48.8595] - [2.3520, 48.8650].
HALLES_STREETS = (
    Spot("rue Berger", "75001", 48.8617, 2.3455),
    Spot("rue Pierre-Lescot", "75001", 48.8622, 2.3478),
    Spot("rue Rambuteau", "75001", 48.8628, 2.3492),
    Spot("rue de la Grande-Truanderie", "75001", 48.8637, 2.3478),
    Spot("rue Saint-Denis", "75001", 48.8612, 2.3488),
    Spot("place Joachim-du-Bellay", "75001", 48.8608, 2.3483),
    Spot("rue Montmartre", "75001", 48.8638, 2.3450),
)
#: The three apartments lent for dealing in Les Halles; the second is the network's stash.
HALLES_FLATS = (
    Spot("rue Quincampoix", "75004", 48.8603, 2.3507, "17"),
    Spot("rue de la Cossonnerie", "75001", 48.8617, 2.3486, "8 bis"),
    Spot("rue Saint-Denis", "75001", 48.8606, 2.3480, "31"),
)
# Rosa Parks sector: [2.3650, 48.8930] - [2.3800, 48.9010]; none of the background's streets.
ROSA_STREETS = (
    Spot("boulevard Macdonald", "75019", 48.8980, 2.3735),
    Spot("rue Gaston-Tessier", "75019", 48.8960, 2.3748),
    Spot("rue Cesaria-Evora", "75019", 48.8965, 2.3718),
    Spot("quai de la Gironde", "75019", 48.8948, 2.3782),
)
ROSA_FLAT = Spot("rue Curial", "75019", 48.8948, 2.3712, "74")


# --------------------------------------------------------------------------------------------
# People

#: Syllables of invented names: two and an ending for a surname, one and an ending for a
#: first name. (Accents too, so that the names exercise normalisation.)
_LAST = (
    "bar", "bel", "cor", "dan", "dor", "fal", "gar", "ker", "lan", "lor", "mon", "nar",
    "pel", "quer", "ran", "sor", "tal", "tor", "val", "ver", "zan", "zor", "bré", "cla",
    "dru", "fen", "gri", "lun", "mé", "nou", "pra", "ros", "sil", "tri", "vol", "xan",
)  # fmt: skip
_LAST_END = (
    "ac", "ec", "el", "ès", "et", "ier", "in", "on", "ot", "aud", "ard", "ain", "ieux",
    "ane", "ek", "os", "ovic", "ami",
)  # fmt: skip
_FIRST = (
    "a", "bé", "ca", "da", "é", "fa", "ga", "i", "ka", "la", "ma", "na", "o", "ra",
    "sa", "ta", "ya", "za", "lo", "mi", "no", "ti", "vé", "zé",
)  # fmt: skip
_FIRST_END = (
    "lio", "rin", "lys", "nel", "ric", "dine", "mir", "ane", "ko", "vin", "ssa", "rah",
    "ndre", "lie", "dor", "mé", "tis", "bel",
)  # fmt: skip
_ALIAS = (
    "zo", "ka", "ti", "mo", "ba", "ré", "lu", "pi", "ga", "do", "ki", "fu",
)  # fmt: skip


class NameForge:
    """Invents people: syllable names, birth dates; never the same identity twice."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[tuple[str, str, str]] = set()

    def person(self, born_before: dt.date, age: tuple[float, float], alias: float = 0.2) -> Event:
        """A new person aged within ``age`` (years) on ``born_before``."""
        rng = self._rng
        while True:
            last = rng.choice(_LAST) + rng.choice(_LAST)
            last = (last + rng.choice(_LAST_END)).capitalize()
            if rng.random() < 0.08:
                last += "-" + (rng.choice(_LAST) + rng.choice(_LAST_END)).capitalize()
            first = (rng.choice(_FIRST) + rng.choice(_FIRST_END)).capitalize()
            days = rng.uniform(age[0] * 365.25, age[1] * 365.25)
            birth = (born_before - dt.timedelta(days=days)).isoformat()
            identity = (last.upper(), first.upper(), birth)
            if identity not in self._used:
                self._used.add(identity)
                break
        person: Event = {"last_name": last, "first_name": first, "birth_date": birth}
        if rng.random() < alias:
            person["aliases"] = ["".join(rng.choice(_ALIAS) for _ in range(2)).capitalize()]
        return person


# --------------------------------------------------------------------------------------------
# Configuration


@dataclass(frozen=True)
class Timeline:
    """When each story beat happens, in days from the start (local wall-clock time)."""

    halles: tuple[float, float]  # street dealing and apartments
    operation: float
    pressure: tuple[float, float]  # the last Les Halles arrests of the members who move
    reappear: tuple[float, float]  # the same people in Rosa Parks
    surge: float
    end: float
    extras: bool  # the full story's additional street events


FULL = Timeline((1.0, 16.5), 18.25, (118.0, 137.0), (189.0, 203.9), 212.3, 219.0, True)
COMPRESSED = Timeline((0.25, 5.0), 6.25, (7.2, 8.8), (12.3, 14.5), 23.3, 24.6, False)
#: The surge lasts this long from 07:12 local time: its events fall in one UTC day, because
#: the alert limiter counts "once per 24 h" in UTC days (``streams/rules/limiter.py``).
SURGE_SPAN = 0.6


@dataclass(frozen=True)
class SimulationConfig:
    """What to simulate. ``days`` defaults to the story's length (7 days without a story)."""

    seed: int = 2025
    start: dt.datetime = DEFAULT_START
    days: float | None = None
    rate: float = DEFAULT_RATE
    story: bool = True
    compress: bool = False
    prefix: str = "sim"
    events: int | None = None  # stop after this many events (the first in event time)

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.start.utcoffset() is None:
            raise ValueError("start must carry a time zone")
        if self.rate < 0 or not math.isfinite(self.rate):
            raise ValueError("rate must be a finite number of events a day, >= 0")
        if self.days is not None and not (0 < self.days <= 3660):
            raise ValueError("days must be > 0 and at most ten years")
        if self.story and self.days is not None and self.days < self.timeline.end:
            raise ValueError(
                f"the {'compressed ' if self.compress else ''}story needs "
                f"{math.ceil(self.timeline.end)} days; give more days or --no-story"
            )
        if not self.prefix or len(self.prefix) > 64 or any(c.isspace() for c in self.prefix):
            raise ValueError("prefix must be 1-64 characters without spaces")
        if self.events is not None and self.events < 1:
            raise ValueError("events must be at least 1")

    @property
    def timeline(self) -> Timeline:
        return COMPRESSED if self.compress else FULL

    @property
    def duration(self) -> dt.timedelta:
        if self.days is not None:
            return dt.timedelta(days=self.days)
        return dt.timedelta(days=math.ceil(self.timeline.end) if self.story else 7)

    @property
    def end(self) -> dt.datetime:
        return self.start.astimezone(dt.UTC) + self.duration


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


# --------------------------------------------------------------------------------------------
# Event construction shared by the story and the background


def _wire_time(moment: dt.datetime) -> str:
    """RFC 3339 in Paris local time, the way a French police system writes it."""
    return moment.astimezone(PARIS).isoformat(timespec="seconds")


def _address(spot: Spot, number: str, rng: random.Random) -> str:
    """One of the spellings officers use; they all give one address key."""
    street, postcode = spot.street, spot.postcode
    return rng.choice(
        (
            f"{number} {street}, {postcode} Paris",
            f"{number}, {street[0].upper() + street[1:]} {postcode} PARIS",
            f"{number} {street} {postcode} Paris",
        )
    )


@dataclass
class _Emitter:
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
            "occurred_at": _wire_time(at),
            "reported_at": _wire_time(reported),
            "source": {"system": system, "unit": unit},
        }


def _location(lat: float, lon: float, address: str | None) -> Event:
    location: Event = {"lat": round(lat, 6), "lon": round(lon, 6)}
    if address is not None:
        location["address"] = address
    return location


def _crack_grams(rng: random.Random, median: float) -> float:
    """Street quantities: a lognormal around ``median`` grams (rocks of 0.1-0.3 g)."""
    return round(min(rng.lognormvariate(math.log(median), 0.8), STREET_MAX_G), 1)


def _cash(rng: random.Random, median: float) -> float:
    """Street cash: a lognormal around ``median`` euros, in fives, capped below F3's 5,000."""
    return min(float(round(rng.lognormvariate(math.log(median), 0.8) / 5) * 5), STREET_MAX_CASH_EUR)


# --------------------------------------------------------------------------------------------
# The story


class _Story:
    """The seed's story as a list of (time, topic, event), with the beats each event serves."""

    def __init__(self, config: SimulationConfig, forge: NameForge) -> None:
        self.config = config
        self.timeline = config.timeline
        self.rng = _rng(config.seed, "story")
        self.emit = _Emitter(f"{config.prefix}-s", self.rng, 400000)
        self.start = config.start.astimezone(PARIS)
        self.events: list[tuple[dt.datetime, str, Event]] = []
        self.tags: dict[str, tuple[str, ...]] = {}
        self.used_addresses: set[str] = set()
        today = self.start.date()
        adult = (19.0, 34.0)
        self.dealers = [forge.person(today, adult, alias=0.6) for _ in range(6)]
        self.runner = forge.person(today, (20.0, 24.0), alias=0.5)
        # 16 and a few months old on the start date: still a minor all through the story.
        self.minor = forge.person(today, (16.15, 16.4))
        self.lenders = [forge.person(today, (38.0, 56.0)) for _ in range(3)]
        self.rosa_lender = forge.person(today, (40.0, 58.0))
        self.newcomers = [forge.person(today, adult, alias=0.5) for _ in range(3)]
        self.forge = forge

    # -- building blocks --------------------------------------------------------------------

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
        return _location(lat, lon, _address(spot, number, self.rng))

    def flat(self, spot: Spot) -> Event:
        assert spot.number is not None
        return _location(spot.lat, spot.lon, _address(spot, spot.number, self.rng))

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
        unit: str = "BAC Paris Centre",
        operation: str | None = None,
        procedure: str | None = None,
    ) -> Event:
        event = self.emit.base(at, (35, 180), unit, "sim-lrppn")
        event["procedure_ref"] = procedure or self.emit.procedure(at)
        if operation is not None:
            event["operation_ref"] = operation
        event |= {"location": location, "person": person, "offense": offense,
                  "flagrant": flagrant, "role": role}  # fmt: skip
        return self.add(at, ARRESTS, event, beats)

    def seizure(
        self,
        at: dt.datetime,
        persons: list[Event],
        location: Event,
        beats: tuple[str, ...],
        *,
        grams: float,
        cash: float,
        unit: str = "BAC Paris Centre",
        operation: str | None = None,
        procedure: str | None = None,
    ) -> Event:
        event = self.emit.base(at, (30, 150), unit, "sim-lrppn")
        event["procedure_ref"] = procedure or self.emit.procedure(at)
        if operation is not None:
            event["operation_ref"] = operation
        event |= {"location": location, "substance": "crack", "quantity_g": grams,
                  "cash_eur": cash, "weapons": 0, "persons": persons}  # fmt: skip
        return self.add(at, SEIZURES, event, beats)

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
        event = self.emit.base(at, (6 * 60, 40 * 60), unit, "sim-lrppn")
        event["procedure_ref"] = self.emit.procedure(at)
        event |= {"location": self.flat(spot), "usage": usage, "evidence": evidence,
                  "occupant": occupant}  # fmt: skip
        return self.add(at, ADDRESSES, event, beats)

    def buyer(self, at: dt.datetime, spots: tuple[Spot, ...], unit: str) -> None:
        person = self.forge.person(self.start.date(), (24.0, 55.0))
        self.arrest(at, person, self.street(spots), ("street",), offense="use", role="buyer",
                    flagrant=self.rng.random() < 0.7, unit=unit)  # fmt: skip

    # -- the beats ---------------------------------------------------------------------------

    def build(self) -> list[tuple[dt.datetime, str, Event]]:
        self._halles()
        self._operation()
        self._pressure()
        self._rosa()
        self.events.sort(key=lambda item: item[0])
        return self.events

    def _halles(self) -> None:
        """Street dealing, repeat offenders, lent apartments and a minor lookout."""
        span, rng, d, lend = self.timeline.halles, self.rng, self.dealers, self.lenders
        flat0, flat1, flat2 = HALLES_FLATS
        flagrant, repeat, flats = "halles.flagrant", "halles.repeat", "halles.apartments"

        def street_deal(
            fraction: float,
            hour: float,
            who: Event,
            tags: tuple[str, ...],
            offense: str = "trafficking",
            grams: float | None = None,
        ) -> None:
            at = self.phase(span, fraction, hour)
            place = self.street(HALLES_STREETS)
            self.arrest(at, who, place, tags, offense=offense)
            if grams is not None:
                self.seizure(self.later(at), [who], place, tags, grams=grams, cash=_cash(rng, 260))

        # Dealer 0: flagrant on the street with a buyer, at apartment 0, then on the street.
        street_deal(0.0, 17.6, d[0], (flagrant, repeat), grams=_crack_grams(rng, 3.5))
        self.buyer(self.phase(span, 0.0, 17.7), HALLES_STREETS, "BAC Paris Centre")
        self.report(
            self.phase(span, 0.08, 21.0),
            flat0,
            lend[0],
            (flats,),
            usage="dealing_point",
            evidence="complaint",
            unit="CSP Paris Centre",
        )
        at = self.phase(span, 0.2, 21.2)
        self.arrest(at, d[1], self.flat(flat0), (flagrant, flats))
        self.seizure(
            self.later(at),
            [d[1]],
            self.flat(flat0),
            (flats,),
            grams=_crack_grams(rng, 6),
            cash=_cash(rng, 480),
        )
        self.arrest(
            self.phase(span, 0.26, 16.5),
            self.minor,
            self.street(HALLES_STREETS),
            ("halles.minor",),
            role="lookout",
        )
        self.arrest(self.phase(span, 0.35, 22.1), d[0], self.flat(flat0), (flagrant, repeat, flats))
        # Dealer 2 on the street, then at apartment 1 with dealer 3, then on the street again.
        street_deal(0.14, 19.2, d[2], (flagrant, repeat))
        self.report(
            self.phase(span, 0.3, 14.0),
            flat1,
            lend[1],
            (flats,),
            usage="consumption_site",
            evidence="surveillance",
            unit="BST Les Halles",
        )
        at = self.phase(span, 0.45, 20.5)
        self.arrest(at, d[2], self.flat(flat1), (flagrant, repeat, flats))
        self.seizure(
            self.later(at),
            [d[2]],
            self.flat(flat1),
            (flats,),
            grams=_crack_grams(rng, 9),
            cash=_cash(rng, 730),
        )
        self.arrest(
            self.phase(span, 0.5, 23.2),
            d[3],
            self.flat(flat1),
            (flagrant, flats),
            offense="possession",
        )
        # Apartment 2, used by dealers 4 and 5.
        self.report(
            self.phase(span, 0.55, 10.0),
            flat2,
            lend[2],
            (flats,),
            usage="stash",
            evidence="informant",
            unit="BST Les Halles",
        )
        self.arrest(self.phase(span, 0.6, 18.4), d[4], self.flat(flat2), (flagrant, flats))
        self.arrest(self.phase(span, 0.76, 20.1), d[5], self.flat(flat2), (flagrant, flats))
        self.arrest(
            self.phase(span, 0.66, 15.3),
            self.runner,
            self.street(HALLES_STREETS),
            (flagrant,),
            role="runner",
        )
        # Third arrests within 30 days: recurrence.
        street_deal(0.7, 15.4, d[0], (repeat,), offense="possession")
        street_deal(0.86, 18.9, d[2], (repeat,), offense="possession", grams=_crack_grams(rng, 2.5))
        self.buyer(self.phase(span, 0.93, 0.5), HALLES_STREETS, "BAC Paris Centre")
        if self.timeline.extras:
            for fraction, who in ((0.1, d[3]), (0.4, d[4]), (0.52, d[1]), (0.9, d[5])):
                street_deal(
                    fraction, rng.uniform(16, 23), who, (flagrant,), grams=_crack_grams(rng, 4)
                )
            for fraction in (0.05, 0.18, 0.28, 0.38, 0.48, 0.62, 0.72, 0.8, 0.97):
                self.buyer(
                    self.phase(span, fraction, rng.uniform(12, 23.5)),
                    HALLES_STREETS,
                    "BAC Paris Centre",
                )
            street_deal(0.95, 19.5, d[0], (repeat,), grams=_crack_grams(rng, 5))

    def _operation(self) -> None:
        """The joint operation: early-morning raids, one operation_ref, one procedure."""
        day, d, lend = self.timeline.operation, self.dealers, self.lenders
        at = self.at(day)  # 06:00 local in both timelines
        op = f"OP-HALLES-{self.start:%Y%m}-{self.rng.randrange(100, 999)}"
        proc = self.emit.procedure(at, "PJ-")
        unit, tags = "BSP / DPJ Paris", ("halles.operation",)
        stash = HALLES_FLATS[1]
        full = self.timeline.extras
        self.seizure(
            at,
            d[:4],
            self.flat(stash),
            tags,
            grams=86.4 if full else 64.8,
            cash=6350.0 if full else 5120.0,
            unit=unit,
            operation=op,
            procedure=proc,
        )
        for minutes, who in zip((4, 6, 9, 12), d[:4], strict=True):
            self.arrest(
                at + dt.timedelta(minutes=minutes),
                who,
                self.flat(stash),
                tags,
                flagrant=False,
                unit=unit,
                operation=op,
                procedure=proc,
            )
        for minutes, who, spot in zip((15, 40, 55), lend, HALLES_FLATS, strict=True):
            self.arrest(
                at + dt.timedelta(minutes=minutes),
                who,
                self.flat(spot),
                tags,
                offense="facilitation",
                role="facilitator",
                flagrant=False,
                unit=unit,
                operation=op,
                procedure=proc,
            )

    def _pressure(self) -> None:
        """After the operation the trade thins out; the last arrests of those who move."""
        span, d, rng = self.timeline.pressure, self.dealers, self.rng
        movers = (d[4], d[5], self.runner, d[2])
        for fraction, who in zip((0.0, 0.42, 0.68, 1.0), movers, strict=True):
            self.arrest(
                self.phase(span, fraction, rng.uniform(15, 22)),
                who,
                self.street(HALLES_STREETS),
                ("halles.pressure",),
                offense="possession",
                role="runner" if who is self.runner else "seller",
            )
        if self.timeline.extras:
            for day, who in ((40, d[1]), (55, d[3]), (97, self.minor)):
                self.arrest(
                    self.at(day, rng.uniform(15, 22)),
                    who,
                    self.street(HALLES_STREETS),
                    ("street",),
                    role="lookout" if who is self.minor else "seller",
                )
            for day in (63, 78, 104):
                self.buyer(self.at(day, rng.uniform(12, 23)), HALLES_STREETS, "BAC Paris Centre")

    def _rosa(self) -> None:
        """The same people in Rosa Parks, a quiet week, then the surge."""
        span, d, rng, tl = self.timeline.reappear, self.dealers, self.rng, self.timeline
        unit = "BAC 19e"
        movers = (d[4], d[5], self.runner, d[2])
        for fraction, who in zip((0.0, 0.33, 0.66, 1.0), movers, strict=True):
            at = self.phase(span, fraction, rng.uniform(16, 22))
            place = self.street(ROSA_STREETS)
            self.arrest(
                at,
                who,
                place,
                ("rosa.reappearance",),
                unit=unit,
                role="runner" if who is self.runner else "seller",
            )
            if who is d[5] and tl.extras:
                self.seizure(
                    self.later(at),
                    [who],
                    place,
                    ("rosa.reappearance",),
                    grams=_crack_grams(rng, 14),
                    cash=_cash(rng, 900),
                    unit=unit,
                )
        if tl.extras:
            self.arrest(
                self.phase(span, 0.45, 19.0),
                d[4],
                self.street(ROSA_STREETS),
                ("street",),
                unit=unit,
                offense="possession",
            )
        # The surge: enough events in 24 h to stand out against the background's share.
        size = surge_size(self.config.rate)
        times = sorted(rng.uniform(0.0, SURGE_SPAN) for _ in range(size - 1))
        surge = ("rosa.surge",)
        self.report(
            self.at(tl.surge),
            ROSA_FLAT,
            self.rosa_lender,
            surge,
            usage="dealing_point",
            evidence="complaint",
            unit="CSP 19e",
        )
        plan: list[tuple[Event, Event, str, str]] = [
            (d[4], self.flat(ROSA_FLAT), "trafficking", "seller"),
            (d[5], self.flat(ROSA_FLAT), "trafficking", "seller"),
        ]
        plan += [(who, self.street(ROSA_STREETS), "trafficking", "seller")
                 for who in self.newcomers]  # fmt: skip
        for index, offset in enumerate(times):
            at = self.at(tl.surge + offset)
            if index < len(plan):
                who, place, offense, role = plan[index]
                self.arrest(at, who, place, surge, offense=offense, role=role, unit=unit)
            elif index % 3 == 0:
                seller = self.newcomers[index % len(self.newcomers)]
                self.seizure(
                    at,
                    [seller],
                    self.street(ROSA_STREETS),
                    surge,
                    grams=_crack_grams(rng, 5),
                    cash=_cash(rng, 350),
                    unit=unit,
                )
            else:
                person = self.forge.person(self.start.date(), (22.0, 55.0))
                self.arrest(
                    at,
                    person,
                    self.street(ROSA_STREETS),
                    surge,
                    offense="use",
                    role="buyer",
                    unit=unit,
                )
        if tl.extras:
            after = self.at(tl.surge + 3, 18.5)
            self.arrest(
                after,
                self.newcomers[0],
                self.street(ROSA_STREETS),
                ("street",),
                offense="possession",
                unit=unit,
            )
            self.seizure(
                self.later(after),
                [self.newcomers[0]],
                self.street(ROSA_STREETS),
                ("street",),
                grams=23.5,
                cash=1240.0,
                unit=unit,
            )
            self.buyer(self.at(tl.end - 0.5, 21.0), ROSA_STREETS, unit)


def rosa_background_per_day(rate: float) -> float:
    """Expected background events a day inside Rosa Parks (its one hotspot)."""
    total = sum(p.weight for p in HOTSPOTS)
    rosa = sum(p.weight for p in HOTSPOTS if p.name == "Rosa Parks")
    return rate * HOTSPOT_SHARE * rosa / total


def surge_size(rate: float) -> int:
    """Story events of the surge: 12, and enough to stay 3 times Rosa Parks' background."""
    return 12 + math.ceil(4 * rosa_background_per_day(rate))


# --------------------------------------------------------------------------------------------
# The background


class _Background:
    """Street-level activity: a Poisson process of ``rate`` events a day, more in the evening."""

    def __init__(self, config: SimulationConfig, forge: NameForge) -> None:
        self.config = config
        self.rng = _rng(config.seed, "background")
        self.emit = _Emitter(f"{config.prefix}-b", self.rng, 100000)
        self.forge = forge
        self.regulars: dict[str, list[Event]] = {p.name: [] for p in HOTSPOTS}
        self.hotspot_weights = list(itertools.accumulate(p.weight for p in HOTSPOTS))

    def events(self) -> Iterator[tuple[dt.datetime, str, Event]]:
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
                if _parse(item[2]["reported_at"]) <= end:
                    yield item

    def event(self, at: dt.datetime) -> tuple[dt.datetime, str, Event]:
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
            address = _address(spot, str(rng.randrange(*place.numbers)), rng)
        return _location(lat, lon, address)

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
        offense = rng.choices(
            ("use", "possession", "trafficking", "facilitation", "violence", "other"),
            weights=(35, 28, 25, 2, 6, 4),
        )[0]
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
        substance = rng.choices(
            ("crack", "cannabis", "cocaine", "heroin", "synthetic", "other"),
            weights=(45, 33, 11, 4, 5, 2),
        )[0]
        median = {"crack": 3.0, "cannabis": 18.0, "cocaine": 6.0}.get(substance, 4.0)
        grams = rng.lognormvariate(math.log(median), 0.9)
        if substance in HARD_DRUGS:  # a street quantity (capped, so the RNG stream is unchanged)
            grams = min(grams, STREET_MAX_G)
        if rng.random() < 0.02:  # the occasional wholesale find: F3 when a hard drug
            grams = rng.uniform(50, 400)
        count = rng.choices((0, 1, 2), weights=(10, 78, 12))[0]
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
            "cash_eur": _cash(rng, 350) if rng.random() < 0.6 else 0.0,
            "weapons": 1 if rng.random() < 0.01 else 0,
            "persons": persons,
        }
        return event

    def report(self, at: dt.datetime, place: Place) -> Event:
        rng = self.rng
        event = self.common(at, place, (6 * 60, 48 * 60))
        event |= {
            "location": self.location(place, 1.0),
            "usage": rng.choices(("dealing_point", "consumption_site", "stash"), (50, 35, 15))[0],
            "evidence": rng.choices(
                ("complaint", "surveillance", "informant", "search"), (40, 35, 15, 10)
            )[0],
        }
        if rng.random() < 0.5:
            event["occupant"] = self.forge.person(at.astimezone(PARIS).date(), (25.0, 70.0))
        return event


# --------------------------------------------------------------------------------------------
# Public API


class Simulation:
    """One simulated feed. ``records()`` regenerates it: iterate it as often as needed."""

    def __init__(self, config: SimulationConfig | None = None) -> None:
        self.config = config or SimulationConfig()
        story, _forge = self._story()
        kept = None
        if story is not None and self.config.events is not None:
            kept = {event["event_id"] for _, event in self.records()}
        self.beats: tuple[Beat, ...] = (
            () if story is None else _beats(story, self.config.start, kept)
        )

    def _story(self) -> tuple[_Story | None, NameForge]:
        """The story, built first: the background's people are drawn after its cast."""
        forge = NameForge(_rng(self.config.seed, "names"))
        if not self.config.story:
            return None, forge
        story = _Story(self.config, forge)
        story.build()
        return story, forge

    def records(self) -> Iterator[SimRecord]:
        """Every event, story and background, in event-time order (the first ``events``)."""
        story, forge = self._story()
        told = [] if story is None else story.events
        background = _Background(self.config, forge).events()
        merged = heapq.merge(told, background, key=lambda x: x[0])
        for _at, topic, event in itertools.islice(merged, self.config.events):
            yield topic, event


def _beats(story: _Story, start: dt.datetime, kept: set[str] | None) -> tuple[Beat, ...]:
    """The story's beats; with ``kept``, only their events among those (a cut feed)."""
    found: dict[str, list[tuple[dt.datetime, str]]] = {name: [] for name in BEATS}
    for at, _topic, event in story.events:
        if kept is not None and event["event_id"] not in kept:
            continue
        for name in story.tags[event["event_id"]]:
            found[name].append((at, event["event_id"]))
    origin = start.astimezone(dt.UTC)
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


def simulate(config: SimulationConfig | None = None) -> Iterator[SimRecord]:
    """The simulated feed for ``config``: ``(topic, event)`` pairs in event-time order."""
    return Simulation(config).records()


def _parse(value: str) -> dt.datetime:
    return dt.datetime.fromisoformat(value)


def _latest(event: Event) -> dt.datetime:
    occurred = _parse(event["occurred_at"])
    reported = event.get("reported_at")
    return max(occurred, _parse(reported)) if reported else occurred


def _shift_person(person: Event, days: int) -> Event:
    birth = person.get("birth_date")
    if birth is None:
        return person
    return {**person, "birth_date": (dt.date.fromisoformat(birth) + DAY * days).isoformat()}


def shift_to_end_at(
    records: Iterable[SimRecord], end: dt.datetime, *, whole_days: bool = False
) -> list[SimRecord]:
    """The same events moved in time so that the latest timestamp is ``end`` (to the second).

    Every ``occurred_at`` and ``reported_at`` moves by one whole-second offset, so intervals and
    order are unchanged; birth dates move by the same number of days, so that everyone keeps
    their age (a minor stays a minor). Event ids are kept: give the simulation another
    ``prefix`` to publish a shifted copy next to an unshifted one.

    ``whole_days`` moves by whole days instead, so that the latest timestamp falls in the 24 h
    up to ``end``: times of day stay as simulated, and so do the UTC days on which the alert
    limiter counts "once per 24 h", hence the same alerts as the unshifted story.
    """
    if end.tzinfo is None or end.utcoffset() is None:
        raise ValueError("end must carry a time zone")
    items = list(records)
    if not items:
        return []
    latest = max(_latest(event) for _, event in items)
    if whole_days:
        delta = DAY * math.floor((end - latest) / DAY)
    else:
        delta = dt.timedelta(seconds=math.floor((end - latest).total_seconds()))
    days = math.floor(delta / DAY)
    shifted: list[SimRecord] = []
    for topic, event in items:
        moved = dict(event)
        for name in ("occurred_at", "reported_at"):
            if name in moved:
                moved[name] = _wire_time(_parse(moved[name]) + delta)
        for name in ("person", "occupant"):
            if name in moved:
                moved[name] = _shift_person(moved[name], days)
        if "persons" in moved:
            moved["persons"] = [_shift_person(p, days) for p in moved["persons"]]
        shifted.append((topic, moved))
    return shifted


def write_jsonl(path: str | Path, records: Iterable[SimRecord]) -> int:
    """Write the replay format (``docs/replay-format.md``); returns the number of lines."""
    count = 0
    with Path(path).open("wb") as out:
        for topic, event in records:
            out.write(orjson.dumps({"topic": topic, "key": event["event_id"], "value": event}))
            out.write(b"\n")
            count += 1
    return count
