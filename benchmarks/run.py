"""``make bench``: fieldcourt side by side with the ceiling of its stack, in one run.

    .venv/bin/python -m benchmarks.run [--quick] [--only STAGE,...] [sizes...] [--profile]

Starts its own broker (``LocalBroker`` on free ports, data in ``var/bench/broker``, wiped at
start, stopped at the end whatever happens), generates the streams once
(``benchmarks/feeds.py``), then, each stage alone on the machine:

1. ``peers``: on the first ``--peer-events`` of the mixed stream, a raw aiokafka passthrough
   (``benchmarks/raw_peer.py``) and a trivial Faust agent forwarding raw bytes, with
   faust-streaming's defaults and tuned, then through three hops with a table each, plain and
   with fieldcourt's records (``benchmarks/faust_peer.py``), then those hops on a consumer
   loop of their own over aiokafka (``benchmarks/raw_hops.py``), each as a process;
2. ``arrests`` and ``mixed``: ``fieldcourt worker`` end to end (``--store``, RocksDB by
   default) on the arrests-only stream and on the mixed stream; after ``mixed``, the worker's
   RSS and its restart-to-ready time on that state (empty local store: tables restored from
   the changelogs in bulk, then by Faust's own recovery; then the same store);
3. ``latency``: a fresh worker fed the mixed stream at a steady ``--latency-rate`` for
   ``--latency-seconds``; from each field record's append (its LogAppendTime) to the case
   event it caused;
4. ``state``: the state of ``--state-subjects`` distinct subjects, built by the in-memory
   core (its stores' RSS measured) and written to a worker's changelogs
   (``benchmarks/worker_state.py``); a worker's restart-to-ready and RSS with it, on an
   empty local store, then on the store that restart filled;
5. ``core``: the in-memory pipeline (``benchmarks/core.py``) at 10k, 100k and 1M events of the
   mixed stream, a size being skipped when its estimate exceeds ``--core-budget``.

Prints a table (each figure, its unit, its ratio to the raw passthrough), writes
``var/bench/results.json`` and ``var/bench/bench.png`` (each run keeps a copy in
``var/bench/runs/<UTC time>[-quick][-stages]/``), and ends with one line
``BENCH {json}``. Exit 0 when it ran (timings are reported, never judged), 1 when a stage
failed (the others still run and are reported), 2 on bad arguments, 130/143 on Ctrl-C/SIGTERM.
"""

from __future__ import annotations

import shutil
import signal
import sys
import traceback
from collections.abc import Callable
from dataclasses import dataclass

import orjson

from benchmarks import end_to_end, in_memory, latency, peers
from benchmarks.harness import DEFINITION, OUT, Bench, Interrupted
from benchmarks.latency import LATENCY_DEFINITION
from benchmarks.options import Options, parse
from benchmarks.results import machine, write_report
from fieldcourt.kafka_local import BrokerError

# The modules behind this one: options.py (the command line), harness.py (the Bench every
# stage shares: broker, streams, log, the drain measurement), processes.py (peers, workers,
# RSS), one module per kind of stage (peers.py, end_to_end.py with profiling.py, latency.py,
# in_memory.py) and results.py (machine, table, results.json, plot; figures in report.py).


@dataclass(frozen=True)
class Stage:
    """A stage of the run. ``run`` logs and contains itself with ``bench.stage(...)`` (a
    failure is recorded and the run goes on) and puts its figures in ``bench.results``;
    ``broker`` stages run first, on the run's broker, which then stops; ``mixed`` and
    ``arrests`` say how many events of each generated stream it reads."""

    name: str
    run: Callable[[Bench], None]
    broker: bool = False
    mixed: Callable[[Options], int] | None = None
    arrests: Callable[[Options], int] | None = None


STAGES = (
    Stage("peers", peers.peers, broker=True, mixed=lambda o: o.peer_events),
    Stage("arrests", end_to_end.arrests, broker=True, arrests=lambda o: o.arrests_events),
    Stage("mixed", end_to_end.mixed, broker=True, mixed=lambda o: o.mixed_events),
    Stage(
        "latency",
        latency.latency,
        broker=True,
        mixed=lambda o: int(o.latency_rate * o.latency_seconds),
    ),
    Stage("state", end_to_end.state, broker=True),
    Stage("core", in_memory.core),
)
NAMES = tuple(s.name for s in STAGES)


def run(bench: Bench) -> None:
    o = bench.opts
    OUT.mkdir(parents=True, exist_ok=True)
    shutil.rmtree(OUT / "run", ignore_errors=True)
    (OUT / "run").mkdir(parents=True)
    for old in OUT.glob("failure-*.txt"):
        old.unlink()
    bench.results["machine_before"] = before = machine()
    dirty = [line[3:] for line in before["git_uncommitted"]]
    bench.say(
        f"{before['cores']} cores, load {before['load_average'][0]:.2f}; code under test: "
        f"{before['git_commit'][:10]}" + (f" + uncommitted {', '.join(dirty)}" if dirty else "")
    )
    if o.worker_env:
        bench.results["worker_env"] = o.worker_env
        bench.say(f"every worker started with {o.worker_env}")
    print(f"definition: {DEFINITION}")
    print(f"latency: {LATENCY_DEFINITION}")
    chosen = [s for s in STAGES if s.name in o.only]
    if any(s.broker for s in chosen):
        with bench.stage("setup", "broker and streams"):
            bench.start_broker()
            bench.generate(
                mixed=max((s.mixed(o) for s in chosen if s.mixed), default=0),
                arrests=max((s.arrests(o) for s in chosen if s.arrests), default=0),
            )
        if bench.failures:
            raise SystemExit(f"cannot go on: {bench.failures[-1]['error']}")
    for stage in chosen:
        if stage.broker:
            stage.run(bench)
    bench.stop_broker()
    for stage in chosen:
        if not stage.broker:
            stage.run(bench)
    bench.results["machine_after"] = machine()


def main(argv: list[str] | None = None) -> int:
    opts = parse(sys.argv[1:] if argv is None else argv, NAMES, __doc__)
    bench = Bench(opts)

    def terminate(signum: int, frame: object) -> None:
        raise Interrupted(143)

    signal.signal(signal.SIGTERM, terminate)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with it ignored
    code = 0
    try:
        run(bench)
    except KeyboardInterrupt:
        code = 130
    except Interrupted as exc:
        code = exc.code
    except (BrokerError, SystemExit) as exc:
        print(f"bench: {exc}", file=sys.stderr, flush=True)
        code = 1
    except Exception:
        traceback.print_exc()
        bench.say("bench: failed (traceback above)")
        code = 1
    finally:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # a second Ctrl-C must not cut clean-up
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if code in (130, 143):
            bench.say("interrupted: stopping what the benchmark started")
        bench.cleanup()
    if code:
        return code
    line = write_report(bench, NAMES)
    if bench.failures:
        stages = ", ".join(f["stage"] for f in bench.failures)
        print(
            f"bench: {len(bench.failures)} stage(s) failed ({stages}); see above", file=sys.stderr
        )
        code = 1
    print("BENCH " + orjson.dumps(line).decode(), flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())
