"""The case manager (SPEC 7): rule matches in, case events for the sections out. No Faust here."""

from streams.cases.manager import CaseManager, case_id_for
from streams.cases.sections import RANK, effective_section, higher, section_topic
from streams.cases.state import CaseState, Content

__all__ = [
    "RANK",
    "CaseManager",
    "CaseState",
    "Content",
    "case_id_for",
    "effective_section",
    "higher",
    "section_topic",
]
