"""The benchmark's figures: the table, the one-line summary, the plot."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

MIB = 2**20


@dataclass(frozen=True)
class Figure:
    key: str  # in the BENCH line
    label: str
    value: float | None
    unit: str
    note: str = ""

    @property
    def rate(self) -> bool:
        return self.unit == "events/s"


def size_label(n: int) -> str:
    if n % 1_000_000 == 0:
        return f"{n // 1_000_000}m"
    if n % 1000 == 0:
        return f"{n // 1000}k"
    return str(n)


def figures(results: dict[str, Any], sizes: list[int]) -> list[Figure]:
    """Every figure of the run in table order; ``None`` where a stage was skipped or failed."""
    out: list[Figure] = []

    def eps(key: str, name: str, label: str) -> None:
        item = results.get(name) or {}
        events = item.get("events")
        suffix = f" ({events:,} events)" if events else ""
        out.append(Figure(key, label + suffix, item.get("eps"), "events/s"))

    eps("raw_eps", "raw", "raw aiokafka passthrough (orjson, no state)")
    eps("faust_default_eps", "faust_default", "Faust agent forwarding bytes, defaults")
    eps("faust_tuned_eps", "faust_tuned", "Faust agent, 16 MiB fetch + take_events + producer")
    eps("faust_chain_eps", "faust_chain", "  same through 3 hops, a table write each")
    eps("faust_skeleton_eps", "faust_skeleton", "  same hops, fieldcourt's mixed records, no rule")
    eps("raw_chain_eps", "raw_chain", "aiokafka loop of our own, the same 3 hops (RocksDB)")
    eps("raw_skeleton_eps", "raw_skeleton", "  same hops, fieldcourt's mixed records, no rule")
    eps("fieldcourt_arrests_eps", "fieldcourt_arrests", "fieldcourt e2e, arrests only")
    eps("fieldcourt_mixed_eps", "fieldcourt_mixed", "fieldcourt e2e, mixed")
    for name in ("arrests", "mixed"):
        item = results.get(f"fieldcourt_{name}") or {}
        out += [
            Figure(
                f"worker_cpu_ms_per_event_{name}",
                f"  {name}: the worker's CPU per event",
                item.get("worker_cpu_ms_per_event"),
                "ms",
            ),
            Figure(
                f"records_written_per_event_{name}",
                f"  {name}: records written per event (internal, changelogs, outputs)",
                item.get("records_written_per_event"),
                "records",
            ),
        ]
    core = {item["events"]: item for item in (results.get("core") or {}).get("sizes", [])}
    skipped = {item["events"] for item in (results.get("core") or {}).get("skipped", [])}
    for size in sizes:
        item = core.get(size) or {}
        note = "skipped" if size in skipped else ""
        out.append(
            Figure(
                f"core_{size_label(size)}_eps",
                f"in-memory core, {size:,} events",
                item.get("eps"),
                "events/s",
                note,
            )
        )
    chunks = (results.get("core") or {}).get("chunks") or []
    for which, chunk in (("first", chunks[:1]), ("last", chunks[-1:])):
        carried = chunk[0].get("carried_per_event") if chunk else None
        at = f" (events {chunk[0]['events']:,})" if chunk else ""
        out.append(
            Figure(
                f"core_carried_{which}_chunk",
                f"  subjects, addresses, evidence ids in case events, per event: {which} chunk{at}",
                carried,
                "ids/event",
            )
        )
    latency = results.get("latency") or {}
    rate = latency.get("rate")
    at = f" at {rate:g} events/s" if rate else ""
    hist = latency.get("histogram") or {}
    warm_up = latency.get("warm_up_s", 5)
    labels = {  # key prefix -> label, by percentile
        "": "append -> case event p{q}" + at,
        "steady_": "  same, p{q} after the first " + f"{warm_up:g} s of input",
    }
    for prefix, label in labels.items():
        out += [
            Figure(
                f"latency_{prefix}p{q}_ms",
                label.format(q=q),
                latency.get(f"{prefix}p{q}_ms"),
                "ms",
            )
            for q in (50, 99)
        ]
    for q in (50, 99):
        value = hist.get(f"p{q}_s")
        out.append(
            Figure(
                f"latency_hist_p{q}_ms",
                f"  same, worker's histogram p{q}",
                None if value is None else value * 1000,
                "ms",
            )
        )
    for name in ("arrests", "mixed"):
        rss = (results.get(f"fieldcourt_{name}") or {}).get("worker_rss_bytes")
        out.append(
            Figure(
                f"worker_rss_mib_{name}",
                f"worker RSS after the {name} run",
                None if rss is None else rss / MIB,
                "MiB",
            )
        )
    restart = results.get("restart") or {}
    records = restart.get("changelog_records")
    on = f" ({records:,} records)" if records is not None else ""
    out += _restarts(restart, on, "")
    state = results.get("state") or {}
    memory = state.get("memory") or {}
    subjects = state.get("subjects")
    held = f"{subjects:,} subjects" if subjects else "state stage"
    worker = state.get("restart") or {}
    on = f" ({state.get('changelog_records', 0):,} records)" if state else ""
    out += _restarts(worker, on, f"{held}: ", key="state_")
    rss = worker.get("empty_store_rss_bytes")
    out.append(
        Figure(
            "state_worker_rss_mib",
            f"{held}: worker RSS once ready",
            None if rss is None else rss / MIB,
            "MiB",
        )
    )
    grown = memory.get("stores_rss_bytes")
    out.append(
        Figure(
            "core_state_rss_mib",
            f"{held}: the in-memory core's dicts",
            None if grown is None else grown / MIB,
            "MiB",
        )
    )
    return out


def _restarts(restart: dict[str, Any], on: str, prefix: str, key: str = "") -> list[Figure]:
    """Restart-to-ready rows of ``end_to_end.restarts``' result."""
    rows = [
        ("empty_store", f"restart to ready, empty store, bulk restore{on}"),
        ("faust_recovery", "  same, Faust's own recovery"),
        ("same_store", "restart to ready, same local store"),
    ]
    return [
        Figure(f"{key}restart_{name}_s", prefix + label, restart.get(f"{name}_s"), "s")
        for name, label in rows
        if key == "" or name != "faust_recovery"
    ]


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    if unit == "s":
        return f"{value:,.1f}"
    return f"{value:,.0f}" if abs(value) >= 10 else f"{value:,.2f}"


def table(rows: list[Figure]) -> str:
    raw = next((r.value for r in rows if r.key == "raw_eps"), None)
    width = max(len(r.label) for r in rows)
    lines = [f"{'what':<{width}}  {'figure':>12}  {'unit':<9}  {'vs raw':>9}", "-" * (width + 37)]
    for r in rows:
        ratio = "-"
        if r.rate and r.value is not None and raw:
            ratio = f"{r.value / raw:.4f}" if r.value / raw < 0.1 else f"{r.value / raw:.3f}"
        figure = _number(r.value, r.unit) if r.value is not None else (r.note or "-")
        lines.append(f"{r.label:<{width}}  {figure:>12}  {r.unit:<9}  {ratio:>9}")
    return "\n".join(lines)


def summary(rows: list[Figure]) -> dict[str, float | None]:
    return {r.key: None if r.value is None else round(r.value, 3) for r in rows}


def plot(results: dict[str, Any], rows: list[Figure], path: Path) -> str:
    """Write the PNG; the reason when it cannot (matplotlib missing)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return "matplotlib is not installed (make bench installs it)"
    fig, axes = plt.subplots(2, 2, figsize=(13, 9))
    ax = axes[0][0]
    core = results.get("core") or {}
    if core.get("sizes"):
        xs = [item["events"] for item in core["sizes"]]
        ax.plot(xs, [item["eps"] for item in core["sizes"]], "o-", label="stream of N events")
        chunks = core.get("chunks") or []
        ax.plot(
            [c["events"] for c in chunks],
            [c["chunk_eps"] for c in chunks],
            alpha=0.5,
            label=f"pace of each {core.get('chunk', 0):,}-event chunk",
        )
        ax.set_xscale("log")
        ax.legend()
    ax.set_ylim(bottom=0)
    ax.set_title("in-memory core: throughput by stream size (mixed stream)")
    ax.set_xlabel("events")
    ax.set_ylabel("events/s")
    ax.grid(True, alpha=0.3)

    ax = axes[0][1]
    rates = [r for r in rows if r.rate and r.value]
    ax.barh([r.label for r in rates], [r.value or 0 for r in rates], color="tab:blue")
    ax.set_xscale("log")
    ax.invert_yaxis()
    ax.tick_params(axis="y", labelsize=7)
    ax.set_title("throughput, events/s (log scale)")
    ax.grid(True, axis="x", alpha=0.3)

    latency = results.get("latency") or {}
    ax = axes[1][0]
    if latency:
        names = ["p50", "p90", "p99", "max"]
        ax.bar(names, [latency[f"{n}_ms"] for n in names], label="case topics (per event)")
        hist = latency.get("histogram") or {}
        hq = [n for n in ("p50", "p90", "p99") if f"{n}_s" in hist]
        ax.plot(hq, [hist[f"{n}_s"] * 1000 for n in hq], "rs", label="worker histogram")
        ax.legend()
    ax.set_title(f"latency append -> case event at {latency.get('rate', 0):g} events/s")
    ax.set_ylabel("ms")
    ax.grid(True, axis="y", alpha=0.3)

    ax = axes[1][1]
    samples = latency.get("samples") or []
    if samples:
        ax.scatter([s[0] for s in samples], [s[1] for s in samples], s=3, alpha=0.5)
    ax.set_title("latency of each case event over the run")
    ax.set_xlabel("field record appended, s from the first")
    ax.set_ylabel("ms")
    ax.grid(True, alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return ""
