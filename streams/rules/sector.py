"""Rules on a sector, for its COJC: cojc.surge and cojc.trade_migration.

The sector agent calls ``evaluate_sector`` for each narcotics event in the sector after counting
it, and ``evaluate_displacement`` for each ``Displacement`` into the sector found by the subject
agent. Their ``AlertLimiter`` and ``MigrationLedger`` may share one store, keyed by the sector.
"""

from __future__ import annotations

from collections.abc import Callable, MutableMapping
from datetime import datetime, timedelta
from functools import partial
from typing import Any, NamedTuple

from schemas.cases import Alert
from schemas.common import format_utc
from schemas.enriched import EnrichedEvent
from streams.rules.common import day
from streams.rules.config import RulesConfig, SurgeParams, TradeMigrationParams
from streams.rules.displacement import Displacement
from streams.rules.limiter import AlertLimiter, Slot
from streams.rules.ports import SectorCounts
from streams.state import BASELINE_DAYS, SurgeWindow
from streams.state.keyspace import ARRIVALS

_TRAILING = timedelta(hours=24)
#: The resolution of event times: ``[a, b + _INSTANT)`` is ``[a, b]``.
_INSTANT = timedelta(microseconds=1)


def surge(
    event: EnrichedEvent,
    counts: SectorCounts,
    limiter: AlertLimiter,
    params: SurgeParams,
    now: datetime,
) -> list[Alert]:
    """Enough events in a sector's 24 h, and ``factor`` times the daily mean of the week before.

    Every 24 h window holding ``event`` is judged: the one ending on it and those ending on the
    sector's later events within 24 h, so the event that completes a surge raises it whichever
    event of the window arrives last. The week before is what has been processed so far: a
    late-arriving event of that week can only lower the ratio, so a surge, once raised, stands.
    """
    sector = event.sector
    if sector is None or not event.narcotics:
        return []
    rule = params.for_sector(sector)
    if not rule.enabled:
        return []
    t = event.occurred_at
    if not _may_surge(sector, t, counts, rule):
        return []
    ends = [(t, event.event_id), *counts.moments(sector, t, t + _TRAILING)]
    alerts: dict[str, Alert] = {}
    windows = counts.surge_windows(sector, [end for end, _ in ends])
    for (end, end_id), window in zip(ends, windows, strict=True):
        alert = _surge_at(sector, end, end_id, event.event_id, window, limiter, rule, now)
        if alert is not None:
            alerts.setdefault(alert.alert_id, alert)
    return list(alerts.values())


def _may_surge(sector: str, t: datetime, counts: SectorCounts, rule: SurgeParams) -> bool:
    """Whether any window ``surge`` judges for an event at ``t`` can hold a surge, from two
    counts that bound them all; ``False`` spares reading each window.

    The windows end in ``[t, t + 24h)``: each one's 24 h lies within ``[t - 24h, t + 24h)``,
    and each one's week before covers ``[t - 7 days, t - 24h]``. So no window has more events
    than the first range, nor a baseline below the second: when even those two fail the
    thresholds, every window does. A busy sector at its usual pace fails them (two days'
    events against six); without this gate each of its events judged every window ending on
    its next 24 h of events (measured in a burst of 5,000 arrests in one sector: 53 windows an
    event, two thirds of the in-memory core's time).
    """
    most = counts.count(sector, t - _TRAILING, t + _TRAILING)
    if most < rule.min_count:
        return False
    least = counts.count(sector, t - BASELINE_DAYS * _TRAILING, t - _TRAILING + _INSTANT)
    return most * BASELINE_DAYS >= rule.factor * least


def _surge_at(
    sector: str,
    t: datetime,
    end_id: str,
    trigger: str,
    window: SurgeWindow,
    limiter: AlertLimiter,
    rule: SurgeParams,
    now: datetime,
) -> Alert | None:
    """The surge alert of the 24 h ending at ``t`` (an event's time), given its counts, if
    they make one."""
    count, before = window
    # count >= factor * (before / BASELINE_DAYS), without dividing.
    if count < rule.min_count or count * BASELINE_DAYS < rule.factor * before:
        return None
    mean = before / BASELINE_DAYS
    baseline = f"{count / mean:.1f} times the daily mean of {mean:.1f}" if mean else "against none"
    slot = Slot.at(sector, "surge", (), t, timedelta(hours=rule.once_per_hours))
    return limiter.emit(
        slot,
        trigger,
        partial(
            slot.alert,
            sector=sector,
            from_sector=None,
            subjects=[],
            evidence=[end_id],
            window=(t - _TRAILING, t),
            reason=(
                f"{count} narcotics events in {sector} in the 24 h to {t:%Y-%m-%d %H:%M} UTC, "
                f"{baseline} over the {BASELINE_DAYS} days before."
            ),
            now=now,
        ),
    )


class Arrival(NamedTuple):
    """A displacement as the destination keeps it."""

    at: datetime
    subject: str
    to_event_id: str
    from_event_id: str


class MigrationLedger:
    """Displacements into a sector, per origin.

    Key ``{to_sector}|displaced|{from_sector}`` (``keyspace.ARRIVALS``); value a list, in time
    order, of ``[to_at, subject, to_event_id, from_event_id]``. A subject's arrival event
    appears once (a later finding with a closer origin replaces it). Nothing is dropped as
    displacements arrive, whatever their order; ``sweep`` drops what no window can reach any
    more. Each change assigns a new list.
    """

    def __init__(self, store: MutableMapping[str, Any]) -> None:
        self._store = store

    def record(self, d: Displacement) -> list[Arrival]:
        """Add ``d``; returns every arrival kept for its (destination, origin)."""
        key = ARRIVALS.key(d.to_sector, d.from_sector)
        old: list[list[str]] = self._store.get(key, [])
        rows = [r for r in old if (r[1], r[2]) != (d.subject, d.to_event_id)]
        rows.append([format_utc(d.to_at), d.subject, d.to_event_id, d.from_event_id])
        arrivals = sorted(_arrival(r) for r in rows)
        new = [_row(a) for a in arrivals]
        if new != old:
            self._store[key] = new
        return arrivals

    def erase(self, ref: str) -> int:
        """Forget subject ``ref``: their arrivals go; how many."""
        return self._keep(lambda row: row[1] != ref)

    def sweep(self, before: datetime) -> int:
        """Drop arrivals before ``before`` (a low watermark minus the window); how many."""
        return self._keep(lambda row: _arrival(row).at >= before)

    def _keep(self, keep: Callable[[list[str]], bool]) -> int:
        dropped = 0
        for key, rows in [(k, v) for k, v in self._store.items() if ARRIVALS.owns(k)]:
            kept = [r for r in rows if keep(r)]
            dropped += len(rows) - len(kept)
            if not kept:
                del self._store[key]
            elif len(kept) < len(rows):
                self._store[key] = kept
        return dropped


def _arrival(row: list[str]) -> Arrival:
    return Arrival(datetime.fromisoformat(row[0]), *row[1:])


def _row(a: Arrival) -> list[str]:
    return [format_utc(a.at), a.subject, a.to_event_id, a.from_event_id]


def trade_migration(
    d: Displacement,
    arrivals: list[Arrival],
    limiter: AlertLimiter,
    params: TradeMigrationParams,
    now: datetime,
) -> list[Alert]:
    """Enough distinct subjects arriving from A in any window holding ``d``'s arrival.

    One alert per (A, B) per period of the window's end; the alert holds every arrival of the
    windows ending in that period.
    """
    rule = params.for_sector(d.to_sector)
    if not rule.enabled:
        return []
    window = timedelta(days=rule.window_days)
    by_period: dict[Slot, dict[tuple[str, str], Arrival]] = {}
    for end in arrivals:
        if not d.to_at <= end.at <= d.to_at + window:
            continue
        inside = [a for a in arrivals if end.at - window <= a.at <= end.at]
        if len({a.subject for a in inside}) >= rule.min_subjects:
            slot = Slot.at(
                d.to_sector,
                "trade_migration",
                (d.from_sector,),
                end.at,
                timedelta(days=rule.once_per_days),
            )
            by_period.setdefault(slot, {}).update(((a.subject, a.to_event_id), a) for a in inside)
    alerts = []
    for slot, found in by_period.items():
        group = sorted(found.values())
        subjects = sorted({a.subject for a in group})
        alert = limiter.emit(
            slot,
            d.token,
            partial(
                slot.alert,
                sector=d.to_sector,
                from_sector=d.from_sector,
                subjects=subjects,
                evidence=sorted({e for a in group for e in (a.from_event_id, a.to_event_id)}),
                window=(group[0].at, group[-1].at),
                reason=(
                    f"{len(subjects)} distinct subjects moved from {d.from_sector} to "
                    f"{d.to_sector} between {day(group[0].at)} and {day(group[-1].at)} "
                    f"({rule.min_subjects} or more within {rule.window_days} days)."
                ),
                now=now,
            ),
        )
        if alert is not None:
            alerts.append(alert)
    return alerts


def evaluate_sector(
    event: EnrichedEvent,
    counts: SectorCounts,
    limiter: AlertLimiter,
    config: RulesConfig,
    *,
    now: datetime,
) -> list[Alert]:
    """The sector rules on ``event`` (already counted)."""
    return surge(event, counts, limiter, config.rules.surge, now)


def evaluate_displacement(
    d: Displacement,
    ledger: MigrationLedger,
    limiter: AlertLimiter,
    config: RulesConfig,
    *,
    now: datetime,
) -> list[Alert]:
    """Record a displacement into its destination and check cojc.trade_migration there."""
    params = config.rules.trade_migration
    return trade_migration(d, ledger.record(d), limiter, params, now)
