"""The ``fieldcourt`` command: broker, topics, schemas, worker and demo."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from fieldcourt.settings import Settings, SettingsError, load_settings


def _kafka(args: argparse.Namespace, settings: Settings) -> int:
    from fieldcourt.kafka_local import LocalBroker

    broker = LocalBroker(settings)
    if args.action == "up":
        print(broker.up().describe())
    elif args.action == "down":
        print("kafka: stopped" if broker.down() else "kafka: was not running")
    elif args.action == "fetch":
        broker.fetch()
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


def _schemas(args: argparse.Namespace, settings: Settings) -> int:
    from schemas.export import export_schemas

    for path in export_schemas(Path(args.directory)):
        print(path)
    return 0


def _worker(args: argparse.Namespace, settings: Settings) -> int:
    from fieldcourt.topics import apply_topics, catalogue

    asyncio.run(apply_topics(settings, catalogue(settings)))
    import faust

    from agents.app import create_app

    app = create_app(settings)
    worker = faust.Worker(app, loglevel=args.loglevel, quiet=True)
    worker.execute_from_commandline()
    return 0


def _demo(args: argparse.Namespace, settings: Settings) -> int:
    from fieldcourt.demo import run_demo

    return run_demo(settings)


COMMANDS: dict[str, Callable[[argparse.Namespace, Settings], int]] = {
    "kafka": _kafka,
    "topics": _topics,
    "schemas": _schemas,
    "worker": _worker,
    "demo": _demo,
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="fieldcourt",
        description="Police field intelligence to the judicial sections, on Kafka. "
        "Configuration comes from FIELDCOURT_* environment variables.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    kafka = sub.add_parser("kafka", help="the local Apache Kafka broker (development, tests)")
    kafka.add_argument("action", choices=["up", "status", "down", "fetch"])
    topics = sub.add_parser("topics", help="the topic catalogue")
    topics.add_argument("action", choices=["apply", "list"])
    schemas = sub.add_parser("schemas", help="JSON Schemas of the events")
    schemas_sub = schemas.add_subparsers(dest="schemas_action", required=True)
    export = schemas_sub.add_parser("export", help="write one JSON Schema per event type")
    export.add_argument("directory")
    worker = sub.add_parser("worker", help="run a fieldcourt worker (joins the consumer group)")
    worker.add_argument(
        "--loglevel", default="info", choices=["crit", "error", "warn", "info", "debug"]
    )
    sub.add_parser("demo", help="broker, topics, worker and sample events: see it work")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"fieldcourt: {exc}", file=sys.stderr)
        return 2
    try:
        return COMMANDS[args.command](args, settings)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:
        from fieldcourt.kafka_local import BrokerError

        if isinstance(exc, BrokerError):
            print(f"fieldcourt: {exc}", file=sys.stderr)
            return 1
        raise


if __name__ == "__main__":
    sys.exit(main())
