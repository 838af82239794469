"""``fieldcourt simulate``'s command line: its parser and what it runs."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path
from typing import Any

from fieldcourt.argtypes import instant, positive
from fieldcourt.settings import Settings


def simulate_command(args: argparse.Namespace, settings: Settings) -> int:
    from fieldcourt.kafka_auth import SIMULATOR, client_options
    from fieldcourt.replay import publish_records, records_from_events
    from fieldcourt.simulate import Simulation, SimulationConfig, shift_to_end_at, write_jsonl

    try:
        config = SimulationConfig(
            seed=args.seed,
            start=args.start,
            days=args.days,
            rate=args.rate,
            story=not args.no_story,
            compress=args.compress,
            prefix=args.prefix,
            events=args.events,
        )
    except ValueError as exc:
        print(f"fieldcourt simulate: {exc}", file=sys.stderr)
        return 2
    if args.speed is not None and not args.publish:
        print("fieldcourt simulate: --speed goes with --publish", file=sys.stderr)
        return 2
    simulation = Simulation(config)
    events = list(simulation.records())
    if args.end_at is not None:
        events = shift_to_end_at(events, args.end_at, whole_days=args.keep_time_of_day)
    if args.out is not None:
        count = write_jsonl(args.out, events)
        print(f"simulate: {count} events written to {args.out}")
    else:
        report = asyncio.run(
            publish_records(
                records_from_events(events),
                client_options(settings, SIMULATOR),
                speed=args.speed,
                progress=not args.no_progress,
                label="simulate",
            )
        )
        print(f"simulate: {report.published} events published to {settings.broker}")
    if events:
        first, last = events[0][1]["occurred_at"], events[-1][1]["occurred_at"]
        print(f"  event time {first} to {last}")
    for beat in simulation.beats:
        count = len(beat.event_ids)
        print(f"  day {beat.day:6.2f}  {beat.name:18} {count:3} events  {beat.description}")
    return 0


def add_parser(sub: Any) -> None:
    """The ``simulate`` subcommand."""
    from fieldcourt.simulate import DEFAULT_RATE, DEFAULT_START

    simulate = sub.add_parser(
        "simulate",
        help="synthetic field events: Paris background and the seed's story",
        description="Invented people only. The story: Les Halles from September 2025, the "
        "trade moving to Rosa Parks in spring 2026 (see fieldcourt/simulate.py).",
    )
    target = simulate.add_mutually_exclusive_group(required=True)
    target.add_argument("--out", type=Path, metavar="FILE.jsonl", help="write a replay file")
    target.add_argument("--publish", action="store_true", help="publish to Kafka directly")
    simulate.add_argument("--seed", type=int, default=2025)
    simulate.add_argument(
        "--start",
        type=instant,
        default=DEFAULT_START,
        help="a date (midnight in Paris) or timestamp; default 2025-09-01",
    )
    simulate.add_argument(
        "--days",
        type=positive(float),
        help="duration (default: the story's length, 7 days without it)",
    )
    simulate.add_argument(
        "--rate",
        type=float,
        default=DEFAULT_RATE,
        help=f"background events a day (default {DEFAULT_RATE:g})",
    )
    simulate.add_argument("--no-story", action="store_true", help="background only")
    simulate.add_argument(
        "--compress",
        action="store_true",
        help="the story's beats on about 25 days instead of 7 months",
    )
    simulate.add_argument("--prefix", default="sim", help="event id prefix (default sim)")
    simulate.add_argument(
        "--events",
        type=positive(int),
        metavar="N",
        help="stop after N events (the first N in event time; default: all)",
    )
    simulate.add_argument(
        "--end-at",
        type=instant,
        metavar="WHEN",
        help="shift everything to end at WHEN ('now' or a timestamp)",
    )
    simulate.add_argument(
        "--keep-time-of-day",
        action="store_true",
        help="with --end-at: shift by whole days (ends within 24 h of WHEN)",
    )
    simulate.add_argument(
        "--speed",
        type=positive(float),
        metavar="N",
        help="with --publish: N times event time (default: at once)",
    )
    simulate.add_argument("--no-progress", action="store_true", help="no progress display")
