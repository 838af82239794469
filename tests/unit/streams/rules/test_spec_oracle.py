"""SPEC 6 and 7 written out plainly, as a batch oracle, against the whole in-memory pipeline.

The oracle below reads a list of enriched events and says, from the SPEC's text alone, which
cases (anchor, section, rules, subjects and roles, addresses, evidence, time span) and which
COJC alerts the pipeline must end with. It is loops over events, pairs and windows, with SPEC
6's default numbers written here, and imports nothing from ``streams.rules``,
``streams.state`` or ``streams.cases``. The tests feed generated histories through
``streams.pipeline.Pipeline`` (routing, every stage, the case manager: what the Kafka workers
run), each event on a feed of its own so that none is late, in the generated (random) order,
and fail on anything missing and anything extra.

``f3.network`` has its own oracle (``tests/unit/streams/test_network.py``); network cases are
left out here, and they touch no other case (their anchor is the network). ``cojc.surge`` is
left out: it is the one rule whose outcome may depend on the schedule (SPEC 6).

Where SPEC 6 does not say which side of a boundary counts, the oracle follows the convention
the README ("Rules and cases") and the rules' docstrings document; each is marked CONVENTION.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from hypothesis import example, given, settings
from hypothesis import strategies as st

from schemas.cases import Alert, CaseEvent
from schemas.enriched import EnrichedEvent
from streams.pipeline import Pipeline
from tests.scenario import last_versions
from tests.unit.streams.rules.builders import (
    ADDRESS,
    HALLES,
    ROSA,
    STALINGRAD,
    arrest,
    at,
    event,
    person,
)

# --- SPEC 6's default numbers, written out (not read from the code under test) -------------

NARCOTICS_OFFENSES = frozenset({"trafficking", "possession", "use", "facilitation"})
FLAGRANT_OFFENSES = frozenset({"trafficking", "possession", "facilitation"})
FLAGRANT_REPORT_DELAY = timedelta(hours=48)
RECURRENCE_ARRESTS, RECURRENCE_WINDOW = 3, timedelta(days=30)
DEALING_ACTIVITY, DEALING_WINDOW = 2, timedelta(days=30)
SEIZURE_SUBSTANCES = frozenset({"crack", "cocaine", "heroin"})
SEIZURE_GRAMS, SEIZURE_EUR, SEIZURE_WEAPONS = 50.0, 5000.0, 1
DISPLACEMENT_WINDOW, DISPLACEMENT_PERIOD = timedelta(days=90), timedelta(days=90)
MIGRATION_SUBJECTS, MIGRATION_WINDOW, MIGRATION_PERIOD = 3, timedelta(days=30), timedelta(days=30)

#: SPEC 7: P12 < P20 < F3; P4 takes the place of P12 and P20 for a minor, F3 stays above it.
#: CONVENTION (README "Rules and cases", streams/cases/sections.py): P4 ranks above P20, so a
#: case that ever was a minors' case stays one short of F3.
RANK = {"P12": 0, "P20": 1, "P4": 2, "F3": 3}
#: CONVENTION (streams/rules/limiter.py, README "fixed once-per periods"): "at most once per N
#: days" means once per fixed period of N days aligned on the Unix epoch in UTC, the period
#: that holds the alert's arrival (displacement) or window end (trade migration).
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
EMITTED = datetime(2026, 6, 1, 8, 0, tzinfo=UTC)


def period(moment: datetime, length: timedelta) -> int:
    return (moment - EPOCH) // length


def narcotics(e: EnrichedEvent) -> bool:
    """SPEC 4: arrests for trafficking, possession, use or facilitation, every seizure, every
    dealing-address report."""
    return e.kind != "arrest" or e.offense in NARCOTICS_OFFENSES


def refs(e: EnrichedEvent) -> list[str]:
    return [s.ref for s in e.subjects]


def minor(e: EnrichedEvent, ref: str) -> bool:
    """Under 18 on the event; an unknown birth date (``None``) counts as adult."""
    return any(s.ref == ref and s.minor is True for s in e.subjects)


# --- the oracle: rule matches ---------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    rule_id: str
    anchor: tuple[str, str]
    section: str  # after the minors' rule
    subjects: dict[str, frozenset[str]]
    evidence: tuple[EnrichedEvent, ...]


def subject_match(
    rule_id: str, section: str, ref: str, evidence: Iterable[EnrichedEvent], is_minor: bool
) -> Match:
    """A subject case match; the subject's roles are those it has on the evidence."""
    found = tuple(evidence)
    roles = frozenset(s.role for e in found for s in e.subjects if s.ref == ref)
    if is_minor and section in ("P12", "P20"):
        section = "P4"
    return Match(rule_id, ("subject", ref), section, {ref: roles}, found)


def flagrant_matches(events: list[EnrichedEvent]) -> list[Match]:
    """p12.flagrant: a flagrant trafficking, possession or facilitation arrest reported within
    48 h. CONVENTION: exactly 48 h is within (``max_report_delay_hours``)."""
    return [
        subject_match("p12.flagrant", "P12", ref, [e], minor(e, ref))
        for e in events
        if e.kind == "arrest"
        and e.flagrant
        and e.offense in FLAGRANT_OFFENSES
        and e.reported_at - e.occurred_at <= FLAGRANT_REPORT_DELAY
        for ref in refs(e)
    ]


def recurrence_matches(events: list[EnrichedEvent]) -> list[Match]:
    """p20.recurrence: 3 or more narcotics arrests of one subject within any 30 days.

    CONVENTION: a window is closed, ``[t - 30 days, t]`` (arrests exactly 30 days apart are
    within). The evidence is every arrest of every such window. "Under 18 on the triggering
    event" (SPEC 7) is read on the arrest that completes a window in event time, its last:
    what triggers it when events come in time order, so that the outcome does not depend on
    which arrest arrives last (SPEC 6). A subject may turn 18 within a window here.
    """
    found = []
    arrests = [e for e in events if e.kind == "arrest" and narcotics(e)]
    for ref in sorted({r for e in arrests for r in refs(e)}):
        mine = [e for e in arrests if ref in refs(e)]
        matched: dict[str, EnrichedEvent] = {}
        is_minor = False
        for last in mine:
            window = [
                e
                for e in mine
                if last.occurred_at - RECURRENCE_WINDOW <= e.occurred_at <= last.occurred_at
            ]
            if len(window) >= RECURRENCE_ARRESTS:
                matched.update((e.event_id, e) for e in window)
                is_minor = is_minor or minor(last, ref)
        if matched:
            found.append(subject_match("p20.recurrence", "P20", ref, matched.values(), is_minor))
    return found


def dealing_address_matches(events: list[EnrichedEvent]) -> list[Match]:
    """p20.dealing_address: a report for an address key and 2 or more arrests or seizures at
    that key within 30 days of it: an address case in P20 whose subjects are the occupant
    (facilitator) and the persons arrested there.

    CONVENTIONS (rules.yaml, streams/rules/address.py, README): "within 30 days of it" is
    either side of the report, inclusive; arrests for any offense count; persons on a seizure
    are not "arrested there"; a case holds every report with enough activity and that
    activity.
    """
    found = []
    for key in sorted({e.address_key for e in events if e.address_key is not None}):
        here = [e for e in events if e.address_key == key]
        reports: list[EnrichedEvent] = []
        activity: dict[str, EnrichedEvent] = {}
        for report in (e for e in here if e.kind == "dealing_address"):
            near = [
                e
                for e in here
                if e.kind in ("arrest", "seizure")
                and abs(e.occurred_at - report.occurred_at) <= DEALING_WINDOW
            ]
            if len(near) >= DEALING_ACTIVITY:
                reports.append(report)
                activity.update((e.event_id, e) for e in near)
        if not reports:
            continue
        roles: dict[str, set[str]] = {}
        for report in reports:
            for ref in refs(report):
                roles.setdefault(ref, set()).add("facilitator")
        for e in activity.values():
            if e.kind == "arrest":
                for s in e.subjects:
                    roles.setdefault(s.ref, set()).add(s.role)
        found.append(
            Match(
                "p20.dealing_address",
                ("address", key),
                "P20",
                {ref: frozenset(r) for ref, r in roles.items()},
                (*reports, *activity.values()),
            )
        )
    return found


def large(e: EnrichedEvent) -> bool:
    """f3.seizure's thresholds: crack, cocaine or heroin >= 50 g, cash >= 5,000 EUR, a weapon."""
    return (
        (e.substance in SEIZURE_SUBSTANCES and (e.quantity_g or 0) >= SEIZURE_GRAMS)
        or (e.cash_eur or 0) >= SEIZURE_EUR
        or (e.weapons or 0) >= SEIZURE_WEAPONS
    )


def seizure_matches(events: list[EnrichedEvent]) -> list[Match]:
    """f3.seizure: an F3 case for each person on a large seizure, else one anchored on its
    operation, else its address, else the event. CONVENTION (streams/rules/seizure.py): the
    event anchor is an ``operation`` anchor of ref ``event:<event_id>`` (SPEC 7 has no event
    anchor kind); an address anchor is the address case of that key (one case per anchor)."""
    found = []
    for e in (e for e in events if e.kind == "seizure" and large(e)):
        if e.subjects:
            found += [subject_match("f3.seizure", "F3", ref, [e], False) for ref in refs(e)]
            continue
        if e.operation_ref:
            anchor = ("operation", e.operation_ref)
        elif e.address_key:
            anchor = ("address", e.address_key)
        else:
            anchor = ("operation", f"event:{e.event_id}")
        found.append(Match("f3.seizure", anchor, "F3", {}, (e,)))
    return found


def spec_matches(events: list[EnrichedEvent]) -> list[Match]:
    return [
        *flagrant_matches(events),
        *recurrence_matches(events),
        *dealing_address_matches(events),
        *seizure_matches(events),
    ]


# --- the oracle: cases ------------------------------------------------------------------------

#: What a case ends with: section, rule ids, (subject, roles), addresses, evidence, time span.
FinalCase = tuple[str, tuple[str, ...], tuple[tuple[str, tuple[str, ...]], ...], Any, Any, Any]


@dataclass
class _Case:
    section: str
    rules: set[str] = field(default_factory=set)
    subjects: dict[str, set[str]] = field(default_factory=dict)
    evidence: dict[str, EnrichedEvent] = field(default_factory=dict)


def spec_cases(events: list[EnrichedEvent]) -> dict[tuple[str, str], FinalCase]:
    """SPEC 7: one case per anchor, in the highest section its matches reached, holding the
    union of what they found (addresses and evidence are those of the evidence events)."""
    cases: dict[tuple[str, str], _Case] = {}
    for m in spec_matches(events):
        case = cases.setdefault(m.anchor, _Case(m.section))
        if RANK[m.section] > RANK[case.section]:
            case.section = m.section
        case.rules.add(m.rule_id)
        for ref, roles in m.subjects.items():
            case.subjects.setdefault(ref, set()).update(roles)
        case.evidence.update((e.event_id, e) for e in m.evidence)
    return {anchor: _final(case) for anchor, case in cases.items()}


def _final(case: _Case) -> FinalCase:
    held = case.evidence.values()
    return (
        case.section,
        tuple(sorted(case.rules)),
        tuple(sorted((ref, tuple(sorted(roles))) for ref, roles in case.subjects.items())),
        tuple(sorted({e.address_key for e in held if e.address_key})),
        tuple(sorted(case.evidence)),
        (min(e.occurred_at for e in held), max(e.occurred_at for e in held)),
    )


# --- the oracle: COJC alerts ------------------------------------------------------------------


def displacements(events: list[EnrichedEvent]) -> set[tuple[str, str, str, str]]:
    """cojc.displacement: (subject, A, B, arrival) for a subject's narcotics event in sector A,
    then one (the arrival) in sector B != A within 90 days. CONVENTIONS
    (streams/rules/displacement.py): "then" is strictly later (same-time events in two sectors
    are no displacement); exactly 90 days is within. Events outside every sector take no part.
    The last item is the arrival's event id.
    """
    found = set()
    placed = [e for e in events if narcotics(e) and e.sector is not None]
    for origin, arrival in itertools.permutations(placed, 2):
        assert origin.sector is not None
        assert arrival.sector is not None
        if (
            origin.sector != arrival.sector
            and arrival.occurred_at - DISPLACEMENT_WINDOW
            <= origin.occurred_at
            < arrival.occurred_at
        ):
            for ref in set(refs(origin)) & set(refs(arrival)):
                found.add((ref, origin.sector, arrival.sector, arrival.event_id))
    return found


def displacement_slots(events: list[EnrichedEvent]) -> set[tuple[str, str, str, int]]:
    """(subject, A, B, period of the arrival): one displacement alert each."""
    times = {e.event_id: e.occurred_at for e in events}
    return {
        (r, a, b, period(times[e], DISPLACEMENT_PERIOD)) for r, a, b, e in displacements(events)
    }


def trade_migration_slots(events: list[EnrichedEvent]) -> set[tuple[str, str, int]]:
    """cojc.trade_migration: (A, B, period of the window's end) for 3 or more distinct subjects
    displaced from A to B within 30 days. CONVENTIONS (streams/rules/sector.py): a subject is
    displaced when it arrives in B; the window is closed, ``[t - 30 days, t]``."""
    times = {e.event_id: e.occurred_at for e in events}
    arrivals: dict[tuple[str, str], set[tuple[datetime, str]]] = {}
    for ref, a, b, arrival in displacements(events):
        arrivals.setdefault((a, b), set()).add((times[arrival], ref))
    found = set()
    for (a, b), moved in arrivals.items():
        for end, _ in moved:
            inside = {ref for t, ref in moved if end - MIGRATION_WINDOW <= t <= end}
            if len(inside) >= MIGRATION_SUBJECTS:
                found.add((a, b, period(end, MIGRATION_PERIOD)))
    return found


# --- what the pipeline ends with --------------------------------------------------------------


def run(events: list[EnrichedEvent]) -> Pipeline:
    """The whole in-memory pipeline with the shipped rules, each event on a feed of its own
    (so none is late), in the order given."""
    pipeline = Pipeline(clock=lambda: EMITTED).feed(events, lambda e: e.event_id)
    assert pipeline.late == []
    return pipeline


def pipeline_cases(case_events: list[CaseEvent]) -> dict[tuple[str, str], FinalCase]:
    """Each non-network case's last version, as ``spec_cases`` writes it."""
    return {
        (e.anchor.kind, e.anchor.ref): (
            e.section,
            tuple(sorted(e.rule_ids)),
            tuple(sorted((s.ref, tuple(sorted(s.roles))) for s in e.subjects)),
            tuple(sorted(e.addresses)),
            tuple(sorted(e.evidence)),
            (e.first_event_at, e.last_event_at),
        )
        for e in last_versions(case_events).values()
        if e.anchor.kind != "network"
    }


def check_case_histories(case_events: list[CaseEvent]) -> None:
    """SPEC 7 on each case's events: one anchor per id and one id per anchor, opened once,
    a version rising by one per event, never moving down a section, every escalation a
    transfer (old section) then an escalation (new one)."""
    by_case: dict[str, list[CaseEvent]] = {}
    for e in case_events:
        # in the order published: each version once, never an older one after a newer (the
        # last record of a case on its compacted topic is its latest version). f3.network
        # judges every 60-day span holding an event and may find an earlier match again,
        # unchanged; the case manager publishes nothing for it (``CaseManager.apply``).
        history = by_case.setdefault(e.case_id, [])
        assert not history or history[-1].version < e.version, f"{e.case_id} v{e.version}"
        history.append(e)
    anchors = {(e.anchor.kind, e.anchor.ref) for e in case_events}
    assert len(anchors) == len(by_case)
    for history in by_case.values():
        history.sort(key=lambda e: e.version)
        assert [e.version for e in history] == list(range(1, len(history) + 1))
        assert len({(e.anchor.kind, e.anchor.ref) for e in history}) == 1
        assert [e.event_type for e in history].count("case_opened") == 1
        assert history[0].event_type == "case_opened"
        for before, after in itertools.pairwise(history):
            if before.event_type == "case_transferred":
                assert after.event_type == "case_escalated"
                assert after.section == before.transferred_to != before.section
                assert after.previous_section == before.section
            assert RANK[after.section] >= RANK[before.section] or (
                before.event_type == "case_transferred"
            )


def check_alerts(events: list[EnrichedEvent], alerts: list[Alert]) -> None:
    """The displacement and trade-migration alerts against the oracle: the same (subject, A, B)
    triples and (A, B) pairs, the same once-per-period slots, and no slot alerted twice; each
    alert's evidence a displacement the SPEC sees."""
    by_id = {e.event_id: e for e in events}
    moved = displacements(events)
    moves = [a for a in alerts if a.alert_type == "displacement"]
    got = [
        (a.subjects[0], a.from_sector, a.sector, period(a.window.end, DISPLACEMENT_PERIOD))
        for a in moves
    ]
    assert all(len(a.subjects) == 1 for a in moves)
    assert len(got) == len(set(got)), "a (subject, A, B) alerted twice in one period"
    expected = displacement_slots(events)
    assert {g[:3] for g in got} == {x[:3] for x in expected}
    assert set(got) == expected
    for a in moves:
        origin, arrival = (by_id[i] for i in a.evidence)
        assert (a.subjects[0], origin.sector, arrival.sector, arrival.event_id) in moved
        assert (a.window.start, a.window.end) == (origin.occurred_at, arrival.occurred_at)

    migrations = [a for a in alerts if a.alert_type == "trade_migration"]
    got_m = [(a.from_sector, a.sector, period(a.window.end, MIGRATION_PERIOD)) for a in migrations]
    assert len(got_m) == len(set(got_m)), "an (A, B) alerted twice in one period"
    expected_m = trade_migration_slots(events)
    assert {g[:2] for g in got_m} == {x[:2] for x in expected_m}
    assert set(got_m) == expected_m
    for a in migrations:
        assert len(set(a.subjects)) >= MIGRATION_SUBJECTS
        assert set(a.subjects) <= {r for r, f, t, _ in moved if (f, t) == (a.from_sector, a.sector)}


def check(events: list[EnrichedEvent]) -> None:
    pipeline = run(events)
    assert pipeline_cases(pipeline.case_events) == spec_cases(events)
    check_case_histories(pipeline.case_events)
    check_alerts(events, pipeline.alerts)


# --- generated histories ----------------------------------------------------------------------

POOL = (1, 2, 3, 4, 5)
OTHER_ADDRESS = "3 BIS ALLEE FICTIVE 75001 PARIS"
sectors = st.sampled_from([HALLES, ROSA, STALINGRAD, None])
addresses = st.sampled_from([ADDRESS, OTHER_ADDRESS, None])
operations = st.sampled_from([None, None, "OP-SYNTH-1"])


@st.composite
def histories(draw: st.DrawFn) -> list[EnrichedEvent]:
    """A handful of subjects (adults, minors, some turning 18 on the way, some of unknown age),
    3 sectors and none, 2 address keys, whole days (so often exactly 30 or 90 days apart, on
    the edge of a 30- or 90-day period) or noon, over 30, 60 or 120 days."""
    span = draw(st.sampled_from([30, 60, 120]))
    # under 18 until this day (0: an adult; None: birth date unknown, counts as adult)
    adult_on = {n: draw(st.sampled_from([0, None, span + 1]) | st.integers(1, span)) for n in POOL}
    events: list[EnrichedEvent] = []
    for i in range(draw(st.integers(1, 24))):
        day = draw(st.integers(0, span))
        when = at(day, draw(st.sampled_from([0, 0, 12])))
        ages = {n: None if a is None else day < a for n, a in adult_on.items()}
        common: dict[str, Any] = {
            "event_id": f"E-{i:03d}",
            "sector": draw(sectors),
            "address": draw(addresses),
            "operation": draw(operations),
        }
        kind = draw(st.sampled_from(["arrest", "arrest", "arrest", "seizure", "report"]))
        if kind == "arrest":
            n = draw(st.sampled_from(POOL))
            e = arrest(
                n,
                when,
                offense=draw(st.sampled_from(["trafficking", "possession", "use", "violence"])),
                flagrant=draw(st.booleans()),
                role=draw(st.sampled_from(["seller", "lookout"])),
                minor=ages[n],
                delay_h=draw(st.sampled_from([1.0, 48.0, 48.0 + 1 / 3600, 60.0])),
                **common,
            )
        elif kind == "seizure":
            persons = draw(st.lists(st.sampled_from(POOL), max_size=3, unique=True))
            e = event(
                "seizure",
                when,
                subjects=tuple(person(n, "seized_with", ages[n]) for n in persons),
                substance=draw(st.sampled_from(["crack", "heroin", "cannabis"])),
                quantity_g=draw(st.sampled_from([10.0, 49.9, 50.0])),
                cash_eur=draw(st.sampled_from([0.0, 4999.99, 5000.0])),
                weapons=draw(st.sampled_from([0, 0, 1])),
                **common,
            )
        else:
            common["address"] = common["address"] or ADDRESS
            occupant = draw(st.none() | st.sampled_from(POOL))
            e = event(
                "dealing_address",
                when,
                subjects=()
                if occupant is None
                else (person(occupant, "facilitator", ages[occupant]),),
                usage="dealing_point",
                evidence="surveillance",
                **common,
            )
        events.append(e)
    return events


def seized(day: float, *persons: int, **kw: Any) -> EnrichedEvent:
    """A seizure at ``day`` with ``persons`` (adults); crack 10 g unless ``kw`` says more."""
    fields: dict[str, Any] = {"substance": "crack", "quantity_g": 10.0, "cash_eur": 0.0}
    fields["weapons"] = 0
    return event(
        "seizure",
        at(day),
        subjects=tuple(person(n, "seized_with", False) for n in persons),
        **{**fields, **kw},
    )


def reported(day: float, occupant: int | None = None, **kw: Any) -> EnrichedEvent:
    occupants = () if occupant is None else (person(occupant, "facilitator", False),)
    fields: dict[str, Any] = {"usage": "dealing_point", "evidence": "surveillance"}
    return event(
        "dealing_address", at(day), subjects=occupants, **{"address": ADDRESS, **fields, **kw}
    )


def moves(n: int, *stops: tuple[str | None, float]) -> list[EnrichedEvent]:
    """Narcotics arrests of subject ``n`` at each (sector, day)."""
    return [arrest(n, at(day), sector=sector) for sector, day in stops]


@settings(max_examples=300)
@given(histories())
@example(  # recurrence: exactly 30 days is within, 31 is not; subject 3 turns 18 on day 20
    [
        *(arrest(1, at(d)) for d in (0, 10, 30)),
        *(arrest(2, at(d)) for d in (0, 10, 31)),
        *(arrest(3, at(d), minor=d < 20) for d in (0, 10, 20)),
        *(arrest(4, at(d), minor=True) for d in (0, 10, 20)),
        arrest(5, at(0), offense="use"),
        arrest(5, at(1), offense="violence"),
        arrest(5, at(2)),
    ]
)
@example(  # flagrant: reported 48 h later is within, a second more is not; minors go to P4
    [
        arrest(1, at(0), flagrant=True, delay_h=48.0),
        arrest(2, at(0), flagrant=True, delay_h=48.0 + 1 / 3600),
        arrest(3, at(0), flagrant=True, offense="use"),
        arrest(4, at(0), flagrant=True, offense="facilitation", minor=True),
        arrest(5, at(0), flagrant=True, minor=True),
        seized(1, 5, quantity_g=50.0),  # then F3 above P4
    ]
)
@example(  # dealing address: activity exactly 30 days either side of the report counts
    [
        reported(30, occupant=1),
        arrest(2, at(0), address=ADDRESS, offense="violence", role="lookout"),
        seized(60, 3, address=ADDRESS),  # counts as activity, 3 is not "arrested there"
        arrest(4, at(60, hours=12), address=ADDRESS),  # 30.5 days after: outside
        reported(0, occupant=5, address=OTHER_ADDRESS),
        arrest(1, at(31), address=OTHER_ADDRESS),
        arrest(2, at(31), address=OTHER_ADDRESS),
    ]
)
@example(  # seizure thresholds and anchors; an address anchor is the address's case
    [
        seized(0, 1, 2, quantity_g=50.0),
        seized(0, 3, substance="heroin", quantity_g=49.9),
        seized(0, 3, substance="cannabis", quantity_g=5000.0),
        seized(0, 3, cash_eur=4999.99),
        seized(1, cash_eur=5000.0, operation="OP-SYNTH-1"),
        seized(2, weapons=1, address=OTHER_ADDRESS),
        seized(3, weapons=1),
        reported(4, address=OTHER_ADDRESS),
        arrest(4, at(5), address=OTHER_ADDRESS),
    ]
)
@example(  # displacement: "then" is strictly later, 90 days is within, periods are fixed
    [
        *moves(1, (HALLES, 0), (ROSA, 89), (ROSA, 90)),  # two 90-day periods: two alerts
        *moves(2, (HALLES, 0), (ROSA, 91)),
        *moves(3, (HALLES, 5), (ROSA, 5)),
        *moves(4, (STALINGRAD, 0), (None, 1), (STALINGRAD, 2)),
        arrest(4, at(3), sector=HALLES, offense="violence"),
    ]
)
@example(  # trade migration: windows exactly 30 days long, one alert per 30-day period
    [
        *moves(1, (HALLES, 0), (ROSA, 10)),
        *moves(2, (HALLES, 0), (ROSA, 25)),
        *moves(3, (HALLES, 0), (ROSA, 29)),  # window [0, 29]: 1, 2, 3; period 0
        *moves(4, (HALLES, 0), (ROSA, 30)),  # windows ending on day 30: period 1
        *moves(5, (STALINGRAD, 0), (ROSA, 10), (STALINGRAD, 20)),
    ]
)
def test_the_pipeline_ends_with_the_spec_cases_and_alerts(events: list[EnrichedEvent]) -> None:
    """Anything the SPEC asks for and the pipeline misses, and anything more, fails."""
    check(events)
