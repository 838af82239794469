"""The demo's verdict on what it watched: every beat of the story, each named in a checklist."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import orjson
import pytest

from fieldcourt.demo import OUTCOMES, missing, summarise
from fieldcourt.watch import WatchReport, render
from schemas.cases import Alert, CaseEvent
from tests.unit.schemas.examples import example

P20 = "court.p20.cases.v1"
ALERTS = "cojc.alerts.v1"


def case(**fields: Any) -> dict[str, Any]:
    return example(CaseEvent) | fields


def alert(alert_type: str, sector: str = "rosa-parks") -> dict[str, Any]:
    return example(Alert) | {"alert_type": alert_type, "sector": sector}


#: One record per outcome, in the order of ``OUTCOMES`` (the dead-letter count is separate).
STORY: list[tuple[str, dict[str, Any]]] = [
    (P20, case(event_type="case_escalated", section="P20", previous_section="P12")),
    (
        P20,
        case(
            section="P20",
            anchor={"kind": "address", "ref": "17 RUE QUINCAMPOIX 75004"},
            subjects=[{"ref": "S-AAAABBBBCCCCDDDD", "roles": ["facilitator"]}],
        ),
    ),
    ("court.p4.cases.v1", case(section="P4")),
    ("court.f3.cases.v1", case(section="F3", anchor={"kind": "network", "ref": "N-1"})),
    (ALERTS, alert("displacement")),
    (ALERTS, alert("trade_migration")),
    (ALERTS, alert("surge")),
]


def watched(records: list[tuple[str, dict[str, Any]]]) -> WatchReport:
    report = WatchReport()
    for topic, doc in records:
        assert render(topic, orjson.dumps(doc), report) is not None
    return report


def test_the_whole_story_passes_and_says_so(capsys: pytest.CaptureFixture[str]) -> None:
    assert summarise(49, 1, watched(STORY), 51.4) is True
    out = capsys.readouterr().out
    for outcome in OUTCOMES:
        assert f"✓ {outcome.label}" in out
    assert "✗" not in out
    assert f"demo finished in 51 s: all {len(OUTCOMES)} outcomes" in out


@pytest.mark.parametrize("absent", range(len(STORY)), ids=[o.label for o in OUTCOMES[:-1]])
def test_one_missing_beat_fails_and_is_named(
    absent: int, capsys: pytest.CaptureFixture[str]
) -> None:
    report = watched(STORY[:absent] + STORY[absent + 1 :])
    assert missing(report, 1) == [OUTCOMES[absent].label]
    assert summarise(49, 1, report, 60.0) is False
    out = capsys.readouterr().out
    assert f"✗ {OUTCOMES[absent].label}" in out
    assert f"1 of the story's {len(OUTCOMES)} outcomes missing" in out


@pytest.mark.parametrize("dead", [0, 2])
def test_the_broken_record_must_be_dead_lettered_exactly_once(dead: int) -> None:
    assert missing(watched(STORY), dead) == [OUTCOMES[-1].label]


def test_look_alikes_do_not_count() -> None:
    """Another escalation, a P20 address case without a facilitator, an F3 subject case and
    alerts to another sector are not the story's beats."""
    look_alikes = [
        (P20, case(event_type="case_escalated", section="F3", previous_section="P20")),
        (
            P20,
            case(
                event_type="case_escalated",
                section="P20",
                previous_section="P12",
                anchor={"kind": "address", "ref": "8 RUE CURIAL 75019"},
            ),
        ),
        (
            P20,
            case(
                section="P20",
                anchor={"kind": "address", "ref": "8 RUE CURIAL 75019"},
                subjects=[{"ref": "S-AAAABBBBCCCCDDDD", "roles": ["seller"]}],
            ),
        ),
        ("court.f3.cases.v1", case(section="F3")),
        *[
            (ALERTS, alert(kind, "stalingrad"))
            for kind in ("displacement", "trade_migration", "surge")
        ],
    ]
    report = watched([*look_alikes, STORY[2]])
    assert missing(report, 1) == [o.label for o in OUTCOMES[:-1] if o is not OUTCOMES[2]]


def test_demo_users_one_per_section_and_the_cojc_stored_hashed(tmp_path: Path) -> None:
    from fieldcourt.dashboard.users import UserStore
    from fieldcourt.demo import demo_users

    path = tmp_path / "dashboard" / "users"
    users = demo_users(path)
    assert sorted(u.role for u in users) == ["cojc", "f3", "p12", "p20", "p4"]
    text = path.read_text()
    store = UserStore(path)
    for user in users:
        assert user.password not in text
        signed_in = store.authenticate(user.name, user.password)
        assert signed_in is not None
        assert signed_in.role == user.role
    # a second demo makes new passwords: the old ones open nothing
    again = demo_users(path)
    assert UserStore(path).authenticate(users[0].name, users[0].password) is None
    assert {u.name for u in again} == {u.name for u in users}
