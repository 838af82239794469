"""``make demo``: the Paris story on a real broker, live, from police events to court cases.

A fresh broker and worker of its own (data in ``<data dir>/demo``, wiped each time), the
simulated story shifted to end now, the case events and alerts shown as they arrive, then a
summary with a checklist of the story's outcomes. Without ``--quick`` the section dashboards
run too (``fieldcourt dashboard``, with a demo user per section and one for the COJC, their
passwords made up and printed once), and stay up after the summary until Ctrl-C. Everything
started here is stopped at the end, on Ctrl-C and on SIGTERM; nothing is left running.

The broker and the worker run in sessions of their own, so a Ctrl-C at the terminal reaches
this process only: SIGINT and SIGTERM become ``Interrupted`` in the main thread, the clean-up
in ``_running`` stops both children, and further signals are ignored until it is done.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import secrets
import shutil
import signal
import socket
import time
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import FrameType

from rich.console import Console
from rich.table import Table

from fieldcourt.acl import prepare_broker
from fieldcourt.groups import consumed_topics, group_lag
from fieldcourt.kafka_auth import ADMIN, DLQ_ADMIN, SIMULATOR, WORKER, client_options
from fieldcourt.kafka_local import LocalBroker, free_port
from fieldcourt.replay import Record, publish_records, records_from_events
from fieldcourt.settings import Settings
from fieldcourt.simulate import Simulation, SimulationConfig, shift_to_end_at
from fieldcourt.supervise import DashboardProcess, WorkerProcess, worker_env
from fieldcourt.topics import DEADLETTER_TOPIC
from fieldcourt.watch import WatchReport, watch_async

console = Console(highlight=False)

#: A record a police integrator got wrong: shown landing in the dead-letter topic.
BROKEN = b'{"event_id": "broken-1", "occurred_at": "yesterday"'


@dataclass(frozen=True)
class DemoOptions:
    rate: float = 10.0  # background events a day besides the story (0 in --quick)
    #: Event time plays this many times faster than real time: the 25-day story in ~70 s.
    #: Published all at once, records of three topics and many partitions would reach the
    #: correlation stages out of order by more than the 7-day lateness bound, and count late.
    speed: float = 30_000.0
    timeout_s: float = 150.0
    #: Run the dashboards beside the story and keep them up after it until Ctrl-C.
    dashboard: bool = True


class Interrupted(KeyboardInterrupt):
    """SIGINT or SIGTERM. A KeyboardInterrupt, so that asyncio lets it out of its tasks."""

    def __init__(self, signum: int) -> None:
        self.signal = signal.Signals(signum)
        super().__init__(self.signal.name)


@dataclass
class _Signals:
    """The SIGINT and SIGTERM handler: raises ``Interrupted`` once, then only records."""

    received: signal.Signals | None = None
    shielded: bool = False  # set by the first signal and by the clean-up

    def __call__(self, signum: int, _frame: FrameType | None) -> None:
        self.received = self.received or signal.Signals(signum)
        if not self.shielded:
            self.shielded = True
            raise Interrupted(signum)


@contextmanager
def _interruptible() -> Iterator[_Signals]:
    handler = _Signals()
    previous = {sig: signal.signal(sig, handler) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield handler
    finally:
        for sig, action in previous.items():
            signal.signal(sig, action)


#: What each demo user sees, by role (section or COJC).
DEMO_ROLES = {
    "p12": "P12 (flagrance): its cases",
    "p20": "P20 (preliminary inquiries): its cases",
    "f3": "F3 (narcotics, organised crime): its cases",
    "p4": "P4 (minors): its cases",
    "cojc": "COJC: alerts by sector on the map, and their timeline",
}


@dataclass(frozen=True)
class DemoUser:
    name: str
    role: str
    password: str


def demo_users(path: Path) -> list[DemoUser]:
    """A user per section and one for the COJC, with made-up passwords, hashed into ``path``;
    the passwords exist nowhere else than in what is returned."""
    from fieldcourt.dashboard.users import add_user

    path.unlink(missing_ok=True)
    users = [DemoUser(f"{role}-demo", role, secrets.token_urlsafe(12)) for role in DEMO_ROLES]
    for user in users:
        add_user(path, user.name, user.role, user.password)
    return users


def _free(bind: str, port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind((bind, port))
        except OSError:
            return False
    return True


def _start_dashboard(settings: Settings) -> DashboardProcess:
    users_file = settings.data_dir / "dashboard" / "users"
    users = demo_users(users_file)
    port = settings.dashboard_port
    if not _free(settings.dashboard_bind, port):
        port = free_port()
        console.print(f"   port {settings.dashboard_port} is taken: the dashboard uses {port}")
    env = worker_env(
        settings,
        FIELDCOURT_DASHBOARD_BIND=settings.dashboard_bind,
        FIELDCOURT_DASHBOARD_PORT=str(port),
        FIELDCOURT_DASHBOARD_USERS_FILE=str(users_file),
    )
    dashboard = DashboardProcess(env, settings.data_dir / "dashboard" / "server").start()
    dashboard.wait_ready()
    console.print(f"   dashboard at [bold]{dashboard.url('/')}[/] (log: {dashboard.logs[-1]})")
    console.print(f"   demo users (passwords shown this once, stored hashed in {users_file}):")
    for user in users:
        console.print(f"     {user.name:10} {user.password:18} {DEMO_ROLES[user.role]}")
    return dashboard


@dataclass
class _Started:
    worker: WorkerProcess | None = None
    dashboard: DashboardProcess | None = None


@contextmanager
def _running(settings: Settings, signals: _Signals, dashboard: bool = False) -> Iterator[_Started]:
    broker = LocalBroker(settings)
    children = _Started()
    try:
        console.print("[bold]1.[/] starting Apache Kafka (KRaft, single node) ...")
        started = time.monotonic()
        status = broker.up()  # stops what it started if interrupted
        console.print(f"   {status.describe()} ({time.monotonic() - started:.1f} s)")
        console.print("[bold]2.[/] applying the topic catalogue and its ACLs")
        topics, acls = asyncio.run(prepare_broker(settings))
        console.print(
            f"   {sum(c.action == 'created' for c in topics)} topics and "
            f"{sum(c.action == 'created' for c in acls)} ACLs created ({settings.kafka_security})"
        )
        console.print(
            "[bold]3.[/] starting a fieldcourt worker (principal fieldcourt)"
            + (" and the dashboard" if dashboard else "")
        )
        env = worker_env(settings)
        children.worker = WorkerProcess(env, settings.data_dir / "worker").start()
        children.worker.wait_ready()
        console.print(f"   worker ready (log: {children.worker.logs[-1]})")
        if dashboard:
            children.dashboard = _start_dashboard(settings)
        yield children
    finally:
        signals.shielded = True  # a second Ctrl-C must not cut the clean-up short
        if children.dashboard is not None:
            children.dashboard.stop()
            console.print("   dashboard stopped")
        if children.worker is not None:
            children.worker.stop()
            console.print("   worker stopped")
        if broker.down():
            console.print("   kafka stopped")


def story(run: str, rate: float) -> list[Record]:
    """The compressed Les Halles → Rosa Parks story, ending now, plus one broken record."""
    config = SimulationConfig(compress=True, rate=rate, prefix=run)
    end = dt.datetime.now(dt.UTC) - dt.timedelta(minutes=10)
    events = shift_to_end_at(Simulation(config).records(), end, whole_days=True)
    broken = Record("field.arrests.v1", b"broken-1", BROKEN, None)
    return [*records_from_events(events), broken]


async def _play(settings: Settings, records: list[Record], options: DemoOptions) -> WatchReport:
    ready, done = asyncio.Event(), asyncio.Event()
    # the operator's view of every section and the alerts: the administrator's principal
    watcher = asyncio.create_task(
        watch_async(
            client_options(settings, ADMIN),
            console=console,
            ready=ready,
            until=done,
            timeout_s=options.timeout_s,
        )
    )
    await ready.wait()
    span = f"{options.speed:,.0f}x real time"
    console.print(f"[bold]4.[/] playing {len(records)} field events of the story at {span} ...")
    police = client_options(settings, SIMULATOR)
    await publish_records(records, police, speed=options.speed, progress=False)
    deadline = time.monotonic() + options.timeout_s
    drained = 0
    while time.monotonic() < deadline and drained < 3 and not watcher.done():
        await asyncio.sleep(1.0)
        lag = await group_lag(
            client_options(settings, WORKER), settings.app_id, consumed_topics(settings)
        )
        drained = drained + 1 if lag == 0 else 0
    done.set()
    return await watcher


async def _deadlettered(settings: Settings) -> int:
    from aiokafka import AIOKafkaConsumer

    consumer = AIOKafkaConsumer(
        DEADLETTER_TOPIC,
        **client_options(settings, DLQ_ADMIN),
        group_id=None,
        auto_offset_reset="earliest",
    )
    await consumer.start()
    try:
        batches = await consumer.getmany(timeout_ms=2000)
        return sum(len(part) for part in batches.values())
    finally:
        await consumer.stop()


@dataclass(frozen=True)
class Outcome:
    """A beat of the story the demo must show, seen in the watch report (and the count of
    dead-lettered records)."""

    label: str
    seen: Callable[[WatchReport, int], bool]


#: In story order; the README's tour explains each.
OUTCOMES: tuple[Outcome, ...] = (
    Outcome(
        "a dealer's subject case escalated P12 -> P20",
        lambda r, _d: r.escalations[("subject", "P12", "P20")] > 0,
    ),
    Outcome(
        "a P20 address case holding its occupant as facilitator",
        lambda r, _d: r.roles[("P20", "address", "facilitator")] > 0,
    ),
    Outcome(
        "a P4 case (the minor lookout)",
        lambda r, _d: any(n > 0 for (section, _k), n in r.anchors.items() if section == "P4"),
    ),
    Outcome("an F3 network case", lambda r, _d: r.anchors[("F3", "network")] > 0),
    Outcome(
        "displacement alerts to rosa-parks",
        lambda r, _d: r.alerts[("displacement", "rosa-parks")] > 0,
    ),
    Outcome(
        "a trade_migration alert to rosa-parks",
        lambda r, _d: r.alerts[("trade_migration", "rosa-parks")] > 0,
    ),
    Outcome("a surge alert in rosa-parks", lambda r, _d: r.alerts[("surge", "rosa-parks")] > 0),
    Outcome("exactly 1 record dead-lettered (the broken one)", lambda _r, dead: dead == 1),
)


def missing(report: WatchReport, dead: int) -> list[str]:
    """Labels of the story's outcomes not seen; empty when the demo succeeded."""
    return [outcome.label for outcome in OUTCOMES if not outcome.seen(report, dead)]


def summarise(events_in: int, dead: int, report: WatchReport, elapsed_s: float) -> bool:
    """Print the counts, the checklist of the story's outcomes and the wall time; True when
    every outcome was seen."""
    sections = Counter(
        {section: n for (section, kind), n in report.cases.items() if kind == "case_opened"}
    )
    escalations = sum(n for (_s, kind), n in report.cases.items() if kind == "case_escalated")
    alerts = Counter({kind: n for (kind, _sector), n in report.alerts.items()})
    table = Table(title="fieldcourt demo: summary")
    table.add_column("")
    table.add_column("count", justify="right")
    table.add_row("field events in", str(events_in))
    table.add_row("dead-lettered", str(dead))
    for section in ("P12", "P20", "F3", "P4"):
        table.add_row(f"cases opened in {section}", str(sections[section]))
    table.add_row("escalations", str(escalations))
    for kind in ("displacement", "trade_migration", "surge"):
        table.add_row(f"alerts: {kind}", str(alerts[kind]))
    console.print(table)
    absent = missing(report, dead)
    yes, no = ("✓", "✗") if "utf" in console.encoding.lower() else ("yes", "no")
    console.print("[bold]the story's outcomes[/]")
    for outcome in OUTCOMES:
        mark = f"[red]{no}[/]" if outcome.label in absent else f"[green]{yes}[/]"
        console.print(f"  {mark} {outcome.label}")
    took = f"demo finished in {elapsed_s:.0f} s"
    if absent:
        console.print(
            f"[red]{took}: {len(absent)} of the story's {len(OUTCOMES)} outcomes "
            f"missing ({no} above)[/]"
        )
    else:
        console.print(f"[green]{took}: all {len(OUTCOMES)} outcomes of the story are there[/]")
    return not absent


def run_demo(settings: Settings, options: DemoOptions | None = None) -> int:
    """0 when the story's outcomes are all there, 1 when one is missing, 128 + the signal
    number on Ctrl-C (130) or SIGTERM (143), after stopping everything it started."""
    options = options or DemoOptions()
    started = time.monotonic()
    run = f"demo-{secrets.token_hex(3)}"
    demo_dir = settings.data_dir / "demo"
    settings = settings.model_copy(
        update={
            "broker": f"127.0.0.1:{settings.kafka_port}",
            "data_dir": demo_dir,
            "app_id": f"fieldcourt-{run}",
            # the demo's own broker: its credentials and CA in its data folder
            "kafka_user": None,
            "kafka_password_file": None,
            "kafka_ca_file": None,
        }
    )
    with _interruptible() as signals:
        try:
            LocalBroker(settings).down()  # left by a demo killed outright (SIGKILL)
            shutil.rmtree(demo_dir, ignore_errors=True)  # a fresh story every time
            records = story(run, options.rate)
            with _running(settings, signals, options.dashboard) as running:
                report = asyncio.run(_play(settings, records, options))
                dead = asyncio.run(_deadlettered(settings))
                if running.dashboard is not None:
                    ok = summarise(len(records), dead, report, time.monotonic() - started)
                    _stay_up(running.dashboard, signals)
        except Interrupted:
            pass  # reported below, whichever signal came first
        if signals.received is not None:
            console.print(
                f"[yellow]demo interrupted ({signals.received.name}): everything it started "
                "is stopped[/]"
            )
            return 128 + signals.received.value
    if not options.dashboard:
        ok = summarise(len(records), dead, report, time.monotonic() - started)
    return 0 if ok else 1


def _stay_up(dashboard: DashboardProcess, signals: _Signals) -> None:
    """Once the story is told, the dashboard stays up until Ctrl-C (or SIGTERM): the expected
    end here, not an interruption."""
    console.print(
        f"[bold]5.[/] the dashboard stays up at [bold]{dashboard.url('/')}[/] (demo users "
        "above); Ctrl-C stops it, the worker and the broker"
    )
    try:
        while dashboard.proc is not None and dashboard.proc.poll() is None:
            time.sleep(0.5)
        console.print(f"[red]the dashboard stopped by itself; see {dashboard.logs[-1]}[/]")
    except Interrupted:
        signals.received = None
