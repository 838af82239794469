"""Crashes on purpose at named points, for the crash tests; inert unless configured.

``FIELDCOURT_CRASH_AT=POINT[:N]`` (read once at start, refused in production) makes the worker
exit with status ``CRASH_EXIT`` the ``N``-th time (default 1) it reaches ``POINT``:

- ``after-outputs``: a record's outputs are handed to the producer, its offset not committed;
- ``between-outputs``: ingest has handed one of a record's keyed events on, not the others;
- ``changelog-unacked``: a table change is handed to the producer, not yet acknowledged;
- ``rebalance``: a rebalance has started (the first one is the worker's own joining);
- ``after-outcome``: a court outcome's erasures, audit records and case events are handed on,
  the matches offset not committed.

The exit is ``os._exit``: no clean-up, no flush, no commit, as with a power cut, but at a
point the test chose rather than wherever a signal happened to land.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from enum import StrEnum

log = logging.getLogger(__name__)

#: Exit status of an injected crash (distinct from a real failure's).
CRASH_EXIT = 86


class CrashPoint(StrEnum):
    AFTER_OUTPUTS = "after-outputs"
    BETWEEN_OUTPUTS = "between-outputs"
    CHANGELOG_UNACKED = "changelog-unacked"
    REBALANCE = "rebalance"
    AFTER_OUTCOME = "after-outcome"


@dataclass(frozen=True)
class CrashPlan:
    point: CrashPoint
    occurrence: int = 1

    @classmethod
    def parse(cls, text: str) -> CrashPlan:
        """``POINT`` or ``POINT:N``; a clear ``ValueError`` otherwise."""
        name, _, count = text.partition(":")
        try:
            point = CrashPoint(name)
        except ValueError:
            names = ", ".join(p.value for p in CrashPoint)
            raise ValueError(f"unknown crash point {name!r} (one of {names})") from None
        if count and (not count.isdigit() or int(count) < 1):
            raise ValueError(f"crash occurrence must be a whole number >= 1, not {count!r}")
        return cls(point, int(count) if count else 1)


@dataclass
class Faults:
    """Counts the points reached and crashes at the planned one."""

    plan: CrashPlan | None = None
    _reached: int = field(default=0, init=False)

    def reached(self, point: CrashPoint) -> None:
        if self.plan is None or self.plan.point is not point:
            return
        self._reached += 1
        if self._reached == self.plan.occurrence:
            log.critical("crash injected at %s (occurrence %d)", point, self._reached)
            logging.shutdown()
            os._exit(CRASH_EXIT)


#: The worker's faults, armed by ``agents.app.create_app`` from the settings.
FAULTS = Faults()
