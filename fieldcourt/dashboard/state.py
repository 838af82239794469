"""What the dashboard shows, rebuilt from the topics: each section's cases and the alerts.

Kept per role's topic, never merged: a case that moved from P12 to F3 has a P12 history (up
to its transfer) that P12 sees, and an F3 history that only F3 sees. The topics are the
source of truth; a restart reads them again from the beginning and shows the same cases.
Records arrive at least once: a case event is known by its (case, version), an alert by its
id, and a repeat changes nothing.
"""

from __future__ import annotations

import asyncio
import bisect
import datetime as dt
from collections import Counter
from dataclasses import dataclass, field

from pydantic import ValidationError

from fieldcourt.dashboard.users import ROLES, Role, role_topic
from schemas.cases import Alert, CaseEvent
from schemas.codec import loads

TOPIC_ROLES: dict[str, Role] = {role_topic(role): role for role in ROLES}


@dataclass
class CaseHistory:
    """One case as one section's topic tells it, in version order."""

    case_id: str
    events: list[CaseEvent] = field(default_factory=list)

    def add(self, event: CaseEvent) -> bool:
        versions = [e.version for e in self.events]
        at = bisect.bisect_left(versions, event.version)
        if at < len(versions) and versions[at] == event.version:
            return False  # a repeat (at-least-once delivery)
        self.events.insert(at, event)
        return True

    @property
    def latest(self) -> CaseEvent:
        return self.events[-1]

    @property
    def status(self) -> str:
        """``open`` here, or where it went: ``transferred to F3``, ``merged into C-...``."""
        last = self.latest
        if last.event_type == "case_transferred":
            return f"transferred to {last.transferred_to or 'another section'}"
        if last.event_type == "case_merged":
            return f"merged into {last.merged_into or 'another case'}"
        return "open"

    @property
    def is_open(self) -> bool:
        return self.status == "open"

    @property
    def arrived_at(self) -> dt.datetime:
        """When the case came to this section: its first event on the section's topic."""
        return self.events[0].emitted_at

    @property
    def changed_at(self) -> dt.datetime:
        return self.latest.emitted_at

    @property
    def escalated(self) -> bool:
        return any(e.event_type == "case_escalated" for e in self.events)

    @property
    def came_from(self) -> str | None:
        """The section it was escalated from, if it came in by escalation."""
        first = self.events[0]
        return first.previous_section if first.event_type == "case_escalated" else None

    def subjects(self) -> list[tuple[str, str]]:
        """The latest event's subjects as (reference, roles)."""
        return [(s.ref, ", ".join(s.roles)) for s in self.latest.subjects]


@dataclass(frozen=True)
class CaseFilter:
    sector: str | None = None
    rule: str | None = None
    escalated: bool | None = None
    days: int | None = None  # arrived in the section in the last N days

    def admits(self, case: CaseHistory, now: dt.datetime) -> bool:
        last = case.latest
        if self.sector is not None and (last.sector or "") != self.sector:
            return False
        if self.rule is not None and self.rule not in last.rule_ids:
            return False
        if self.escalated is not None and case.escalated != self.escalated:
            return False
        return self.days is None or case.arrived_at >= now - dt.timedelta(days=self.days)


@dataclass(frozen=True)
class Change:
    """Something a role's page may need to show: a case (by id) or an alert (by id)."""

    role: Role
    kind: str  # "case" or "alert"
    id: str


@dataclass
class SectionCases:
    cases: dict[str, CaseHistory] = field(default_factory=dict)

    def sorted(self, admit: CaseFilter, now: dt.datetime) -> list[CaseHistory]:
        """Last changed first."""
        chosen = [c for c in self.cases.values() if admit.admits(c, now)]
        return sorted(chosen, key=lambda c: (c.changed_at, c.case_id), reverse=True)

    def sectors(self) -> list[str]:
        return sorted({c.latest.sector for c in self.cases.values() if c.latest.sector})

    def rules(self) -> list[str]:
        return sorted({r for c in self.cases.values() for r in c.latest.rule_ids})


class DashboardState:
    """Everything read so far, and who is listening for changes."""

    def __init__(self) -> None:
        self.sections: dict[Role, SectionCases] = {r: SectionCases() for r in ROLES if r != "cojc"}
        self.alerts: dict[str, Alert] = {}
        self.unreadable: Counter[str] = Counter()
        self._listeners: dict[Role, set[asyncio.Queue[Change | None]]] = {r: set() for r in ROLES}

    def apply(self, topic: str, value: bytes | None, key: bytes | None = None) -> Change | None:
        """Take one record of a role's topic in; the change it makes, if any, is also handed
        to that role's listeners. A tombstone (no value) on a section topic removes its case:
        a closed case past its retention (the topics are compacted by case id)."""
        role = TOPIC_ROLES.get(topic)
        if role is None:
            return None
        if value is None:
            section = self.sections.get(role)
            if section is None or key is None or section.cases.pop(key.decode(), None) is None:
                return None
            change: Change | None = Change(role, "case", key.decode())
        else:
            change = self._decode(role, topic, value)
        if change is not None:
            for queue in self._listeners[role]:
                queue.put_nowait(change)
        return change

    def _decode(self, role: Role, topic: str, value: bytes) -> Change | None:
        try:
            return self._apply_alert(value) if role == "cojc" else self._apply_case(role, value)
        except ValidationError:
            self.unreadable[topic] += 1
            return None

    def _apply_case(self, role: Role, value: bytes) -> Change | None:
        event = loads(CaseEvent, value)
        history = self.sections[role].cases.setdefault(event.case_id, CaseHistory(event.case_id))
        return Change(role, "case", event.case_id) if history.add(event) else None

    def _apply_alert(self, value: bytes) -> Change | None:
        alert = loads(Alert, value)
        if alert.alert_id in self.alerts:
            return None
        self.alerts[alert.alert_id] = alert
        return Change("cojc", "alert", alert.alert_id)

    def case(self, role: Role, case_id: str) -> CaseHistory | None:
        """A case as ``role``'s topic tells it; None for the COJC and for a case that never was
        on that topic, whether or not another section has it."""
        section = self.sections.get(role)
        return None if section is None else section.cases.get(case_id)

    def timeline(self) -> list[Alert]:
        """Alerts, latest window first."""
        return sorted(self.alerts.values(), key=lambda a: (a.window.end, a.alert_id), reverse=True)

    def alerts_by_sector(self) -> dict[str, Counter[str]]:
        counts: dict[str, Counter[str]] = {}
        for alert in self.alerts.values():
            counts.setdefault(alert.sector, Counter())[alert.alert_type] += 1
        return counts

    def moves(self) -> Counter[tuple[str, str]]:
        """(from sector, to sector) of displacement and migration alerts."""
        return Counter((a.from_sector, a.sector) for a in self.alerts.values() if a.from_sector)

    def listen(self, role: Role) -> Listener:
        return Listener(self, role)

    def _subscribe(self, role: Role, queue: asyncio.Queue[Change | None]) -> None:
        self._listeners[role].add(queue)

    def _unsubscribe(self, role: Role, queue: asyncio.Queue[Change | None]) -> None:
        self._listeners[role].discard(queue)

    def listeners(self) -> int:
        return sum(len(q) for q in self._listeners.values())

    def close_listeners(self) -> None:
        """Tell every listener the server is stopping (``None``)."""
        for queues in self._listeners.values():
            for queue in queues:
                queue.put_nowait(None)


class Listener:
    """``with state.listen(role) as changes:``, a queue of that role's changes."""

    def __init__(self, state: DashboardState, role: Role) -> None:
        self._state, self._role = state, role
        self.queue: asyncio.Queue[Change | None] = asyncio.Queue()

    def __enter__(self) -> asyncio.Queue[Change | None]:
        self._state._subscribe(self._role, self.queue)
        return self.queue

    def __exit__(self, *_exc: object) -> None:
        self._state._unsubscribe(self._role, self.queue)
