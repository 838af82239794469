"""What the chain and skeleton peers do per hop (``benchmarks.faust_peer`` on Faust's streams,
``benchmarks.raw_hops`` on a consumer loop of its own over aiokafka): no Faust import here."""

from __future__ import annotations

from dataclasses import dataclass

MIB = 1024 * 1024
#: Records a hop takes at once.
BATCH = 1000


@dataclass(frozen=True)
class Hop:
    """What one hop does per record it reads, on average: table values written (each a
    RocksDB put and a changelog record) and records sent on. Fractions are spread evenly."""

    writes: float = 1.0
    sends: float = 1.0


CHAIN = (Hop(), Hop(), Hop())
#: fieldcourt's worker on the mixed stream, records an event by topic (``make bench --only
#: mixed``, ``records_per_event_by_topic``, on 18580d3), per record each hop reads:
#: - ingest: the dedupe table, 1.03 values; 1.68 records to the stages (by-subject 0.90,
#:   by-address 0.38, links 0.32, by-sector 0.07);
#: - the stages, per record: their tables' 3.18 values an event (subject 1.65, address 0.77,
#:   network 0.72, sector 0.03) and 0.375 matches an event;
#: - the case manager, per match: its table's 0.69 values an event, and 1.16 case events and
#:   audit records an event.
#: 8.11 records an event in all, as fieldcourt's 8.11.
SKELETON = (Hop(1.03, 1.68), Hop(3.18 / 1.68, 0.375 / 1.68), Hop(0.69 / 0.375, 1.16 / 0.375))
#: The peers that take hops, by variant name (``faust_chain``, ``raw_skeleton``, ...).
HOPS = {"chain": CHAIN, "skeleton": SKELETON}


def records_per_event(hops: tuple[Hop, ...]) -> float:
    """Records written per field event through ``hops``: table values and records sent."""
    total, reaching = 0.0, 1.0  # records reaching the hop, per field event
    for hop in hops:
        total += reaching * (hop.writes + hop.sends)
        reaching *= hop.sends
    return total


class Spread:
    """Whole counts whose running total follows ``rate`` per call (0.25: 0, 0, 0, 1, ...)."""

    def __init__(self, rate: float) -> None:
        self.rate = rate
        self.owed = 0.0

    def take(self) -> int:
        self.owed += self.rate
        whole = int(self.owed)
        self.owed -= whole
        return whole


def hop_topics(group: str) -> tuple[str, str]:
    """The chain's two internal topics, named after the peer's group: the keyed one (4
    partitions) and the single-partition one."""
    return f"{group}-keyed", f"{group}-one"


def hop_groups(group: str, hops: int = 3) -> list[str]:
    """The consumer group of each hop of ``benchmarks.raw_hops`` (a Faust peer is one group)."""
    return [group] + [f"{group}-hop{i}" for i in range(1, hops)]


def outputs_for(hops: tuple[Hop, ...], events: int) -> int:
    """Records the last hop sends for ``events`` field events, each hop spreading its sends
    as ``Spread`` does (what a peer that lost nothing writes to its output)."""
    reaching = events
    for hop in hops:
        spread = Spread(hop.sends)
        reaching = sum(spread.take() for _ in range(reaching))
    return reaching
