"""The ``fieldcourt`` command: broker, topics, schemas, worker and demo."""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
from collections.abc import Callable, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import TYPE_CHECKING

from fieldcourt.argtypes import positive, purpose
from fieldcourt.collector import defer_full_passes
from fieldcourt.dashboard.command import add_parser as add_dashboard_parser
from fieldcourt.lookup_cli import add_parser as add_subject_parser
from fieldcourt.lookup_cli import subject_command
from fieldcourt.settings import Settings, SettingsError, TableStore, load_settings
from fieldcourt.simulation.command import add_parser as add_simulate_parser
from fieldcourt.simulation.command import simulate_command
from streams.errors import ConfigurationError, FieldcourtError

if TYPE_CHECKING:
    from fieldcourt.watch import WatchReport


def _kafka(args: argparse.Namespace, settings: Settings) -> int:
    from fieldcourt.kafka_local import LocalBroker

    broker = LocalBroker(settings)
    if args.action == "up":
        print(broker.up().describe())
        if broker.added:
            print(f"kafka: SCRAM credentials created for {', '.join(broker.added)}")
        if broker.secure:
            print(
                f"kafka: SASL/SCRAM over TLS; credentials in {broker.credentials}, development "
                f"CA in {broker.tls.ca}; next: fieldcourt topics apply && fieldcourt acl apply"
            )
    elif args.action == "down":
        print("kafka: stopped" if broker.down() else "kafka: was not running")
    elif args.action == "fetch":
        broker.fetch()
    elif args.action == "rotate":
        rotated = broker.rotate()
        print(f"kafka: new passwords for {', '.join(rotated)} in {broker.credentials}")
        print("kafka: restart their clients (a worker reads its password at start)")
    elif args.action == "secrets":
        from fieldcourt.compose_secrets import write_secrets

        for path in write_secrets(settings):
            print(path)
    else:
        status = broker.status()
        print(status.describe())
        return 0 if status.running else 3
    return 0


def _topics(args: argparse.Namespace, settings: Settings) -> int:
    from fieldcourt.topics import apply_topics, catalogue

    specs = catalogue(settings)
    if args.action == "list":
        for spec in specs:
            print(f"{spec.name:32} {spec.description}")
            print(f"{'':32} writers: {', '.join(spec.writers)}; readers: {', '.join(spec.readers)}")
        return 0
    for change in asyncio.run(apply_topics(settings, specs)):
        print(f"{change.action:10} {change.topic} {change.detail}".rstrip())
    return 0


def _acl(args: argparse.Namespace, settings: Settings) -> int:
    from fieldcourt.acl import apply_acls, derive_acls

    acls = derive_acls(settings)
    if args.action == "list":
        for acl in acls:
            print(acl.describe())
        return 0
    for change in asyncio.run(apply_acls(settings, acls)):
        print(f"{change.action:10} {change.acl.describe()}")
    return 0


def _schemas(args: argparse.Namespace, settings: Settings) -> int:
    from schemas.export import export_schemas

    if args.schemas_action == "asyncapi":
        from fieldcourt.asyncapi import write_document

        print(write_document(Path(args.file), settings))
        return 0
    for path in export_schemas(Path(args.directory)):
        print(path)
    return 0


class ConfigError(ConfigurationError):
    """A configuration file is invalid; the message names the file and the bad entry."""


def _check_config_files(settings: Settings) -> None:
    """Load the rules and sectors files: a bad one stops the command before any broker call."""
    from streams.geofence import load_sectors
    from streams.rules import RulesConfigError, load_rules

    try:
        load_rules(settings.rules_file)
    except RulesConfigError as exc:
        raise ConfigError(f"rules: {exc}") from None
    try:
        load_sectors(settings.sectors_file)
    except ValueError as exc:
        raise ConfigError(f"sectors: {exc}") from None


def _progress(line: str) -> None:
    print(f"fieldcourt worker: {line}", file=sys.stderr, flush=True)


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from fieldcourt.kafka_auth import WORKER, refusals_explained
    from fieldcourt.topics import prepare_worker_topics

    _check_config_files(settings)
    with refusals_explained():
        asyncio.run(prepare_worker_topics(settings, WORKER))
    import faust

    from agents.app import SWITCH_INTERVAL_S, create_app

    sys.setswitchinterval(SWITCH_INTERVAL_S)
    app = create_app(settings)
    if settings.restore_on_start and settings.store is TableStore.ROCKSDB:
        from agents.restore import restore_tables

        # on the loop the worker then runs on: the tables' stores and topics bind to it
        loop = asyncio.new_event_loop()
        asyncio.set_event_loop(loop)
        with refusals_explained():
            loop.run_until_complete(restore_tables(app.tables.values(), settings, say=_progress))
    worker = faust.Worker(app, loglevel=args.loglevel, quiet=True)
    # What imports and setup built (~100k objects: models, schemas, Faust) lives as long as the
    # worker: kept out of the collector's full passes, which otherwise walk it each time.
    gc.collect()
    gc.freeze()
    defer_full_passes()  # a timer runs them (agents.app)
    worker.execute_from_commandline()
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from fieldcourt.demo import DemoOptions, run_demo

    return run_demo(
        settings, DemoOptions(rate=0.0 if args.quick else 10.0, dashboard=not args.quick)
    )


def _kafka_failure(command: str, exc: Exception) -> int:
    print(f"fieldcourt {command}: Kafka: {exc}", file=sys.stderr)
    return 1


def _replay(args: argparse.Namespace, settings: Settings) -> int:
    from fieldcourt.kafka_auth import REPLAY, client_options
    from fieldcourt.replay import replay

    try:
        report = replay(
            args.file,
            client_options(settings, REPLAY),
            speed=args.speed,
            as_fast_as_possible=args.as_fast_as_possible,
            progress=not args.no_progress,
        )
    except OSError as exc:
        print(f"fieldcourt replay: {exc}", file=sys.stderr)
        return 2
    topics = ", ".join(f"{topic}: {n}" for topic, n in sorted(report.per_topic.items()))
    print(
        f"replay: {report.published} records published ({topics or 'none'}) "
        f"in {report.elapsed_s:.1f} s"
    )
    if report.bad_lines:
        lines = ", ".join(str(bad.line) for bad in report.bad_lines[:20])
        more = "..." if len(report.bad_lines) > 20 else ""
        print(f"replay: {len(report.bad_lines)} bad lines skipped (lines {lines}{more})")
    if report.unordered:
        print(
            f"replay: {len(report.unordered)} records without a readable occurred_at "
            "published in file order (ingest will judge them)"
        )
    return 0


def _watch(args: argparse.Namespace, settings: Settings) -> int:
    from fieldcourt.consult import record_consultation
    from fieldcourt.kafka_auth import client_options
    from fieldcourt.watch import watch_async, watch_principal, watch_topics

    topics = ", ".join(watch_topics(args.section, args.alerts))
    kafka = client_options(settings, watch_principal(args.section, args.alerts))

    async def consult_then_watch() -> WatchReport:
        await record_consultation(kafka, args.purpose, f"watch {topics}")
        return await watch_async(
            kafka,
            section=args.section,
            alerts=args.alerts,
            from_beginning=args.from_beginning,
            max_events=args.max_events,
            timeout_s=args.timeout,
        )

    report = asyncio.run(consult_then_watch())
    print(
        f"watch: {report.shown} shown ({sum(report.cases.values())} case events, "
        f"{sum(report.alerts.values())} alerts)"
    )
    return 3 if args.max_events is not None and not report.reached_max else 0


def _dashboard(args: argparse.Namespace, settings: Settings) -> int:
    if args.dashboard_action == "add-user":
        from fieldcourt.dashboard.command import add_user_command

        return add_user_command(args, settings)
    from fieldcourt.dashboard.server import run
    from fieldcourt.dashboard.users import UserStore

    _check_config_files(settings)
    UserStore(settings.users_file)  # a missing or broken users file stops it before it starts
    overrides = {
        k: v for k, v in (("dashboard_bind", args.bind), ("dashboard_port", args.port)) if v
    }
    return run(settings.model_copy(update=overrides))


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "kafka": _kafka,
    "topics": _topics,
    "acl": _acl,
    "schemas": _schemas,
    "worker": _worker,
    "demo": _demo,
    "simulate": simulate_command,
    "replay": _replay,
    "watch": _watch,
    "dashboard": _dashboard,
    "subject": subject_command,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fieldcourt",
        description="Police field intelligence to the judicial sections, on Kafka. "
        "Configuration comes from FIELDCOURT_* environment variables.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    kafka = sub.add_parser("kafka", help="the local Apache Kafka broker (development, tests)")
    kafka.add_argument(
        "action",
        choices=["up", "status", "down", "fetch", "rotate", "secrets"],
        help="rotate: new passwords for the principals of the running broker; secrets: the "
        "development secrets of docker-compose.yml's broker, in the data folder",
    )
    topics = sub.add_parser("topics", help="the topic catalogue")
    topics.add_argument("action", choices=["apply", "list"])
    acl = sub.add_parser(
        "acl",
        help="the principals' rights (SPEC 8), derived from the topic catalogue",
        description="apply: create the ACLs the broker lacks, as the admin principal "
        "(idempotent); list: print them.",
    )
    acl.add_argument("action", choices=["apply", "list"])
    schemas = sub.add_parser("schemas", help="JSON Schemas of the events")
    schemas_sub = schemas.add_subparsers(dest="schemas_action", required=True)
    export = schemas_sub.add_parser("export", help="write one JSON Schema per event type")
    export.add_argument("directory")
    asyncapi = schemas_sub.add_parser(
        "asyncapi", help="write the AsyncAPI 3 document of the topics"
    )
    asyncapi.add_argument("file")
    worker = sub.add_parser("worker", help="run a fieldcourt worker (joins the consumer group)")
    worker.add_argument(
        "--loglevel", default="info", choices=["crit", "error", "warn", "info", "debug"]
    )
    demo = sub.add_parser(
        "demo",
        help="the Paris story, live, on a broker of its own, with the dashboards (until Ctrl-C)",
    )
    demo.add_argument(
        "--quick",
        action="store_true",
        help="the story alone, no background activity and no dashboard; ends by itself (CI)",
    )
    add_simulate_parser(sub)
    replay = sub.add_parser(
        "replay",
        help="publish a JSONL file of field events in event-time order",
        description="Publish a replay file (docs/replay-format.md) in event-time order. Bad "
        "lines are reported on stderr with their number and skipped. Default speed: real "
        "time, no gap longer than 2 s.",
    )
    replay.add_argument("file", type=Path)
    pace = replay.add_mutually_exclusive_group()
    pace.add_argument(
        "--speed",
        type=positive(float),
        metavar="N",
        help="N times faster than event time (default 1)",
    )
    pace.add_argument("--as-fast-as-possible", action="store_true", help="no waiting")
    replay.add_argument("--no-progress", action="store_true", help="no progress display")
    watch = sub.add_parser(
        "watch",
        help="case events and alerts as they arrive (rich terminal view)",
        description="Without --section or --alerts: every section and the alerts. Exit status "
        "3 when --max-events were not all shown before --timeout.",
    )
    watch.add_argument(
        "--section", type=str.upper, choices=["P12", "P20", "F3", "P4"], help="one section's cases"
    )
    watch.add_argument("--alerts", action="store_true", help="COJC alerts")
    watch.add_argument(
        "--purpose",
        required=True,
        type=purpose,
        help="why you consult: a procedure number or a short reason (recorded in audit.v1)",
    )
    watch.add_argument(
        "--from-beginning",
        action="store_true",
        help="everything on the topics, not only what arrives from now",
    )
    watch.add_argument("--max-events", type=positive(int), metavar="N", help="stop after N events")
    watch.add_argument("--timeout", type=positive(float), metavar="S", help="stop after S seconds")
    add_dashboard_parser(sub)
    add_subject_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"fieldcourt: {exc}", file=sys.stderr)
        return exc.exit_status
    from fieldcourt.kafka_auth import refusals_explained

    # the worker's and the demo's logs are their own
    own_logs = args.command in ("worker", "demo")
    try:
        with nullcontext() if own_logs else refusals_explained():
            return COMMANDS[args.command](args, settings)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        status = _failure(args.command, settings, exc)
        if status is None:
            raise
        return status


def _failure(command: str, settings: Settings, exc: Exception) -> int | None:
    """The exit status of a bad configuration (2) or an unreachable or refusing broker (1),
    reported on stderr without a traceback; None for anything else, a bug, which keeps its
    traceback."""
    from aiokafka.errors import KafkaConnectionError, KafkaError

    from fieldcourt.topics import TopicError

    if isinstance(exc, ConfigurationError):
        print(f"fieldcourt {command}: {exc}", file=sys.stderr)
        return exc.exit_status
    if isinstance(exc, KafkaConnectionError):
        print(
            f"fieldcourt {command}: Kafka: cannot reach the broker at {settings.broker} "
            "(FIELDCOURT_BROKER)",
            file=sys.stderr,
        )
        return 1
    if isinstance(exc, KafkaError | TopicError):
        return _kafka_failure(command, exc)
    if isinstance(exc, FieldcourtError):
        print(f"fieldcourt: {exc}", file=sys.stderr)
        return exc.exit_status
    return None


if __name__ == "__main__":
    sys.exit(main())
