"""The wire contract of fieldcourt: pydantic v2 models of what it reads and writes.

Described in docs/contract.md §4 (inbound) and §7 (outputs).
"""

from schemas.cases import Alert, CaseEvent
from schemas.common import Location, Person, Source
from schemas.enriched import EnrichedEvent, SubjectRef
from schemas.field import FIELD_MODELS, Arrest, DealingAddress, FieldEvent, Seizure

__all__ = [
    "FIELD_MODELS",
    "Alert",
    "Arrest",
    "CaseEvent",
    "DealingAddress",
    "EnrichedEvent",
    "FieldEvent",
    "Location",
    "Person",
    "Seizure",
    "Source",
    "SubjectRef",
]
