"""Audit records of automated processing: who, when, what, for which case; never a name."""

from __future__ import annotations

import datetime as dt

from schemas.cases import Alert, AlertWindow
from streams.audit import alert_disclosure, audit_key, case_disclosure, combination
from streams.cases import CaseManager
from tests.unit.streams.case_builders import EMITTED, match

AT = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)


def test_a_case_event_is_disclosed_under_its_case_with_its_version_and_topic() -> None:
    found = match("p12.flagrant", evidence=("e1",))
    [event] = CaseManager({}).apply(found, EMITTED)
    record = case_disclosure(event, "court.p12.cases.v1")
    assert (record.action, record.actor, record.at) == ("disclose", "fieldcourt", EMITTED)
    assert record.case_id == event.case_id
    assert record.subjects == [s.ref for s in event.subjects]
    assert record.evidence == ["e1"]
    assert record.detail == "case_opened version 1 on court.p12.cases.v1"
    assert audit_key(record) == event.case_id.encode()


def test_a_match_applied_is_a_combination_by_its_rule() -> None:
    found = match("p20.recurrence", evidence=("e1", "e2", "e3"))
    record = combination(found, "C-1", AT)
    assert (record.action, record.actor, record.case_id) == (
        "combine",
        "fieldcourt/p20.recurrence",
        "C-1",
    )
    assert record.evidence == ["e1", "e2", "e3"]


def test_an_alert_is_keyed_by_its_first_subject_or_a_dash() -> None:
    def alert(subjects: list[str]) -> Alert:
        return Alert(
            alert_type="surge",
            alert_id="A-1",
            sector="rosa-parks",
            from_sector=None,
            subjects=subjects,
            evidence=["e9"],
            window=AlertWindow(start=AT, end=AT),
            reason="10 narcotics events in rosa-parks.",
            emitted_at=AT,
        )

    surge = alert_disclosure(alert([]), "cojc.alerts.v1")
    assert (surge.action, surge.case_id, audit_key(surge)) == ("disclose", None, b"-")
    assert surge.detail == "surge alert A-1 to rosa-parks on cojc.alerts.v1"
    moved = alert_disclosure(alert(["S-AAAAAAAAAAAAAAAA"]), "cojc.alerts.v1")
    assert audit_key(moved) == b"S-AAAAAAAAAAAAAAAA"


def test_a_consultation_needs_a_purpose() -> None:
    import pytest

    from streams.audit import consultation

    record = consultation("alice", " 2026/000123 ", "watch court.p12.cases.v1", AT)
    assert (record.action, record.actor, record.purpose) == ("consult", "alice", "2026/000123")
    assert audit_key(record) == b"-"
    with pytest.raises(ValueError, match="purpose"):
        consultation("alice", "  ", "watch", AT)
