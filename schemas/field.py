"""Inbound field events (SPEC 4): what police systems publish on ``field.*.v1``."""

from __future__ import annotations

from typing import ClassVar, Literal

from pydantic import Field, model_validator

from schemas.common import Identifier, Location, Person, Source, StrictModel, Text, UtcDatetime

Offense = Literal["trafficking", "possession", "use", "facilitation", "violence", "other"]
Role = Literal["seller", "buyer", "lookout", "runner", "facilitator", "unknown"]
Substance = Literal["crack", "cocaine", "heroin", "cannabis", "synthetic", "other"]
Usage = Literal["dealing_point", "consumption_site", "stash"]
Evidence = Literal["surveillance", "complaint", "search", "informant"]

NARCOTICS_OFFENSES: frozenset[str] = frozenset({"trafficking", "possession", "use", "facilitation"})


class FieldEventBase(StrictModel):
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
    weapons: int = Field(0, ge=0)
    persons: list[Person] = Field(default_factory=list, max_length=200)


class DealingAddress(FieldEventBase):
    KIND: ClassVar[str] = "dealing_address"
    usage: Usage
    evidence: Evidence
    occupant: Person | None = None

    @model_validator(mode="after")
    def _address_required(self) -> DealingAddress:
        if self.location.address is None:
            raise ValueError("location.address is required for a dealing-address report")
        return self


FieldEvent = Arrest | Seizure | DealingAddress

#: Inbound topic -> the model its values must match.
FIELD_MODELS: dict[str, type[Arrest] | type[Seizure] | type[DealingAddress]] = {
    "field.arrests.v1": Arrest,
    "field.seizures.v1": Seizure,
    "field.dealing-addresses.v1": DealingAddress,
}
