"""cojc.displacement: a subject's narcotics events in sector A, then in sector B, within 90 days.

Found in the subject agent; each ``Displacement`` goes to B's COJC as an alert (limited per
(subject, A, B) period) and to B's sector agent for ``cojc.trade_migration``.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from functools import partial

from schemas.cases import Alert
from schemas.common import StrictModel, UtcDatetime
from schemas.enriched import EnrichedEvent
from streams.rules.common import day, span
from streams.rules.config import DisplacementParams, widest_window
from streams.rules.limiter import AlertLimiter, Slot
from streams.rules.ports import PastEvent, SubjectHistory


class Displacement(StrictModel):
    """Subject seen in ``from_sector``, then in ``to_sector``: the latest A event before B's."""

    subject: str
    from_sector: str
    to_sector: str
    from_event_id: str
    from_at: UtcDatetime
    to_event_id: str
    to_at: UtcDatetime

    @property
    def token(self) -> str:
        """Identifies this finding for replays: the same pair of events, the same token."""
        return f"{self.subject}|{self.from_event_id}|{self.to_event_id}"


def _pair(ref: str, origin: PastEvent, arrival: PastEvent) -> Displacement:
    assert origin.sector is not None
    assert arrival.sector is not None
    return Displacement(
        subject=ref,
        from_sector=origin.sector,
        to_sector=arrival.sector,
        from_event_id=origin.event_id,
        from_at=origin.occurred_at,
        to_event_id=arrival.event_id,
        to_at=arrival.occurred_at,
    )


def _origins(seen: list[PastEvent], arrival: PastEvent, window: timedelta) -> list[PastEvent]:
    """Per other sector, the latest event strictly before ``arrival`` and within ``window``."""
    latest: dict[str | None, PastEvent] = {}
    for e in seen:  # in event-time order: a later event replaces an earlier one
        if e.sector != arrival.sector and (
            arrival.occurred_at - window <= e.occurred_at < arrival.occurred_at
        ):
            latest[e.sector] = e
    return list(latest.values())


def find_displacements(
    event: EnrichedEvent, ref: str, history: SubjectHistory, params: DisplacementParams
) -> list[Displacement]:
    """Every displacement of ``ref`` that ``event`` takes part in, as arrival or as origin.

    As origin, only where it is now the latest event before that arrival in its sector; the
    window is that of the arrival's sector. Same-time events in two sectors are no displacement.
    """
    if not event.narcotics or event.sector is None:
        return []
    t = event.occurred_at
    reach = widest_window(params)
    seen = [e for e in history.events(ref, t - reach, t + reach) if e.narcotics and e.sector]
    found: list[Displacement] = []
    for arrival in seen:
        is_trigger = arrival.event_id == event.event_id
        if not is_trigger and (arrival.sector == event.sector or arrival.occurred_at <= t):
            continue
        rule = params.for_sector(arrival.sector)
        if not rule.enabled:
            continue
        found += [
            _pair(ref, origin, arrival)
            for origin in _origins(seen, arrival, timedelta(days=rule.window_days))
            if is_trigger or origin.event_id == event.event_id
        ]
    return found


def displacement_alerts(
    displacements: list[Displacement],
    trigger: str,
    limiter: AlertLimiter,
    params: DisplacementParams,
    now: datetime,
) -> list[Alert]:
    """One alert per (subject, A, B) per period of the arrival time; replays re-emit it."""
    alerts: dict[str, Alert] = {}
    for d in displacements:
        rule = params.for_sector(d.to_sector)
        slot = Slot.at(
            d.subject,
            "displacement",
            (d.from_sector, d.to_sector),
            d.to_at,
            timedelta(days=rule.once_per_days),
        )
        alert = limiter.emit(
            slot,
            trigger,
            partial(
                slot.alert,
                sector=d.to_sector,
                from_sector=d.from_sector,
                subjects=[d.subject],
                evidence=[d.from_event_id, d.to_event_id],
                window=(d.from_at, d.to_at),
                reason=(
                    f"{d.subject}, recorded for narcotics in {d.from_sector} on "
                    f"{day(d.from_at)}, was recorded in {d.to_sector} on {day(d.to_at)}, "
                    f"{span(d.to_at - d.from_at)} later."
                ),
                now=now,
            ),
        )
        if alert is not None:
            alerts.setdefault(alert.alert_id, alert)
    return list(alerts.values())
