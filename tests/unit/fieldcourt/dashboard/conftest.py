"""A dashboard served in the test's event loop, its state fed directly (no broker) and its
consultations recorded in a list."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

from fieldcourt.dashboard.routes import Dashboard, build_app
from fieldcourt.dashboard.sectormap import draw
from fieldcourt.dashboard.sessions import Sessions
from fieldcourt.dashboard.state import DashboardState
from fieldcourt.dashboard.users import User, UserStore, hash_password, write_users
from fieldcourt.topics import ALERTS_TOPIC, case_topic
from schemas.cases import Alert, CaseEvent
from streams.geofence import load_sectors
from tests.unit.schemas.examples import example

PASSWORD = "correct horse battery"
SECRET = b"0" * 32
USERS = {"alice": "p12", "fred": "f3", "carla": "cojc"}


def case(section: str, case_id: str, **fields: Any) -> dict[str, Any]:
    return example(CaseEvent) | {"section": section.upper(), "case_id": case_id} | fields


def alert(alert_id: str, sector: str = "rosa-parks", **fields: Any) -> dict[str, Any]:
    return example(Alert) | {"alert_id": alert_id, "sector": sector} | fields


def feed(state: DashboardState, topic: str, doc: dict[str, Any]) -> None:
    state.apply(topic, orjson.dumps(doc))


def seed(state: DashboardState) -> None:
    feed(state, case_topic("p12"), case("p12", "C-p12open", reason="P12 reason one"))
    feed(state, case_topic("p12"), case("p12", "C-p12gone", reason="moved on"))
    feed(
        state,
        case_topic("p12"),
        case(
            "p12",
            "C-p12gone",
            event_type="case_transferred",
            transferred_to="F3",
            version=2,
            reason="moved to F3",
        ),
    )
    feed(
        state,
        case_topic("f3"),
        case("f3", "C-f3secret", reason="F3 secret reason", sector="stalingrad"),
    )
    feed(state, ALERTS_TOPIC, alert("A-rosa1"))


@dataclass
class Audits:
    calls: list[tuple[str, str, str, str]] = field(default_factory=list)
    failing: bool = False

    async def __call__(self, actor: str, purpose: str, case_id: str, topic: str) -> None:
        if self.failing:
            raise RuntimeError("broker down")
        self.calls.append((actor, purpose, case_id, topic))


@dataclass
class Site:
    client: TestClient[Any, Any]
    dashboard: Dashboard
    audits: Audits

    @property
    def state(self) -> DashboardState:
        return self.dashboard.state

    async def csrf(self, path: str = "/login") -> str:
        page = await (await self.client.get(path)).text()
        found = re.search(r'name="csrf" value="([^"]+)"', page)
        assert found, page
        return found.group(1)

    async def sign_in(self, name: str, password: str = PASSWORD) -> Any:
        token = await self.csrf()
        return await self.client.post(
            "/login",
            data={"csrf": token, "name": name, "password": password},
            allow_redirects=False,
        )


@pytest.fixture(scope="session")
def users_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("dashboard") / "users"
    hashed = hash_password(PASSWORD)  # one hash for all: argon2 is slow on purpose
    write_users(path, [User(n, r, hashed) for n, r in USERS.items()])  # type: ignore[arg-type]
    return path


@pytest.fixture
async def site(users_file: Path) -> AsyncIterator[Site]:
    state = DashboardState()
    seed(state)
    audits = Audits()
    dashboard = Dashboard(
        users=UserStore(users_file),
        sessions=Sessions(SECRET, 600),
        state=state,
        sector_map=draw(load_sectors(None)),
        audit=audits,
        ready=lambda: True,
        heartbeat_s=0.2,
    )
    client = TestClient(TestServer(build_app(dashboard)))
    await client.start_server()
    try:
        yield Site(client, dashboard, audits)
    finally:
        await client.close()
