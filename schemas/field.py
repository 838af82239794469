"""Inbound field events (docs/contract.md §4): what police systems publish on ``field.*.v1``."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field

from schemas.common import (
    Identifier,
    InboundRecord,
    Location,
    Person,
    Source,
    Text,
    UtcDatetime,
)

Offense = Literal["trafficking", "possession", "use", "facilitation", "violence", "other"]
Role = Literal["seller", "buyer", "lookout", "runner", "facilitator", "unknown"]
Substance = Literal["crack", "cocaine", "heroin", "cannabis", "synthetic", "other"]
Usage = Literal["dealing_point", "consumption_site", "stash"]
Evidence = Literal["surveillance", "complaint", "search", "informant"]

NARCOTICS_OFFENSES: frozenset[str] = frozenset({"trafficking", "possession", "use", "facilitation"})

#: Largest integer every JSON consumer reads exactly (RFC 7493); orjson cannot even write 2**64.
MAX_JSON_INT = 2**53 - 1


class FieldEventBase(InboundRecord):
    #: The record key (contract §3): redeliveries meet on one partition.
    KEY_FIELD: ClassVar[str] = "event_id"
    TIME_FIELD: ClassVar[str] = "occurred_at"

    event_id: Identifier
    occurred_at: UtcDatetime
    reported_at: UtcDatetime | None = None
    source: Source
    procedure_ref: Identifier | None = None
    operation_ref: Identifier | None = None
    location: Location

    @property
    def reported(self) -> UtcDatetime:
        """When the source recorded the event; ``occurred_at`` when it did not say."""
        return self.reported_at if self.reported_at is not None else self.occurred_at


class Arrest(FieldEventBase):
    KIND: ClassVar[str] = "arrest"
    person: Person
    offense: Offense
    natinf: Identifier | None = None
    flagrant: bool
    role: Role = "unknown"


class Seizure(FieldEventBase):
    KIND: ClassVar[str] = "seizure"
    substance: Substance
    quantity_g: float = Field(ge=0)
    cash_eur: float = Field(0.0, ge=0)
    weapons: int = Field(0, ge=0, le=MAX_JSON_INT)
    persons: list[Person] = Field(default_factory=list, max_length=200)


class AddressedLocation(Location):
    """A location with its address: a dealing-address report is about the address."""

    # Required in the type, not by a validator, so that the exported JSON Schema says so too.
    address: Text


class DealingAddress(FieldEventBase):
    KIND: ClassVar[str] = "dealing_address"
    location: AddressedLocation
    usage: Usage
    evidence: Evidence
    occupant: Person | None = None


FieldEvent = Arrest | Seizure | DealingAddress

#: Inbound topic -> the model its values must match.
FIELD_MODELS: dict[str, type[Arrest] | type[Seizure] | type[DealingAddress]] = {
    "field.arrests.v1": Arrest,
    "field.seizures.v1": Seizure,
    "field.dealing-addresses.v1": DealingAddress,
}
