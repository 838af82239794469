"""Alerts at most once per period, deterministic across replays (SPEC 6, COJC rules).

Periods are fixed and aligned on the Unix epoch in UTC (90 days, 30 days, 24 h ...), so which
period an alert belongs to, and so its ``alert_id``, depends on event times alone, not on the
order events arrived in. The price: two alerts may be closer than one period when they fall on
either side of a period boundary.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from schemas.cases import Alert, AlertType, AlertWindow
from schemas.common import format_utc
from streams.matches import stable_id
from streams.state.keyspace import ALERT_SLOTS, is_slot, scope_of

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def period_start(moment: datetime, length: timedelta) -> datetime:
    """Start of the epoch-aligned period of ``length`` that holds ``moment``."""
    return EPOCH + (moment - EPOCH) // length * length


@dataclass(frozen=True)
class Slot:
    """Where one alert may go: its type, the state key it lives under, what it is about, when.

    ``scope`` is the key of the agent that owns the state (a subject ref or a sector), so store
    keys start with it: ``{scope}|{alert_type}|{part}|...|{period start}``
    (``keyspace.ALERT_SLOTS``).
    """

    scope: str
    alert_type: AlertType
    parts: tuple[str, ...]
    start: datetime
    length: timedelta

    @classmethod
    def at(
        cls,
        scope: str,
        alert_type: AlertType,
        parts: tuple[str, ...],
        moment: datetime,
        length: timedelta,
    ) -> Slot:
        """The slot of the period holding ``moment``."""
        return cls(scope, alert_type, parts, period_start(moment, length), length)

    @property
    def key(self) -> str:
        family = ALERT_SLOTS[self.alert_type]
        return family.key(self.scope, *self.parts, format_utc(self.start))

    @property
    def alert_id(self) -> str:
        return stable_id("A", self.key)

    def alert(
        self,
        *,
        sector: str,
        from_sector: str | None,
        subjects: list[str],
        evidence: list[str],
        window: tuple[datetime, datetime],
        reason: str,
        now: datetime,
    ) -> Alert:
        return Alert(
            alert_type=self.alert_type,
            alert_id=self.alert_id,
            sector=sector,
            from_sector=from_sector,
            subjects=subjects,
            evidence=evidence,
            window=AlertWindow(start=window[0], end=window[1]),
            reason=reason,
            emitted_at=now,
        )


class AlertLimiter:
    """One alert per slot, kept in a store of JSON values (a Faust table or a dict).

    Value under ``slot.key``: ``{"trigger": <token>, "until": <period end>, "alert": <JSON>}``.
    When the trigger that raised an alert is processed again (a replay after a crash), the
    stored alert is returned unchanged, byte for byte, ``emitted_at`` included; any other
    trigger is suppressed.
    Values are replaced, never mutated, so a Faust table records every change.
    """

    def __init__(self, store: MutableMapping[str, Any]) -> None:
        self._store = store

    def emit(self, slot: Slot, trigger: str, make: Callable[[], Alert]) -> Alert | None:
        """The alert ``make`` builds if the slot is free, the stored alert on a replay, else
        None. Built only when the slot is free: in a burst a busy sector finds tens of its
        windows over the threshold for each event, nearly all in a slot already taken."""
        stored = self._store.get(slot.key)
        if stored is None:
            alert = make()
            self._store[slot.key] = {
                "trigger": trigger,
                "until": format_utc(slot.start + slot.length),
                "alert": alert.model_dump_json(),
            }
            return alert
        if stored["trigger"] == trigger:
            return Alert.model_validate_json(stored["alert"])
        return None

    def erase(self, ref: str) -> int:
        """Forget subject ``ref``: the slots about them go (their scope is the subject); in
        the others, the stored alert no longer lists them (a replay then publishes it without
        them). How many slots changed."""
        changed = 0
        for key, value in list(self._store.items()):
            if not is_slot(key):
                continue
            if scope_of(key) == ref:
                del self._store[key]
                changed += 1
                continue
            alert = Alert.model_validate_json(value["alert"])
            if ref in alert.subjects:
                kept = [subject for subject in alert.subjects if subject != ref]
                alert = alert.model_copy(update={"subjects": kept})
                self._store[key] = {**value, "alert": alert.model_dump_json()}
                changed += 1
        return changed

    def sweep(self, before: datetime) -> int:
        """Forget slots whose period ended by ``before`` (a watermark): none can fire again."""
        done = [
            key
            for key, value in self._store.items()
            if is_slot(key) and datetime.fromisoformat(value["until"]) <= before
        ]
        for key in done:
            del self._store[key]
        return len(done)
