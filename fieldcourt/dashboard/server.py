"""``fieldcourt dashboard``: reads the topics into memory, then serves the pages until SIGINT or
SIGTERM, and stops its Kafka clients before it exits."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import sys
from collections.abc import Callable

from aiohttp import web

from fieldcourt.dashboard.feed import Auditor, Feed
from fieldcourt.dashboard.routes import Dashboard, build_app
from fieldcourt.dashboard.sectormap import draw
from fieldcourt.dashboard.sessions import Sessions, load_secret
from fieldcourt.dashboard.state import DashboardState
from fieldcourt.dashboard.users import UserStore
from fieldcourt.settings import Environment, Settings
from streams.geofence import load_sectors

log = logging.getLogger("fieldcourt.dashboard")


def address(settings: Settings) -> str:
    host = settings.dashboard_bind
    if host in ("", "0.0.0.0", "::"):  # noqa: S104
        host = "127.0.0.1"
    return f"http://{host}:{settings.dashboard_port}/"


async def serve(settings: Settings, announce: Callable[[str], None] = print) -> None:
    """Serve until SIGINT or SIGTERM; ``announce`` gets the one line saying where."""
    users = UserStore(settings.users_file)
    state = DashboardState()
    feed = Feed(settings, state)
    auditor = Auditor(settings)
    dashboard = Dashboard(
        users=users,
        sessions=Sessions(
            load_secret(settings.data_dir / "dashboard" / "session.key"),
            settings.dashboard_session_ttl_s,
        ),
        state=state,
        sector_map=draw(load_sectors(settings.sectors_file)),
        audit=auditor,
        ready=lambda: feed.ready,
        secure_cookies=settings.environment is Environment.PRODUCTION,
    )
    runner = web.AppRunner(build_app(dashboard), access_log=None, shutdown_timeout=5.0)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    feed.start()
    try:
        site = web.TCPSite(runner, settings.dashboard_bind, settings.dashboard_port)
        await site.start()
        announce(
            f"dashboard: {address(settings)} ({len(users)} users in {settings.users_file}; "
            f"broker {settings.broker})"
        )
        await stop.wait()
    finally:
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.remove_signal_handler(sig)
        await runner.cleanup()
        await feed.stop()
        await auditor.stop()
    announce("dashboard: stopped")


def run(settings: Settings) -> int:
    logging.basicConfig(
        level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s"
    )
    for noisy in ("aiokafka", "kafka"):
        logging.getLogger(noisy).setLevel(logging.WARNING)
    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve(settings, lambda line: print(line, flush=True)))
    return 0
