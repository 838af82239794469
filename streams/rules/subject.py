"""Rules on one subject's history: p12.flagrant, p20.recurrence, and the subject agent's entry.

The subject agent calls ``evaluate_subject`` once per (event, subject ref) after recording the
event in the subject's state; it also runs ``cojc.displacement`` (see ``displacement``).
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from schemas.cases import Alert
from schemas.enriched import EnrichedEvent
from streams.matches import MatchSubject, RuleMatch
from streams.rules.common import build_match, day, is_minor, order, place, roles_of
from streams.rules.config import FlagrantParams, RecurrenceParams, RulesConfig, widest_window
from streams.rules.displacement import Displacement, displacement_alerts, find_displacements
from streams.rules.limiter import AlertLimiter
from streams.rules.ports import PastEvent, SubjectHistory


def flagrant(event: EnrichedEvent, ref: str, params: FlagrantParams) -> list[RuleMatch]:
    """p12.flagrant: a flagrant narcotics arrest reported promptly, for the arrested subject."""
    if (
        not params.enabled
        or event.kind != "arrest"
        or not event.flagrant
        or event.offense not in params.offenses
        or event.report_delay_s > params.max_report_delay_hours * 3600
    ):
        return []
    hours = event.report_delay_s / 3600
    return [
        build_match(
            rule_id=params.rule_id,
            section="P12",
            anchor=("subject", ref),
            trigger=event,
            events=(),
            subjects=(MatchSubject(ref=ref, roles=roles_of(ref, [event])),),
            reason=(
                f"Flagrant {event.offense} arrest of {ref} on {day(event.occurred_at)} "
                f"{place(event)}, reported {hours:.1f} h later."
            ),
            minor=is_minor(event, ref),
        )
    ]


def _narcotics_arrest(event: PastEvent) -> bool:
    return event.kind == "arrest" and event.narcotics


def recurrence(
    event: EnrichedEvent, ref: str, history: SubjectHistory, params: RecurrenceParams
) -> list[RuleMatch]:
    """p20.recurrence: enough narcotics arrests of ``ref`` in any window holding ``event``.

    Only windows ending on an arrest need checking, and such a window takes the numbers of the
    sector of that last arrest: the outcome depends on the set of arrests, not their arrival.
    The subject is a minor (P4, SPEC 7) if under 18 on the last arrest of a matched window: the
    arrest that completes it in event time, which triggers it when events come in time order.
    Not on ``event``, which may be the window's first arrest arriving last: a subject turning
    18 within the window would then end in P4 or P20 depending on the arrival order.
    """
    if not _narcotics_arrest(event):
        return []
    t = event.occurred_at
    reach = widest_window(params)
    arrests = [e for e in history.events(ref, t - reach, t + reach) if _narcotics_arrest(e)]
    matched: dict[str, PastEvent] = {}
    minor = False
    for end in arrests:
        rule = params.for_sector(end.sector)
        start = end.occurred_at - timedelta(days=rule.window_days)
        if not rule.enabled or not start <= t <= end.occurred_at:
            continue
        window = [e for e in arrests if start <= e.occurred_at <= end.occurred_at]
        if len(window) >= rule.min_arrests:
            matched.update((e.event_id, e) for e in window)
            minor = minor or is_minor(end, ref)
    if not matched:
        return []
    found = sorted(matched.values(), key=order)
    first, last = found[0], found[-1]
    rule = params.for_sector(last.sector)
    return [
        build_match(
            rule_id=params.rule_id,
            section="P20",
            anchor=("subject", ref),
            trigger=event,
            events=found,
            subjects=(MatchSubject(ref=ref, roles=roles_of(ref, found)),),
            reason=(
                f"{len(found)} narcotics arrests of {ref} from {day(first.occurred_at)} to "
                f"{day(last.occurred_at)} ({rule.min_arrests} or more within "
                f"{rule.window_days} days), the last {place(last)}."
            ),
            minor=minor,
        )
    ]


class _Read:
    """A subject's events in one window, read once for all the subject rules of an event: each
    rule's query is a window within it, answered by bisection like the state's."""

    def __init__(self, events: Sequence[PastEvent]) -> None:
        self._events = events
        self._times = [e.occurred_at for e in events]

    def events(self, ref: str, start: datetime, end: datetime) -> Sequence[PastEvent]:
        return self._events[bisect_left(self._times, start) : bisect_right(self._times, end)]


@dataclass(frozen=True)
class SubjectOutcome:
    """What one event means for one subject: matches for the case manager, alerts for the
    COJC, and displacements for the destination sector's ``evaluate_displacement``."""

    matches: tuple[RuleMatch, ...] = ()
    alerts: tuple[Alert, ...] = ()
    displacements: tuple[Displacement, ...] = ()


def evaluate_subject(
    event: EnrichedEvent,
    ref: str,
    history: SubjectHistory,
    limiter: AlertLimiter,
    config: RulesConfig,
    *,
    now: datetime,
) -> SubjectOutcome:
    """The subject rules for ``ref`` on ``event`` (already recorded)."""
    rules = config.rules
    if event.narcotics:  # the rules below look at narcotics events only
        t = event.occurred_at
        reach = max(widest_window(rules.recurrence), widest_window(rules.displacement))
        history = _Read(history.events(ref, t - reach, t + reach))
    displacements = find_displacements(event, ref, history, rules.displacement)
    return SubjectOutcome(
        matches=(
            *flagrant(event, ref, rules.flagrant),
            *recurrence(event, ref, history, rules.recurrence),
        ),
        alerts=tuple(
            displacement_alerts(displacements, event.event_id, limiter, rules.displacement, now)
        ),
        displacements=tuple(displacements),
    )
