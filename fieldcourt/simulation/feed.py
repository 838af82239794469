"""The simulated feed: the story and the background merged in event time."""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterator

from fieldcourt.simulation.background import Background
from fieldcourt.simulation.config import SimulationConfig
from fieldcourt.simulation.events import SimRecord, stream_rng
from fieldcourt.simulation.names import NameForge
from fieldcourt.simulation.story import Story
from fieldcourt.simulation.storyteller import Beat


class Simulation:
    """One simulated feed. ``records()`` regenerates it: iterate it as often as needed."""

    def __init__(self, config: SimulationConfig | None = None) -> None:
        self.config = config or SimulationConfig()
        story, _forge = self._story()
        kept = None
        if story is not None and self.config.events is not None:
            kept = {event["event_id"] for _, event in self.records()}
        self.beats: tuple[Beat, ...] = () if story is None else story.beats(kept)

    def _story(self) -> tuple[Story | None, NameForge]:
        """The story, built first: the background's people are drawn after its cast."""
        forge = NameForge(stream_rng(self.config.seed, "names"))
        if not self.config.story:
            return None, forge
        story = Story(self.config, forge)
        story.build()
        return story, forge

    def records(self) -> Iterator[SimRecord]:
        """Every event, story and background, in event-time order (the first ``events``)."""
        story, forge = self._story()
        told = [] if story is None else story.events
        background = Background(self.config, forge).events()
        merged = heapq.merge(told, background, key=lambda x: x[0])
        for _at, topic, event in itertools.islice(merged, self.config.events):
            yield topic, event


def simulate(config: SimulationConfig | None = None) -> Iterator[SimRecord]:
    """The simulated feed for ``config``: ``(topic, event)`` pairs in event-time order."""
    return Simulation(config).records()
