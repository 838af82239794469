"""Sections, their order and their topics (SPEC 7): where a case lives and where it is published."""

from __future__ import annotations

from schemas.cases import Section, case_topic
from streams.matches import RuleMatch

#: The order a case climbs and never descends. P4 takes the place of P12 and P20 for minors,
#: so it sits at P20's level; it wins that tie because a match that found the subject under 18
#: makes the case a minors' case (short of F3) whatever order the matches come in.
RANK: dict[Section, int] = {"P12": 0, "P20": 1, "P4": 2, "F3": 3}


def effective_section(match: RuleMatch) -> Section:
    """The section a match asks for once the minors' rule is applied."""
    if match.minor and match.section != "F3":
        return "P4"
    return match.section


def higher(a: Section, b: Section) -> Section:
    """The higher of two sections; ``max`` over ``RANK`` so it does not depend on order."""
    return a if RANK[a] >= RANK[b] else b


def section_topic(section: Section) -> str:
    """Every case event goes to the topic of its own ``section`` field."""
    return case_topic(section)
