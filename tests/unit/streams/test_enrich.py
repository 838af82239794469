from __future__ import annotations

import datetime as dt

import pytest

from schemas.codec import dumps
from schemas.enriched import EnrichedEvent
from schemas.field import Arrest, DealingAddress, Seizure
from streams.enrich import Enricher, age_on, is_minor, is_narcotics
from streams.geofence import load_sectors
from streams.pseudonym import Pseudonymiser, fold
from tests.factories import (
    NOWHERE,
    make_arrest,
    make_dealing_address,
    make_person,
    make_seizure,
    raw_person,
)

KEY = b"enrich-test-key-".ljust(32, b"x")


@pytest.fixture(scope="module")
def pseudo() -> Pseudonymiser:
    return Pseudonymiser(KEY)


@pytest.fixture(scope="module")
def enricher(pseudo: Pseudonymiser) -> Enricher:
    return Enricher(pseudo, load_sectors())


def test_arrest(enricher: Enricher, pseudo: Pseudonymiser) -> None:
    arrest = make_arrest(natinf="7001", operation_ref="OP-ZEPHYR")
    out = enricher.enrich(arrest)
    assert out.event_id == arrest.event_id
    assert out.kind == "arrest"
    assert out.sector == "les-halles"
    assert out.address_key is None
    assert out.narcotics is True
    assert out.report_delay_s == 2400.0
    assert out.occurred_at == arrest.occurred_at
    assert out.reported_at == arrest.reported_at
    assert (out.procedure_ref, out.operation_ref) == (arrest.procedure_ref, "OP-ZEPHYR")
    assert (out.lat, out.lon) == (arrest.location.lat, arrest.location.lon)
    assert out.source == arrest.source
    assert (out.offense, out.natinf, out.flagrant) == ("trafficking", "7001", True)
    assert out.role == "seller"
    assert (out.substance, out.quantity_g, out.usage, out.evidence) == (None, None, None, None)
    assert [(s.ref, s.role, s.minor) for s in out.subjects] == [
        (pseudo.ref(arrest.person), "seller", False)
    ]


def test_arrest_defaults(enricher: Enricher) -> None:
    out = enricher.enrich(make_arrest(reported_at=None, role=None, location=NOWHERE))
    assert out.reported_at == out.occurred_at
    assert out.report_delay_s == 0.0
    assert out.sector is None
    assert out.subjects[0].role == "unknown"


def test_report_delay_can_be_negative(enricher: Enricher) -> None:
    """A clock ahead at the source is reported as is; the rules decide what it means."""
    arrest = make_arrest(reported_at="2026-04-14T21:29:30Z")
    assert enricher.enrich(arrest).report_delay_s == -30.0


@pytest.mark.parametrize(
    ("offense", "narcotics"),
    [
        ("trafficking", True),
        ("possession", True),
        ("use", True),
        ("facilitation", True),
        ("violence", False),
        ("other", False),
    ],
)
def test_arrest_narcotics_flag(enricher: Enricher, offense: str, narcotics: bool) -> None:
    arrest = make_arrest(offense=offense)
    assert is_narcotics(arrest) is narcotics
    assert enricher.enrich(arrest).narcotics is narcotics


def test_seizure(enricher: Enricher, pseudo: Pseudonymiser) -> None:
    seizure = make_seizure(substance="other", weapons=2)
    out = enricher.enrich(seizure)
    assert out.kind == "seizure"
    assert out.sector == "stalingrad"
    assert out.address_key == "3 BOULEVARD DE LA VILLETTE PARIS 75019"
    assert out.narcotics is True
    assert (out.substance, out.quantity_g, out.cash_eur, out.weapons) == ("other", 12.5, 340.0, 2)
    assert (out.offense, out.flagrant, out.role) == (None, None, None)
    assert [(s.ref, s.role) for s in out.subjects] == [
        (pseudo.ref(p), "seized_with") for p in seizure.persons
    ]


def test_seizure_without_persons(enricher: Enricher) -> None:
    assert enricher.enrich(make_seizure(persons=[])).subjects == []


def test_duplicate_persons_on_a_seizure_are_one_subject(enricher: Enricher) -> None:
    first = raw_person(4)
    respelled = {**first, "last_name": fold(first["last_name"]).lower() + "  "}
    out = enricher.enrich(make_seizure(persons=[first, raw_person(5), respelled, first]))
    assert len(out.subjects) == 2
    assert out.subjects[0].ref != out.subjects[1].ref


def test_duplicates_that_disagree_on_age_count_as_a_minor(enricher: Enricher) -> None:
    adult = raw_person(1, person_id="taj-314", birth_date=dt.date(1990, 1, 1))
    minor = raw_person(1, person_id="taj-314", birth_date=dt.date(2010, 1, 1))
    unknown = raw_person(1, person_id="taj-314", birth_date=None)
    for persons in ([adult, minor], [minor, adult], [unknown, adult, minor]):
        (subject,) = enricher.enrich(make_seizure(persons=persons)).subjects
        assert subject.minor is True
    (subject,) = enricher.enrich(make_seizure(persons=[unknown, adult])).subjects
    assert subject.minor is False


def test_dealing_address(enricher: Enricher, pseudo: Pseudonymiser) -> None:
    report = make_dealing_address(usage="stash", evidence="informant")
    out = enricher.enrich(report)
    assert out.kind == "dealing_address"
    assert out.sector == "rosa-parks"
    assert out.address_key == "12 RUE CURIAL PARIS 75019"
    assert out.narcotics is True
    assert (out.usage, out.evidence) == ("stash", "informant")
    assert report.occupant is not None
    assert [(s.ref, s.role) for s in out.subjects] == [(pseudo.ref(report.occupant), "facilitator")]


def test_dealing_address_without_occupant(enricher: Enricher) -> None:
    assert enricher.enrich(make_dealing_address(occupant=None)).subjects == []


def test_same_person_same_ref_across_kinds(enricher: Enricher) -> None:
    person = raw_person(6)
    refs = {
        enricher.enrich(make_arrest(person=person)).subjects[0].ref,
        enricher.enrich(make_seizure(persons=[person])).subjects[0].ref,
        enricher.enrich(make_dealing_address(occupant=person)).subjects[0].ref,
    }
    assert len(refs) == 1


# occurred_at 21:30Z is 23:30 in Paris in April (CEST), 22:30 in January (CET).
@pytest.mark.parametrize(
    ("birth_date", "occurred_at", "minor"),
    [
        (dt.date(2008, 4, 14), "2026-04-14T21:30:00Z", False),  # 18th birthday that day
        (dt.date(2008, 4, 15), "2026-04-14T21:30:00Z", True),  # 17, eighteen tomorrow
        (dt.date(2008, 4, 13), "2026-04-14T21:30:00Z", False),
        (dt.date(2008, 4, 14), "2026-04-14T00:00:00+02:00", False),  # first minute of the day
        (dt.date(2008, 4, 15), "2026-04-14T22:30:00Z", False),  # 00:30 on the 15th in Paris
        (dt.date(2008, 4, 15), "2026-04-14T21:59:59Z", True),  # 23:59:59 on the 14th in Paris
        (dt.date(2008, 1, 10), "2026-01-09T23:30:00Z", False),  # 00:30 on the 10th, CET
        (dt.date(2008, 1, 10), "2026-01-09T22:59:59Z", True),  # 23:59:59 on the 9th, CET
        (dt.date(2008, 2, 29), "2026-02-28T12:00:00Z", True),  # born on 29 February
        (dt.date(2008, 2, 29), "2026-03-01T12:00:00Z", False),
        (dt.date(2010, 6, 1), "2026-04-14T21:30:00Z", True),
        (dt.date(1975, 6, 1), "2026-04-14T21:30:00Z", False),
        (None, "2026-04-14T21:30:00Z", None),
    ],
)
def test_minor_on_the_paris_day(
    enricher: Enricher, birth_date: dt.date | None, occurred_at: str, minor: bool | None
) -> None:
    arrest = make_arrest(
        person=raw_person(2, birth_date=birth_date), occurred_at=occurred_at, reported_at=None
    )
    assert enricher.enrich(arrest).subjects[0].minor is minor


def test_age_on() -> None:
    born = dt.date(2008, 4, 14)
    assert age_on(born, dt.date(2026, 4, 13)) == 17
    assert age_on(born, dt.date(2026, 4, 14)) == 18
    assert age_on(born, dt.date(2008, 4, 14)) == 0
    assert is_minor(born, dt.datetime(2026, 4, 13, 22, 0, tzinfo=dt.UTC)) is False


def _all_kinds() -> list[Arrest | Seizure | DealingAddress]:
    return [
        *(make_arrest(person=raw_person(i)) for i in range(8)),
        make_arrest(person=raw_person(0, person_id="taj-555")),
        make_seizure(persons=[raw_person(i) for i in range(8)]),
        make_dealing_address(occupant=raw_person(7)),
    ]


def _personal_strings(event: Arrest | Seizure | DealingAddress) -> set[str]:
    if isinstance(event, Arrest):
        persons = [event.person]
    elif isinstance(event, Seizure):
        persons = event.persons
    else:
        persons = [event.occupant] if event.occupant else []
    found = set()
    for p in persons:
        found |= {p.last_name, p.first_name, fold(p.last_name), fold(p.first_name), *p.aliases}
        found |= {fold(a) for a in p.aliases}
        if p.birth_date is not None:
            found |= {p.birth_date.isoformat(), p.birth_date.strftime("%d/%m/%Y")}
    return found


@pytest.mark.parametrize("event", _all_kinds(), ids=lambda e: e.event_id)
def test_no_personal_data_in_output(
    enricher: Enricher, event: Arrest | Seizure | DealingAddress
) -> None:
    out = enricher.enrich(event)
    text = dumps(out).decode().upper()
    secrets = _personal_strings(event)
    assert len(secrets) >= 6
    leaked = [s for s in secrets if s.upper() in text]
    assert leaked == []
    assert EnrichedEvent.model_validate_json(dumps(out), strict=True) == out


def test_person_ids_stay_out_of_the_output(enricher: Enricher) -> None:
    text = dumps(enricher.enrich(make_arrest(person=raw_person(0, person_id="taj-555")))).decode()
    assert "taj-555" not in text


def test_model_instance_override(enricher: Enricher) -> None:
    person = make_person(3)
    assert enricher.enrich(make_arrest(person=person)).subjects[0].minor is False
