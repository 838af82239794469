"""The fields of each inbound event type (docs/contract.md §4.2, §4.3): the person, Arrest,
Seizure and DealingAddress."""

from __future__ import annotations

import datetime as dt
from typing import Any, get_args

import pytest

from schemas.field import Arrest, DealingAddress, Evidence, Offense, Role, Seizure, Substance, Usage

from .examples import MISSING, PERSON, accepts, edited, example, rejects

# --- person (as carried by an arrest) -------------------------------------------------------


def arrest_of(**person: Any) -> dict[str, Any]:
    return edited(example(Arrest), ("person",), {**PERSON, **person})


def test_person_without_id_birth_date_or_aliases() -> None:
    person = accepts(Arrest, example(Arrest)).person
    assert (person.person_id, person.birth_date, person.aliases) == (None, None, [])


def test_person_with_every_field() -> None:
    person = accepts(
        Arrest,
        arrest_of(person_id="FAED-000123", birth_date="2008-03-14", aliases=["Petit A", "A."]),
    ).person
    assert person.person_id == "FAED-000123"
    assert person.birth_date == dt.date(2008, 3, 14)
    assert person.aliases == ["Petit A", "A."]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("last_name", MISSING),
        ("first_name", MISSING),
        ("last_name", ""),
        ("first_name", 7),
        ("person_id", ""),
        ("person_id", 123),
        ("person_id", "x" * 129),
        ("birth_date", "14/03/2008"),
        ("birth_date", "20080314"),
        ("birth_date", "2008-02-30"),
        ("birth_date", "0"),
        ("birth_date", "2008-03-14T00:00:00Z"),
        ("birth_date", 1205452800),
        ("aliases", "Petit A"),
        ("aliases", [""]),
        ("aliases", [None]),
        ("nickname", "Petit A"),
    ],
)
def test_person_refused(field: str, value: Any) -> None:
    rejects(Arrest, edited(example(Arrest), ("person", field), value), ("person", field))


# --- Arrest ---------------------------------------------------------------------------------


@pytest.mark.parametrize("offense", get_args(Offense))
def test_arrest_offenses(offense: str) -> None:
    assert accepts(Arrest, edited(example(Arrest), ("offense",), offense)).offense == offense


@pytest.mark.parametrize("role", get_args(Role))
def test_arrest_roles(role: str) -> None:
    assert accepts(Arrest, edited(example(Arrest), ("role",), role)).role == role


def test_arrest_defaults() -> None:
    arrest = accepts(Arrest, example(Arrest))
    assert arrest.role == "unknown"
    assert arrest.natinf is None


@pytest.mark.parametrize("flagrant", [True, False])
def test_arrest_flagrant_is_a_bool(flagrant: bool) -> None:
    assert accepts(Arrest, edited(example(Arrest), ("flagrant",), flagrant)).flagrant is flagrant


def test_arrest_natinf() -> None:
    assert accepts(Arrest, edited(example(Arrest), ("natinf",), "7001")).natinf == "7001"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("person", MISSING),
        ("person", None),
        ("offense", MISSING),
        ("offense", "burglary"),
        ("offense", "Trafficking"),
        ("role", "dealer"),
        ("role", None),
        ("flagrant", MISSING),
        ("flagrant", 1),
        ("flagrant", 0),
        ("flagrant", "true"),
        ("flagrant", None),
        ("natinf", 7001),
        ("natinf", ""),
    ],
)
def test_arrest_refused(field: str, value: Any) -> None:
    rejects(Arrest, edited(example(Arrest), (field,), value), (field,))


# --- Seizure --------------------------------------------------------------------------------


@pytest.mark.parametrize("substance", get_args(Substance))
def test_seizure_substances(substance: str) -> None:
    doc = edited(example(Seizure), ("substance",), substance)
    assert accepts(Seizure, doc).substance == substance


def test_seizure_defaults() -> None:
    seizure = accepts(Seizure, example(Seizure))
    assert (seizure.cash_eur, seizure.weapons, seizure.persons) == (0, 0, [])


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("quantity_g", 0),
        ("quantity_g", 0.0),
        ("quantity_g", 50),
        ("quantity_g", 1234.567),
        ("cash_eur", 0),
        ("cash_eur", 5000),
        ("cash_eur", 4999.99),
        ("weapons", 0),
        ("weapons", 3),
        ("weapons", 2**53 - 1),
    ],
)
def test_seizure_amounts(field: str, value: float) -> None:
    assert getattr(accepts(Seizure, edited(example(Seizure), (field,), value)), field) == value


def test_seizure_persons() -> None:
    people = [PERSON, {**PERSON, "first_name": "Basile", "birth_date": "1999-12-31"}]
    seizure = accepts(Seizure, edited(example(Seizure), ("persons",), people))
    assert [p.first_name for p in seizure.persons] == ["Aubin", "Basile"]


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("substance", MISSING),
        ("substance", "khat"),
        ("quantity_g", MISSING),
        ("quantity_g", -0.1),
        ("quantity_g", "50"),
        ("quantity_g", None),
        ("cash_eur", -1),
        ("cash_eur", "5000"),
        ("weapons", -1),
        ("weapons", 1.5),
        ("weapons", "1"),
        ("weapons", True),
        # Beyond what every JSON reader holds exactly, and what orjson could write back.
        ("weapons", 2**53),
        ("weapons", 2**64),
        ("persons", None),
        ("persons", PERSON),
        ("persons", [{"last_name": "Fictif"}]),
    ],
)
def test_seizure_refused(field: str, value: Any) -> None:
    rejects(Seizure, edited(example(Seizure), (field,), value), (field,))


# --- DealingAddress -------------------------------------------------------------------------


@pytest.mark.parametrize("usage", get_args(Usage))
@pytest.mark.parametrize("evidence", get_args(Evidence))
def test_dealing_address_usage_and_evidence(usage: str, evidence: str) -> None:
    doc = edited(edited(example(DealingAddress), ("usage",), usage), ("evidence",), evidence)
    report = accepts(DealingAddress, doc)
    assert (report.usage, report.evidence) == (usage, evidence)


def test_dealing_address_occupant_is_optional() -> None:
    assert accepts(DealingAddress, example(DealingAddress)).occupant is None
    doc = edited(example(DealingAddress), ("occupant",), {**PERSON, "birth_date": "1970-05-01"})
    occupant = accepts(DealingAddress, doc).occupant
    assert occupant is not None
    assert occupant.birth_date == dt.date(1970, 5, 1)


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("usage",), MISSING),
        (("usage",), "shop"),
        (("evidence",), MISSING),
        (("evidence",), "rumour"),
        (("occupant",), "Aubin Fictif"),
        (("occupant",), {"first_name": "Aubin"}),
        (("location", "address"), MISSING),
        (("location", "address"), None),
        (("location", "address"), ""),
    ],
)
def test_dealing_address_refused(path: tuple[str, ...], value: Any) -> None:
    rejects(DealingAddress, edited(example(DealingAddress), path, value), path)


@pytest.mark.parametrize("model", [Arrest, Seizure])
def test_address_is_optional_elsewhere(model: type[Arrest] | type[Seizure]) -> None:
    event = accepts(model, edited(example(model), ("location", "address"), MISSING))
    assert event.location.address is None
