"""p20.dealing_address: a reported dealing address with arrests or seizures there around it.

The address agent calls ``evaluate_address`` for every event with an address key, after
recording it; the rule fires whichever of the report, the arrests and the seizures comes last.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from datetime import timedelta

from schemas.enriched import EnrichedEvent
from streams.matches import MatchSubject, RuleMatch
from streams.rules.common import build_match, day, order
from streams.rules.config import DealingAddressParams, RulesConfig, widest_window
from streams.rules.ports import AddressHistory, PastEvent

_ACTIVITY = ("arrest", "seizure")


def _subjects(reports: list[PastEvent], events: list[PastEvent]) -> list[MatchSubject]:
    """The occupants, as facilitators, and the persons arrested at the address."""
    roles: dict[str, set[str]] = {}
    for report in reports:
        for s in report.subjects:
            roles.setdefault(s.ref, set()).add("facilitator")
    for arrest in (e for e in events if e.kind == "arrest"):
        for s in arrest.subjects:
            roles.setdefault(s.ref, set()).add(s.role)
    return [MatchSubject(ref=ref, roles=tuple(sorted(r))) for ref, r in sorted(roles.items())]


def dealing_address(
    event: EnrichedEvent, history: AddressHistory, params: DealingAddressParams
) -> list[RuleMatch]:
    """Every report whose window holds ``event`` (or that is ``event``) and enough activity.

    Each report takes the window and count of its own sector. Arrests of any offense count.
    """
    key = event.address_key
    if key is None:
        return []
    t = event.occurred_at
    widest = widest_window(params).days
    # A report within its window of the event, and that report's activity within its window.
    nearby = history.around(key, t, 2 * widest)
    activity = [e for e in nearby if e.kind in _ACTIVITY]
    times = [e.occurred_at for e in activity]  # sorted, as the state answers them
    reports: dict[str, PastEvent] = {}
    found_activity: dict[str, PastEvent] = {}
    for report in nearby:
        if report.kind != "dealing_address":
            continue
        rule = params.for_sector(report.sector)
        window = timedelta(days=rule.window_days)
        # ``event`` takes part as the report itself, or as activity within the report's window
        if event.kind == "dealing_address":
            involved = report.event_id == event.event_id
        else:
            involved = event.kind in _ACTIVITY and abs(t - report.occurred_at) <= window
        if not (rule.enabled and involved):
            continue
        near = activity[
            bisect_left(times, report.occurred_at - window) : bisect_right(
                times, report.occurred_at + window
            )
        ]
        if len(near) >= rule.min_events:
            reports[report.event_id] = report
            found_activity.update((e.event_id, e) for e in near)
    if not reports:
        return []
    found_reports = sorted(reports.values(), key=order)
    found = sorted(found_activity.values(), key=order)
    arrests = sum(e.kind == "arrest" for e in found)
    rule = params.for_sector(found_reports[0].sector)
    return [
        build_match(
            rule_id=params.rule_id,
            section="P20",
            anchor=("address", key),
            trigger=event,
            events=(*found_reports, *found),
            subjects=_subjects(found_reports, found),
            reason=(
                f"{key} reported as a dealing address on "
                f"{', '.join(day(r.occurred_at) for r in found_reports)}, with {arrests} "
                f"arrest(s) and {len(found) - arrests} seizure(s) there from "
                f"{day(found[0].occurred_at)} to {day(found[-1].occurred_at)} "
                f"(within {rule.window_days} days of a report)."
            ),
        )
    ]


def evaluate_address(
    event: EnrichedEvent, history: AddressHistory, config: RulesConfig
) -> list[RuleMatch]:
    """The address rules on ``event`` (already recorded)."""
    return dealing_address(event, history, config.rules.dealing_address)
