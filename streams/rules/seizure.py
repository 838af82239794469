"""f3.seizure: a seizure large enough for the narcotics and organised crime section.

Needs no state: call ``evaluate_seizure`` exactly once per seizure event (for instance where
events are enriched), not once per subject, so that seizures with no person are seen too.
"""

from __future__ import annotations

from schemas.cases import AnchorKind
from schemas.enriched import EnrichedEvent
from streams.matches import MatchSubject, RuleMatch
from streams.rules.common import build_match, day, is_minor, place, roles_of
from streams.rules.config import RulesConfig, SeizureParams


def _grounds(event: EnrichedEvent, params: SeizureParams) -> list[str]:
    """What crossed a threshold, in words; empty when nothing did."""
    grounds = []
    quantity = event.quantity_g or 0.0
    if event.substance in params.substances and quantity >= params.min_quantity_g:
        grounds.append(f"{quantity:g} g of {event.substance}")
    cash = event.cash_eur or 0.0
    if cash >= params.min_cash_eur:
        grounds.append(f"{cash:,.0f} EUR")
    weapons = event.weapons or 0
    if weapons >= params.min_weapons:
        grounds.append(f"{weapons} weapon{'s' if weapons > 1 else ''}")
    return grounds


def _anchors(event: EnrichedEvent) -> list[tuple[AnchorKind, str, bool]]:
    """(kind, ref, minor) per case: each person, else the operation, the address, the event.

    With neither person, operation nor address, the event itself is the anchor, as an
    ``operation`` of one event (``event:<event_id>``): it is the smallest unit of police work.
    """
    if event.subjects:
        refs = sorted({s.ref for s in event.subjects})
        return [("subject", ref, is_minor(event, ref)) for ref in refs]
    if event.operation_ref:
        return [("operation", event.operation_ref, False)]
    if event.address_key:
        return [("address", event.address_key, False)]
    return [("operation", f"event:{event.event_id}", False)]


def seizure(event: EnrichedEvent, params: SeizureParams) -> list[RuleMatch]:
    """F3 match per person on the seizure, or one on its operation, address or event."""
    if not params.enabled or event.kind != "seizure":
        return []
    grounds = _grounds(event, params)
    if not grounds:
        return []
    what = f"Seizure of {', '.join(grounds)}"
    when = f"on {day(event.occurred_at)} {place(event)}"
    return [
        build_match(
            rule_id=params.rule_id,
            section="F3",
            anchor=(kind, ref),
            trigger=event,
            events=(),
            subjects=[MatchSubject(ref=ref, roles=roles_of(ref, [event]))]
            if kind == "subject"
            else [],
            reason=f"{what} from {ref} {when}." if kind == "subject" else f"{what} {when}.",
            minor=minor,
        )
        for kind, ref, minor in _anchors(event)
    ]


def evaluate_seizure(event: EnrichedEvent, config: RulesConfig) -> list[RuleMatch]:
    """f3.seizure on ``event``: it needs no state."""
    return seizure(event, config.rules.seizure)
