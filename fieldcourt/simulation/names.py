"""Invented people: names built from syllables (``fieldcourt/data/sim_names.yaml``), ages.

No real identity can come out of it; the syllables are read once, on import.
"""

from __future__ import annotations

import datetime as dt
import random

from fieldcourt.simulation.config import load_data
from fieldcourt.simulation.events import Event

_SYLLABLES = load_data("sim_names.yaml")
_LAST: tuple[str, ...] = tuple(_SYLLABLES["last"].split())
_LAST_END: tuple[str, ...] = tuple(_SYLLABLES["last_end"].split())
_FIRST: tuple[str, ...] = tuple(_SYLLABLES["first"].split())
_FIRST_END: tuple[str, ...] = tuple(_SYLLABLES["first_end"].split())
_ALIAS: tuple[str, ...] = tuple(_SYLLABLES["alias"].split())


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
