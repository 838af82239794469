"""Building blocks shared by the inbound models: strict base model, UTC timestamps, people, places."""

from __future__ import annotations

import datetime as dt
from typing import Annotated

from pydantic import AfterValidator, AwareDatetime, BaseModel, ConfigDict, Field, PlainSerializer


def _to_utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC)


def format_utc(value: dt.datetime) -> str:
    """RFC 3339 in UTC with a ``Z``, the one form fieldcourt emits."""
    return value.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


#: A timestamp that must carry an offset; held and emitted in UTC.
UtcDatetime = Annotated[
    AwareDatetime, AfterValidator(_to_utc), PlainSerializer(format_utc, return_type=str)
]

#: Identifiers from the outside: non-empty, bounded, no control characters.
Identifier = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f\x7f]+$")]
Text = Annotated[str, Field(min_length=1, max_length=512, pattern=r"^[^\x00-\x08\x0b-\x1f\x7f]+$")]


class StrictModel(BaseModel):
    """No coercion, no unknown fields, immutable: a wrong type is an error, not a guess."""

    model_config = ConfigDict(strict=True, extra="forbid", frozen=True, allow_inf_nan=False)


class Source(StrictModel):
    system: Text
    unit: Text


class Location(StrictModel):
    lat: float = Field(ge=-90.0, le=90.0)
    lon: float = Field(ge=-180.0, le=180.0)
    address: Text | None = None


class Person(StrictModel):
    """A person as police systems send them. Never leaves ingest (SPEC 8)."""

    person_id: Identifier | None = None
    last_name: Text
    first_name: Text
    birth_date: dt.date | None = None
    aliases: list[Text] = Field(default_factory=list, max_length=32)
