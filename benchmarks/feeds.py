"""The generated streams every benchmark stage reads: deterministic, invented people only.

* ``mixed``: ``fieldcourt.simulate`` with the story and its background (arrests, seizures,
  dealing-address reports, a joint operation, minors, the three sectors and the rest of
  Paris) at ``MIXED_RATE`` events a day, a large city's volume (about a million a year). Every
  size is a prefix in event time of the same stream, so a larger stream is the same feed with
  more history.
* ``arrests``: arrests only, of ``n / 4`` invented people, all in the Les Halles sector, at a
  few hundred addresses (``arrests(n)``), like the issue's "20,000 arrests of 5,000 people".
"""

from __future__ import annotations

import datetime as dt
import itertools
import random
from collections.abc import Iterator
from typing import Any

import orjson

from fieldcourt.simulate import ARRESTS, Simulation, SimulationConfig

Record = tuple[str, dict[str, Any]]
#: (topic, key, value) as published.
Wire = tuple[str, bytes, bytes]

#: Events a day in the mixed stream: 1M events is 400 days of a large city.
MIXED_RATE = 2500.0
MIXED_DAYS = 1200.0
ARRESTS_START = dt.datetime(2025, 9, 1, 6, 0, tzinfo=dt.UTC)
#: Les Halles sector: [2.3410, 48.8595] - [2.3520, 48.8650].
HALLES_BOX = (2.3415, 48.8598, 2.3515, 48.8647)
HALLES_STREETS = (
    "rue Berger",
    "rue Pierre-Lescot",
    "rue Rambuteau",
    "rue Saint-Denis",
    "rue Montmartre",
    "rue de la Grande-Truanderie",
)
SYLLABLES = (
    "bar",
    "cor",
    "dan",
    "fal",
    "ker",
    "lor",
    "mon",
    "pel",
    "ran",
    "sor",
    "tal",
    "val",
    "zan",
    "bre",
    "dru",
    "gri",
    "lun",
    "pra",
    "sil",
    "vol",
)


def mixed_config(prefix: str = "bm") -> SimulationConfig:
    return SimulationConfig(seed=2026, rate=MIXED_RATE, days=MIXED_DAYS, story=True, prefix=prefix)


def mixed(n: int, prefix: str = "bm") -> Iterator[Record]:
    """The first ``n`` events of the mixed stream, in event-time order (lazily generated)."""
    return itertools.islice(Simulation(mixed_config(prefix)).records(), n)


def _name(rng: random.Random, index: int) -> str:
    first = "".join(rng.choice(SYLLABLES) for _ in range(2)).capitalize()
    return f"{first}{_letters(index)}"


def _letters(index: int) -> str:
    """``index`` written with letters only (names carry no digits)."""
    out = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        out = chr(ord("a") + rest) + out
    return out


def arrests(n: int, prefix: str = "ba", seed: int = 11) -> list[Record]:
    """``n`` arrests of ``max(1, n // 4)`` people in Les Halles, one every 5 to 15 minutes."""
    rng = random.Random(seed)  # noqa: S311 - synthetic data, not secrets
    people: list[dict[str, Any]] = []
    for index in range(max(1, n // 4)):
        minor = rng.random() < 0.03
        age_days = rng.uniform(15.2, 17.8) if minor else rng.uniform(18.5, 50)
        born = (ARRESTS_START - dt.timedelta(days=age_days * 365.25)).date()
        people.append(
            {
                "last_name": _name(rng, index),
                "first_name": _name(rng, index // 7),
                "birth_date": born.isoformat(),
            }
        )
    lon0, lat0, lon1, lat1 = HALLES_BOX
    at = ARRESTS_START
    records: list[Record] = []
    for index in range(n):
        at += dt.timedelta(seconds=rng.uniform(300, 900))
        offense = rng.choices(("trafficking", "possession", "use"), weights=(40, 35, 25))[0]
        location: dict[str, Any] = {
            "lat": round(rng.uniform(lat0, lat1), 6),
            "lon": round(rng.uniform(lon0, lon1), 6),
        }
        if rng.random() < 0.6:
            street = rng.choice(HALLES_STREETS)
            location["address"] = f"{rng.randint(1, 60)} {street}, 75001 Paris"
        records.append(
            (
                ARRESTS,
                {
                    "event_id": f"{prefix}-{index:07d}",
                    "occurred_at": at.isoformat(timespec="seconds"),
                    "reported_at": (at + dt.timedelta(minutes=rng.uniform(20, 180))).isoformat(
                        timespec="seconds"
                    ),
                    "source": {"system": "sim-bench", "unit": "BAC Paris Centre"},
                    "procedure_ref": f"2025/{500000 + index:07d}",
                    "location": location,
                    "person": rng.choice(people),
                    "offense": offense,
                    "flagrant": rng.random() < 0.3,
                    "role": "seller" if offense == "trafficking" else "buyer",
                },
            )
        )
    return records


def wire(records: list[Record]) -> list[Wire]:
    """Each record as published: key = ``event_id`` (SPEC 3), value = its JSON."""
    return [(topic, event["event_id"].encode(), orjson.dumps(event)) for topic, event in records]
