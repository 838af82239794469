"""What to simulate: the configuration, the story's two timelines, time constants, shipped data."""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from importlib import resources
from typing import Any
from zoneinfo import ZoneInfo

import yaml

PARIS = ZoneInfo("Europe/Paris")
DAY = dt.timedelta(days=1)

#: Midnight in Paris on 1 September 2025: the Les Halles cell met on the 19th.
DEFAULT_START = dt.datetime(2025, 9, 1, tzinfo=PARIS)
DEFAULT_RATE = 40.0


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


def load_data(name: str) -> Any:
    """A YAML file of ``fieldcourt/data``: package data, so it is found when installed too."""
    text = resources.files("fieldcourt").joinpath("data", name).read_text(encoding="utf-8")
    return yaml.safe_load(text)
