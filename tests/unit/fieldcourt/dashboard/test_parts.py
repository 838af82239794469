"""The dashboard's parts without a server: the users file and its command, the state rebuilt
from records, the sector map."""

from __future__ import annotations

import io
from pathlib import Path

import orjson
import pytest

from fieldcourt.cli import main
from fieldcourt.dashboard.sectormap import draw
from fieldcourt.dashboard.state import DashboardState
from fieldcourt.dashboard.users import (
    UsersFileError,
    UserStore,
    add_user,
    parse_users,
)
from fieldcourt.topics import ALERTS_TOPIC, case_topic
from streams.geofence import load_sectors
from tests.unit.fieldcourt.dashboard.conftest import alert, case


def test_a_user_file_holds_hashes_and_authenticates(tmp_path: Path) -> None:
    path = tmp_path / "users"
    add_user(path, "alice", "P12", "a long enough password")
    add_user(path, "carla", "cojc", "another long password")
    text = path.read_text()
    assert "a long enough password" not in text
    assert "$argon2id$" in text
    assert path.stat().st_mode & 0o077 == 0
    store = UserStore(path)
    alice = store.authenticate("alice", "a long enough password")
    assert alice is not None
    assert alice.role == "p12"
    assert store.authenticate("alice", "another long password") is None
    assert store.authenticate("nobody", "a long enough password") is None
    # changing a password replaces the line; the store sees the file change
    add_user(path, "alice", "p20", "a third long password")
    alice = store.authenticate("alice", "a third long password")
    assert alice is not None
    assert alice.role == "p20"
    assert len(store) == 2


@pytest.mark.parametrize(
    ("name", "role", "password", "message"),
    [
        ("alice", "p13", "a long enough password", "unknown role"),
        ("al ice", "p12", "a long enough password", "user name"),
        ("alice", "p12", "short", "at least"),
    ],
)
def test_bad_users_are_refused(
    tmp_path: Path, name: str, role: str, password: str, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        add_user(tmp_path / "users", name, role, password)


def test_a_malformed_users_file_names_the_line() -> None:
    with pytest.raises(UsersFileError, match="line 2: unknown role"):
        parse_users("# comment\nbob p99 $argon2id$x\n")
    with pytest.raises(UsersFileError, match="line 1: not an argon2 hash"):
        parse_users("bob p12 plaintext\n")
    with pytest.raises(UsersFileError, match="no users file"):
        UserStore(Path("/nonexistent/users"))


def test_add_user_reads_the_password_from_stdin_not_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    users = tmp_path / "users"
    monkeypatch.setenv("FIELDCOURT_DASHBOARD_USERS_FILE", str(users))
    monkeypatch.setattr("sys.stdin", io.StringIO("from standard input\n"))
    assert main(["dashboard", "add-user", "bob", "--section", "F3"]) == 0
    assert "bob (f3)" in capsys.readouterr().out
    bob = UserStore(users).authenticate("bob", "from standard input")
    assert bob is not None
    assert bob.role == "f3"
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["dashboard", "add-user", "bob", "--section", "f3"]) == 2
    with pytest.raises(SystemExit):
        main(["dashboard", "add-user", "bob", "--section", "f3", "--password", "x"])


def test_state_keeps_each_topic_s_history_and_ignores_repeats() -> None:
    state = DashboardState()
    opened = orjson.dumps(case("p12", "C-1"))
    moved = orjson.dumps(
        case("p12", "C-1", event_type="case_transferred", transferred_to="F3", version=2)
    )
    arrived = orjson.dumps(
        case("f3", "C-1", event_type="case_escalated", previous_section="P12", version=3)
    )
    assert state.apply(case_topic("p12"), moved) is not None  # out of order
    assert state.apply(case_topic("p12"), opened) is not None
    assert state.apply(case_topic("p12"), opened) is None  # a repeat
    assert state.apply(case_topic("f3"), arrived) is not None
    assert state.apply(case_topic("p12"), b"{not json") is None
    assert state.unreadable[case_topic("p12")] == 1
    p12 = state.case("p12", "C-1")
    f3 = state.case("f3", "C-1")
    assert p12 is not None
    assert f3 is not None
    assert [e.version for e in p12.events] == [1, 2]
    assert p12.status == "transferred to F3"
    assert [e.version for e in f3.events] == [3]
    assert f3.is_open
    assert f3.escalated
    assert f3.came_from == "P12"
    assert state.case("p20", "C-1") is None
    assert state.case("cojc", "C-1") is None
    state.apply(ALERTS_TOPIC, orjson.dumps(alert("A-1")))
    state.apply(ALERTS_TOPIC, orjson.dumps(alert("A-1")))
    state.apply(ALERTS_TOPIC, orjson.dumps(alert("A-2", alert_type="surge", from_sector=None)))
    assert state.alerts_by_sector()["rosa-parks"] == {"displacement": 1, "surge": 1}
    assert state.moves() == {("les-halles", "rosa-parks"): 1}
    # a closed case past its retention leaves by a tombstone; a second one changes nothing
    assert state.apply(case_topic("p12"), None, b"C-1") is not None
    assert state.case("p12", "C-1") is None
    assert state.apply(case_topic("p12"), None, b"C-1") is None


def test_the_map_draws_every_sector_inside_its_view_box() -> None:
    drawn = draw(load_sectors(None))
    assert [s.name for s in drawn.sectors] == ["les-halles", "rosa-parks", "stalingrad"]
    for sector in drawn.sectors:
        numbers = [
            float(n)
            for n in sector.path.replace("M", " ")
            .replace("L", " ")
            .replace("Z", " ")
            .replace(",", " ")
            .split()
        ]
        assert all(0 <= n <= max(drawn.width, drawn.height) for n in numbers)
        assert 0 < sector.x < drawn.width
        assert 0 < sector.y < drawn.height
    halles, rosa = drawn.at("les-halles"), drawn.at("rosa-parks")
    assert halles is not None
    assert rosa is not None
    assert rosa.y < halles.y  # north is up
    assert rosa.x > halles.x  # east is right


def test_the_dashboard_without_a_users_file_stops_with_status_2(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("FIELDCOURT_DASHBOARD_USERS_FILE", str(tmp_path / "absent"))
    assert main(["dashboard", "--port", "1"]) == 2
    assert "add-user" in capsys.readouterr().err
