"""What a rule hands to the case manager: one matched pattern, anchored and evidenced.

A ``RuleMatch`` is the only thing that crosses from the rules to the case manager, whichever
partition or worker found it, so it is immutable, JSON-serialisable and carries a deterministic
``match_id`` that the case manager uses to apply each match exactly once.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from typing import Literal

from pydantic import Field

from schemas.cases import AnchorKind
from schemas.common import StrictModel, UtcDatetime

RuleSection = Literal["P12", "P20", "F3"]


class MatchSubject(StrictModel):
    ref: str
    roles: tuple[str, ...] = ()


@lru_cache(maxsize=1 << 16)
def match_subject(ref: str, roles: tuple[str, ...]) -> MatchSubject:
    """A match's subject, validated once and shared (immutable) by the matches that list it:
    a network's match lists each of its hundreds of members, on every event that grows it."""
    return MatchSubject(ref=ref, roles=roles)


class RuleMatch(StrictModel):
    rule_id: str
    anchor_kind: AnchorKind
    anchor_ref: str
    #: The section the rule asks for; the case manager puts minors in P4 instead of P12/P20.
    section: RuleSection
    #: The anchored subject was under 18 on the triggering event's ``occurred_at`` (for
    #: p20.recurrence: on the last arrest of a matched window, see ``rules.subject``).
    minor: bool = False
    subjects: tuple[MatchSubject, ...] = ()
    addresses: tuple[str, ...] = ()
    evidence: tuple[str, ...] = Field(min_length=1)
    procedure_refs: tuple[str, ...] = ()
    sector: str | None = None
    trigger_event_id: str
    occurred_at: UtcDatetime
    first_event_at: UtcDatetime
    last_event_at: UtcDatetime
    reason: str = Field(min_length=1)
    #: For network matches: anchor refs of other network cases this component has absorbed.
    absorbs: tuple[str, ...] = ()

    @property
    def match_id(self) -> str:
        """Same rule, anchor and evidence: same id, however often a replay re-derives it."""
        basis = "|".join((self.rule_id, self.anchor_kind, self.anchor_ref, *sorted(self.evidence)))
        return "M-" + hashlib.sha256(basis.encode()).hexdigest()[:24]


def stable_id(prefix: str, *parts: str) -> str:
    """A deterministic id (``C-``, ``A-``, ``N-`` ...) from its defining parts alone."""
    digest = hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:20]
    return f"{prefix}-{digest}"
