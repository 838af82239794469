"""The magistrate's view without a broker: which topics, what each event looks like."""

from __future__ import annotations

import io
from typing import Any

import orjson
import pytest
from rich.console import Console

from fieldcourt.cli import build_parser
from fieldcourt.watch import WatchReport, render, watch_topics
from schemas.cases import Alert, CaseEvent, CaseEventType
from tests.unit.schemas.examples import example

ALL_CASES = ["court.p12.cases.v1", "court.p20.cases.v1", "court.f3.cases.v1", "court.p4.cases.v1"]
REFS = [f"S-{letter * 16}" for letter in "ABCDEFG"]


def shown(topic: str, doc: dict[str, Any], report: WatchReport | None = None) -> str:
    """What a magistrate reads for one record (plain text, wide terminal)."""
    markup = render(topic, orjson.dumps(doc), report or WatchReport())
    assert markup is not None
    out = io.StringIO()
    Console(file=out, width=240, highlight=False).print(markup)
    return out.getvalue()


def test_topics_for_each_choice() -> None:
    assert watch_topics(None, False) == [*ALL_CASES, "cojc.alerts.v1"]
    assert watch_topics("F3", False) == ["court.f3.cases.v1"]
    assert watch_topics("P4", True) == ["court.p4.cases.v1", "cojc.alerts.v1"]
    assert watch_topics(None, True) == ["cojc.alerts.v1"]


def test_an_escalation_reads_as_one() -> None:
    doc = example(CaseEvent) | {
        "event_type": "case_escalated",
        "case_id": "C-7f3e2a",
        "section": "P20",
        "previous_section": "P12",
        "rule_ids": ["p12.flagrant", "p20.recurrence"],
        "reason": "S-AAAABBBBCCCCDDDD arrested 3 times in les-halles within 30 days.",
        "subjects": [{"ref": REFS[0], "roles": ["seller"]}],
        "evidence": ["e-1", "e-2", "e-3"],
        "last_event_at": "2025-09-15T13:20:00Z",
        "version": 3,
    }
    text = shown("court.p20.cases.v1", doc)
    assert "2025-09-15 15:20" in text  # event time, in Paris
    assert "P20" in text
    assert "C-7f3e2a" in text
    assert "escalated P12 -> P20" in text
    assert f"1 subject: {REFS[0]} (seller)" in text
    assert "3 pieces of evidence" in text
    assert "p12.flagrant, p20.recurrence" in text
    assert "subject case, les-halles, v3" in text
    assert "arrested 3 times in les-halles within 30 days." in text


def test_every_case_event_type_is_shown() -> None:
    for event_type in CaseEventType.__args__:  # a new type with no style would crash watch
        doc = example(CaseEvent) | {"event_type": event_type, "subjects": []}
        text = shown("court.p12.cases.v1", doc)
        assert event_type.removeprefix("case_") in text
        assert "no subject" in text


def test_the_report_counts_escalations_anchors_and_roles() -> None:
    report = WatchReport()
    doc = example(CaseEvent) | {
        "event_type": "case_escalated",
        "section": "F3",
        "previous_section": "P20",
        "subjects": [
            {"ref": REFS[0], "roles": ["seller", "facilitator"]},
            {"ref": REFS[1], "roles": ["seller"]},
        ],
    }
    shown("court.f3.cases.v1", doc, report)
    shown("court.p12.cases.v1", example(CaseEvent), report)
    assert report.escalations == {("subject", "P20", "F3"): 1}
    assert report.anchors == {("F3", "subject"): 1, ("P12", "subject"): 1}
    # One count per event and role, however many subjects hold it.
    assert report.roles == {
        ("F3", "subject", "seller"): 1,
        ("F3", "subject", "facilitator"): 1,
        ("P12", "subject", "seller"): 1,
    }


def test_many_subjects_are_cut_short_and_counted() -> None:
    doc = example(CaseEvent) | {
        "section": "F3",
        "anchor": {"kind": "network", "ref": "N-abc"},
        "subjects": [{"ref": ref, "roles": []} for ref in REFS],
        "sector": None,
    }
    report = WatchReport()
    text = shown("court.f3.cases.v1", doc, report)
    assert "7 subjects: " in text
    assert REFS[3] in text
    assert REFS[4] not in text
    assert "+3 more" in text
    assert "network case, outside any sector" in text
    assert report.cases == {("F3", "case_opened"): 1}
    assert report.shown == 1


def test_an_alert_says_where_from_and_to() -> None:
    report = WatchReport()
    text = shown("cojc.alerts.v1", example(Alert), report)
    assert "COJC rosa-parks" in text
    assert "A-91bc07" in text
    assert "displacement" in text
    assert "les-halles -> rosa-parks" in text
    assert "2 pieces of evidence" in text
    assert "was arrested in Rosa Parks." in text
    assert report.alerts == {("displacement", "rosa-parks"): 1}


def test_a_record_of_another_shape_is_counted_not_shown() -> None:
    report = WatchReport()
    assert render("court.p12.cases.v1", b'{"case_id": "C-1"}', report) is None
    assert render("cojc.alerts.v1", b"not json", report) is None
    assert report.unreadable == 2
    assert report.shown == 0


def test_markup_in_a_reason_is_printed_as_text() -> None:
    doc = example(CaseEvent) | {"reason": "Seen at [bold]12 rue X[/bold]."}
    assert "Seen at [bold]12 rue X[/bold]." in shown("court.p12.cases.v1", doc)


def test_command_line_options() -> None:
    parser = build_parser()
    purpose = ["--purpose", "2026/000123"]
    args = parser.parse_args(
        ["watch", "--section", "f3", "--alerts", "--max-events", "2", *purpose]
    )
    assert (args.section, args.alerts, args.max_events, args.timeout) == ("F3", True, 2, None)
    assert args.purpose == "2026/000123"
    with pytest.raises(SystemExit):
        parser.parse_args(["watch", "--section", "F3"])  # a consultation needs its purpose
    with pytest.raises(SystemExit):
        parser.parse_args(["watch", "--purpose", "  "])
    with pytest.raises(SystemExit):
        parser.parse_args(["watch", "--section", "P99", *purpose])
    with pytest.raises(SystemExit):
        parser.parse_args(["watch", "--timeout", "0"])
    with pytest.raises(SystemExit):
        parser.parse_args(["replay", "f.jsonl", "--speed", "2", "--as-fast-as-possible"])
    with pytest.raises(SystemExit):
        parser.parse_args(["simulate"])  # --out or --publish
