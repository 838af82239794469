"""Hypothesis strategies: valid inbound events, RFC 3339 timestamps and arbitrary JSON values."""

from __future__ import annotations

import datetime as dt
from typing import Any, get_args

from hypothesis import strategies as st

from schemas.common import Location, Person, Source
from schemas.field import (
    MAX_JSON_INT,
    AddressedLocation,
    Arrest,
    DealingAddress,
    Evidence,
    Offense,
    Role,
    Seizure,
    Substance,
    Usage,
)

# No control characters (Cc) nor lone surrogates (Cs): what Identifier and Text allow, or less.
texts = st.text(st.characters(exclude_categories=("Cc", "Cs")), min_size=1, max_size=24).filter(
    str.strip
)

#: RFC 3339 offsets are whole minutes, strictly within a day.
offsets = st.integers(-(24 * 60 - 1), 24 * 60 - 1).map(
    lambda minutes: dt.timezone(dt.timedelta(minutes=minutes))
)

#: Aware datetimes whose UTC instant exists (a day of margin at both ends of the calendar).
aware_datetimes = st.datetimes(
    min_value=dt.datetime(1, 1, 2),  # noqa: DTZ001 - hypothesis bounds are naive by contract
    max_value=dt.datetime(9999, 12, 30),  # noqa: DTZ001
    timezones=offsets,
)

#: Any timestamp a producer could write, including those with no UTC instant.
rfc3339_strings = st.datetimes(timezones=offsets).map(dt.datetime.isoformat)

floats = st.floats(allow_nan=False, allow_infinity=False)
non_negative = st.floats(min_value=0, allow_nan=False, allow_infinity=False)

persons = st.builds(
    Person,
    person_id=st.none() | texts,
    last_name=texts,
    first_name=texts,
    birth_date=st.none() | st.dates(),
    aliases=st.lists(texts, max_size=3),
)


def _common(location: st.SearchStrategy[Location]) -> dict[str, st.SearchStrategy[Any]]:
    return {
        "event_id": texts,
        "occurred_at": aware_datetimes,
        "reported_at": st.none() | aware_datetimes,
        "source": st.builds(Source, system=texts, unit=texts),
        "procedure_ref": st.none() | texts,
        "operation_ref": st.none() | texts,
        "location": location,
    }


def _location(
    model: type[Location], address: st.SearchStrategy[str | None]
) -> st.SearchStrategy[Location]:
    return st.builds(
        model,
        lat=st.floats(-90, 90),
        lon=st.floats(-180, 180),
        address=address,
    )


arrests = st.builds(
    Arrest,
    **_common(_location(Location, st.none() | texts)),
    person=persons,
    offense=st.sampled_from(get_args(Offense)),
    natinf=st.none() | texts,
    flagrant=st.booleans(),
    role=st.sampled_from(get_args(Role)),
)

seizures = st.builds(
    Seizure,
    **_common(_location(Location, st.none() | texts)),
    substance=st.sampled_from(get_args(Substance)),
    quantity_g=non_negative,
    cash_eur=non_negative,
    weapons=st.integers(0, MAX_JSON_INT),
    persons=st.lists(persons, max_size=3),
)

dealing_addresses = st.builds(
    DealingAddress,
    **_common(_location(AddressedLocation, texts)),
    usage=st.sampled_from(get_args(Usage)),
    evidence=st.sampled_from(get_args(Evidence)),
    occupant=st.none() | persons,
)

field_events = arrests | seizures | dealing_addresses

#: Strings that have fooled date and number parsers before.
tricky_strings = st.sampled_from(
    [
        "",
        "0",
        "-1",
        "1e400",
        "NaN",
        "true",
        "null",
        "1756757700",
        "2025-09-01",
        "2025-09-01T20:15:00",
        "0001-01-01T00:00:00+01:00",
        "9999-12-31T23:59:59-23:59",
        "S-AAAABBBBCCCCDDDD",
    ]
)

json_scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | floats
    | st.text(max_size=16)
    | tricky_strings
    | rfc3339_strings
)

json_values = st.recursive(
    json_scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=12), inner),
    max_leaves=12,
)
