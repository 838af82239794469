"""Every family of store keys, declared once: its prefix, how a key is built and parsed back,
and which record key it is routed by (``streams.partitioning``). Nothing else spells a key.

Two shapes:

- ``Scoped`` (stores keyed like their topic's records, several partitions): ``{scope}`` or
  ``{scope}|{tag}|{part}|...``; the scope (subject, address key, sector) is the record key the
  stage was processing when it wrote the key, so it decides the key's partition;
- ``Prefixed`` (single-partition stores: the link graph, the case manager): ``{prefix}{name}``.

Keys starting with ``RESERVED`` hold metadata (feed progress); sweeps and partition views skip
them, and an event id that could take their place is escaped (``ENTRY``).
"""

from __future__ import annotations

from dataclasses import dataclass

#: Keys starting with this belong to metadata (feed progress); sweeps leave them alone.
RESERVED = "__"
SEP = "|"


def is_reserved(key: str) -> bool:
    return key.startswith(RESERVED)


@dataclass(frozen=True, slots=True)
class Scoped:
    """``{scope}`` followed by ``tag`` (if any) and ``parts`` (``arity`` of them, any if
    ``None``), joined by ``|``. Scopes never hold ``|``."""

    tag: str | None = None
    arity: int | None = None

    def key(self, scope: str, *parts: object) -> str:
        if self.tag is None:  # the event logs' and counts' keys, built on every read
            if not parts:
                return scope
            if len(parts) == 1:
                return f"{scope}{SEP}{parts[0]}"
            return SEP.join((scope, *map(str, parts)))
        return SEP.join((scope, self.tag, *map(str, parts)))

    def parse(self, key: str) -> tuple[str, list[str]]:
        """The scope and the parts of a key of this family."""
        scope, *rest = key.split(SEP)
        return scope, rest if self.tag is None else rest[1:]

    def owns(self, key: str) -> bool:
        if is_reserved(key):
            return False
        fields = key.split(SEP)
        if self.tag is not None and (len(fields) < 2 or fields[1] != self.tag):
            return False
        if self.arity is None:
            return True
        return len(fields) == 1 + (self.tag is not None) + self.arity


@dataclass(frozen=True, slots=True)
class Prefixed:
    """``{prefix}{name}``: a key of a single-partition store."""

    prefix: str

    def key(self, name: str) -> str:
        return self.prefix + name

    def parse(self, key: str) -> str:
        return key[len(self.prefix) :]

    def owns(self, key: str) -> bool:
        return key.startswith(self.prefix)


def is_slot(key: str) -> bool:
    return any(family.owns(key) for family in ALERT_SLOTS.values())


def scope_of(key: str) -> str:
    """The record key a scoped store key was written under: the part before the first ``|``."""
    return key.split(SEP, 1)[0]


# Event logs (``streams.state._events``): a head per key, a bucket per week of its events.
EVENT_HEAD = Scoped(arity=0)
EVENT_WEEK = Scoped(arity=1)
# Sector counts (``streams.state._sector``): ``{sector}|{hour start, epoch seconds}``.
SECTOR_HOUR = Scoped(arity=1)
# Alert slots (``streams.rules.limiter``): ``{scope}|{alert type}|{part}...|{period start}``,
# one family per alert type.
ALERT_SLOTS = {tag: Scoped(tag) for tag in ("surge", "displacement", "trade_migration")}
# Arrivals from one origin (``streams.rules.sector.MigrationLedger``): ``{to}|displaced|{from}``.
ARRIVALS = Scoped("displaced", arity=1)

# The link graph (``streams.network``), one partition.
OPERATION = Prefixed("op|")
ADDRESS = Prefixed("addr|")
ADJACENCY = Prefixed("adj|")
LINKING_EVENT = Prefixed("ev|")
NETWORK = Prefixed("net|")
ALIAS = Prefixed("alias|")
#: How many erasures the graph has had (``erased|count``): folds of evidence made before one
#: are not reused (``streams.network_evidence``).
GRAPH_ERASURES = Prefixed("erased|")

# The case manager (``streams.cases.manager``), one partition.
CASE = Prefixed("case|")
FORWARD = Prefixed("fwd|")
#: Outbox records: of matches (``out|M-...``) and of court outcomes (``out|outcome|...``).
OUTBOX = Prefixed("out|")
OUTCOME_OUTBOX = Prefixed(OUTBOX.prefix + "outcome|")

# Feed progress (``streams.eventtime``): ``__feed__:{feed}`` at ingest, and
# ``__feed__:{partition}:{feed}`` in a stage's store.
FEED = Prefixed(RESERVED + "feed__:")


@dataclass(frozen=True, slots=True)
class Entries:
    """Deduplication entries (``streams.dedupe``): keyed by event id, which is the sender's
    text; one starting with ``_`` is stored behind ``escape``, so none takes a reserved key."""

    escape: str = "_~"

    def key(self, event_id: str) -> str:
        return self.escape + event_id if event_id.startswith("_") else event_id

    def parse(self, key: str) -> str:
        """The event id an entry key stands for (what its record was keyed and partitioned by)."""
        return key.removeprefix(self.escape)


ENTRY = Entries()
